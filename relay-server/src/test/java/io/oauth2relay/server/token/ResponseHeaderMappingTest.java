package io.oauth2relay.server.token;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.oauth2relay.server.config.ConfigLoader;
import io.oauth2relay.server.config.Placeholder;
import io.oauth2relay.server.config.RelayConfig;
import io.oauth2relay.server.config.TemplateValues;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code header:Name} in a response mapping reads the token and its lifetime from response headers. */
class ResponseHeaderMappingTest {
  private static final Clock CLOCK = Clock.fixed(Instant.parse("2030-01-01T00:00:00Z"), ZoneOffset.UTC);

  private HttpServer server;

  @BeforeEach
  void start() throws Exception {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext(
        "/login",
        exchange -> {
          try (exchange) {
            exchange.getRequestBody().readAllBytes();
            exchange.getResponseHeaders().set("X-Auth-Token", "token-from-a-header");
            exchange.getResponseHeaders().set("X-Expires-In", "120");
            byte[] body = "{\"session\": {\"refresh\": \"rt-nested\"}}".getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
          }
        });
    server.start();
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  @Test
  void theAccessTokenAndItsLifetimeComeFromHeadersAndTheRefreshTokenFromANestedField() throws Exception {
    RelayConfig config =
        new ConfigLoader(Map.<String, String>of()::get)
            .parse(
                new ObjectMapper()
                    .readTree(
                        """
                        { "login": { "url": "http://127.0.0.1:%d/login",
                                     "parameters": { "AccessToken": "header:X-Auth-Token",
                                                     "ExpiresIn": "header:X-Expires-In",
                                                     "RefreshToken": "session.refresh" } },
                          "relay": { "url": "http://127.0.0.1:9/" } }
                        """
                            .formatted(server.getAddress().getPort())),
                "headers.json");
    TokenFetcher fetcher =
        new TokenFetcher(config.login(), config.refresh(), config.policy(), CLOCK, Duration.ofSeconds(5));

    TokenState state = fetcher.login(null);

    TemplateValues values = state.values(TemplateValues.NONE);
    assertThat(new String(values.value(Placeholder.ACCESSTOKEN), StandardCharsets.UTF_8))
        .isEqualTo("token-from-a-header");
    assertThat(new String(values.value(Placeholder.REFRESHTOKEN), StandardCharsets.UTF_8)).isEqualTo("rt-nested");
    assertThat(state.expiresAtMillis()).isEqualTo(CLOCK.millis() + 120_000);
    fetcher.close();
  }
}
