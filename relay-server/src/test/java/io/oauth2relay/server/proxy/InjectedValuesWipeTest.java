package io.oauth2relay.server.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.json.JsonMapper;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import io.oauth2relay.server.config.ConfigLoader;
import io.oauth2relay.server.config.RelayConfig;
import io.oauth2relay.server.token.FixedTokenSource;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The header values the route renders from a token (the bytes written to the upstream) are zeroed with
 * the token when its source closes: the rendered copy is registered with the token state, not left to GC.
 */
class InjectedValuesWipeTest {
  @Test
  void theInjectedHeaderBytesAreZeroedWhenTheTokenSourceCloses() throws Exception {
    RelayConfig config =
        new ConfigLoader(name -> null)
            .parse(
                JsonMapper.builder().build().readTree(
                    "{\"relay\": {\"url\": \"http://127.0.0.1:9/\", \"fixedtoken\": \"canary-fixed\","
                        + " \"headers\": {\"X-Api-Token\": \"t=${ACCESSTOKEN}\"}}}"),
                "wipe.json");
    FixedTokenSource tokens = new FixedTokenSource("canary-fixed".getBytes(StandardCharsets.US_ASCII));
    RelayRoute route = new RelayRoute(config.relay(), tokens, null, 0);

    RelayRoute.Outbound out =
        route.outbound(new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/x"), tokens.current());
    CharSequence injected = valueAsWritten(out, "X-Api-Token");
    assertThat(injected).hasToString("t=canary-fixed");
    byte[] bytes = ((AsciiString) injected).array();

    tokens.close();

    assertThat(bytes).containsOnly(0);
  }

  /** The header value object itself (not a String copy), as the encoder will write it. */
  private static CharSequence valueAsWritten(RelayRoute.Outbound out, String name) {
    var it = out.head().headers().iteratorCharSequence();
    while (it.hasNext()) {
      Map.Entry<CharSequence, CharSequence> e = it.next();
      if (AsciiString.contentEqualsIgnoreCase(e.getKey(), name)) {
        return e.getValue();
      }
    }
    return null;
  }
}
