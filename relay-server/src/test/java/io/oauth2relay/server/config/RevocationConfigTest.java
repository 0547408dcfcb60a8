package io.oauth2relay.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code token.revokeOnShutdown} and {@code login.revocationUrl}: defaults and what is refused. */
class RevocationConfigTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Map<String, String> ENV = Map.of("S", "secret-value");

  private static RelayConfig parse(String json) throws Exception {
    return new ConfigLoader(ENV::get).parse(JSON.readTree(json), "r.json");
  }

  private static String failure(String json) {
    Throwable t = catchThrowable(() -> parse(json));
    assertThat(t).isInstanceOf(ConfigException.class);
    return t.getMessage();
  }

  @Test
  void revocationIsOffByDefault() throws Exception {
    RelayConfig c =
        parse("""
            { "login": { "grant": "client_credentials", "tokenUrl": "http://127.0.0.1:1/t", "clientId": "c", "clientSecret": "${S}" },
              "relay": { "url": "http://127.0.0.1:2/" } }""");

    assertThat(c.policy().revokeOnShutdown()).isFalse();
    assertThat(c.login().revocationUrl()).isNull();
  }

  @Test
  void aConfiguredRevocationUrlIsKept() throws Exception {
    RelayConfig c =
        parse("""
            { "token": { "revokeOnShutdown": true },
              "login": { "grant": "client_credentials", "tokenUrl": "http://127.0.0.1:1/t", "revocationUrl": "http://127.0.0.1:1/revoke",
                         "clientId": "c", "clientSecret": "${S}" },
              "relay": { "url": "http://127.0.0.1:2/" } }""");

    assertThat(c.policy().revokeOnShutdown()).isTrue();
    assertThat(c.login().revocationUrl()).isEqualTo(URI.create("http://127.0.0.1:1/revoke"));
  }

  @Test
  void revokeOnShutdownNeedsARevocationUrlOrAnIssuer() {
    String message =
        failure("""
            { "token": { "revokeOnShutdown": true },
              "login": { "grant": "client_credentials", "tokenUrl": "http://127.0.0.1:1/t", "clientId": "c", "clientSecret": "${S}" },
              "relay": { "url": "http://127.0.0.1:2/" } }""");

    assertThat(message).contains("token.revokeOnShutdown").contains("login.revocationUrl").doesNotContain("secret-value");
  }

  @Test
  void aRevocationUrlIsOnlyForGrantLogins() {
    String message =
        failure("""
            { "login": { "url": "http://127.0.0.1:1/login", "revocationUrl": "http://127.0.0.1:1/revoke" },
              "relay": { "url": "http://127.0.0.1:2/" } }""");

    assertThat(message).contains("login.revocationUrl");
  }
}
