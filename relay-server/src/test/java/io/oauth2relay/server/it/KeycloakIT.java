package io.oauth2relay.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.oauth2relay.server.testing.JwtVerifyingUpstream;
import io.oauth2relay.server.testing.KeycloakServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The relay against a real identity provider: Keycloak's password grant as the seed's {@code login}, its
 * refresh_token grant as the seed's {@code refresh}, client id, client secret, user and password from
 * environment variables. The upstream verifies every injected token against Keycloak's JWKS. The relay runs
 * as a child process through {@code ./oauth2relay}, at debug level, so its whole output can be searched
 * for the canary secrets Keycloak was set up with.
 */
class KeycloakIT {
  @RegisterExtension static final KeycloakServer KEYCLOAK = KeycloakServer.shared();

  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  private final HttpClient http = HttpClient.newHttpClient();
  private JwtVerifyingUpstream upstream;

  @BeforeEach
  void startUpstream() throws Exception {
    upstream = JwtVerifyingUpstream.forKeycloak(KEYCLOAK);
  }

  @AfterEach
  void stopUpstream() {
    upstream.close();
  }

  private Path config() throws Exception {
    String mapping =
        """
        { "AccessToken": "access_token", "ExpiresIn": "expires_in", "TokenType": "token_type",
          "RefreshToken": "refresh_token" }""";
    String json =
        """
        {
          "port": 0, "host": "127.0.0.1", "debug": true, "logfile": "%1$s",
          "login": {
            "user": "${KC_CLIENT_ID}", "password": "${KC_CLIENT_SECRET}",
            "method": "POST", "url": "%2$s",
            "headers": { "Authorization": "Basic ${AUTHSTRING}" },
            "data": { "grant_type": "password", "username": "${KC_USER}", "password": "${KC_PASSWORD}" },
            "parameters": %3$s
          },
          "refresh": {
            "method": "POST", "url": "%2$s",
            "headers": { "Authorization": "Basic ${AUTHSTRING}" },
            "data": { "grant_type": "refresh_token", "refresh_token": "${REFRESHTOKEN}" },
            "parameters": %3$s
          },
          "relay": {
            "url": "%4$s/v1/",
            "headers": { "Authorization": "Bearer ${ACCESSTOKEN}" }
          }
        }
        """
            .formatted(dir.resolve("relay.log"), KEYCLOAK.tokenUrl(), mapping, upstream.baseUrl());
    Path file = dir.resolve("keycloak.json");
    Files.writeString(file, json);
    return file;
  }

  private Map<String, String> env(String clientSecret) {
    return Map.of(
        "KC_CLIENT_ID", KEYCLOAK.clientId(),
        "KC_CLIENT_SECRET", clientSecret,
        "KC_USER", KEYCLOAK.username(),
        "KC_PASSWORD", KEYCLOAK.password());
  }

  private HttpResponse<String> get(String url) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode claims(String authorization) throws Exception {
    String jwt = authorization.substring("Bearer ".length());
    return JSON.readTree(Base64.getUrlDecoder().decode(jwt.split("\\.")[1]));
  }

  @Test
  void theUpstreamAcceptsTheKeycloakTokenTheRelayInjects() throws Exception {
    try (RelayProcess relay = RelayProcess.start(dir, env(KEYCLOAK.clientSecret()), "start", "--config", config().toString())) {
      String base = "http://127.0.0.1:" + relay.awaitPort(Duration.ofSeconds(120));

      HttpResponse<String> r = get(base + "/items?limit=2");

      assertThat(r.statusCode()).isEqualTo(200);
      JsonNode echo = JSON.readTree(r.body());
      assertThat(echo.get("path").asText()).isEqualTo("/v1/items");
      assertThat(echo.get("preferred_username").asText()).isEqualTo(KEYCLOAK.username());
      assertThat(upstream.acceptedRequests()).isEqualTo(1);
      assertThat(relay.stop()).isZero();
    }
  }

  @Test
  void afterExpiryTheRelayRefreshesAndRequestsKeepSucceeding() throws Exception {
    try (RelayProcess relay = RelayProcess.start(dir, env(KEYCLOAK.clientSecret()), "start", "--config", config().toString())) {
      String base = "http://127.0.0.1:" + relay.awaitPort(Duration.ofSeconds(120));
      assertThat(get(base + "/first").statusCode()).isEqualTo(200);
      JsonNode first = claims(upstream.lastRequestHeader("Authorization"));

      Thread.sleep(KEYCLOAK.accessTokenLifespanSeconds() * 1000L + 500); // a real token's real lifetime

      assertThat(get(base + "/second").statusCode()).isEqualTo(200);
      JsonNode second = claims(upstream.lastRequestHeader("Authorization"));
      assertThat(second.get("jti").asText()).isNotEqualTo(first.get("jti").asText());
      // A refreshed token belongs to the same Keycloak session; a fresh login would open a new one.
      assertThat(second.get("sid").asText()).isEqualTo(first.get("sid").asText());
      assertThat(upstream.rejectedRequests()).isZero();
      assertThat(relay.stop()).isZero();
      assertThat(Files.readString(dir.resolve("relay.log"))).contains("refresh succeeded");
    }
  }

  @Test
  void noCanarySecretOrIssuedTokenEverReachesStdoutStderrOrTheLogFile() throws Exception {
    String authorization;
    RelayProcess relay = RelayProcess.start(dir, env(KEYCLOAK.clientSecret()), "start", "--config", config().toString());
    try (relay) {
      String base = "http://127.0.0.1:" + relay.awaitPort(Duration.ofSeconds(120));
      assertThat(get(base + "/a?x=1").statusCode()).isEqualTo(200);
      authorization = upstream.lastRequestHeader("Authorization");
      Thread.sleep(KEYCLOAK.accessTokenLifespanSeconds() * 1000L + 500);
      assertThat(get(base + "/b").statusCode()).isEqualTo(200); // refreshed
      assertThat(relay.stop()).isZero(); // shutdown wipes
    }
    String accessToken = authorization.substring("Bearer ".length());
    String basic =
        Base64.getEncoder()
            .encodeToString((KEYCLOAK.clientId() + ":" + KEYCLOAK.clientSecret()).getBytes(StandardCharsets.UTF_8));
    String log = Files.readString(dir.resolve("relay.log"));
    assertThat(log).contains("DEBUG").contains("login succeeded").contains("refresh succeeded");
    for (String output : new String[] {relay.stdout(), relay.stderr(), log}) {
      assertThat(output)
          .doesNotContain(KEYCLOAK.clientSecret())
          .doesNotContain(KEYCLOAK.password())
          .doesNotContain(basic)
          .doesNotContain(accessToken)
          .doesNotContain(upstream.lastRequestHeader("Authorization").substring("Bearer ".length()));
    }
  }

  @Test
  void aWrongClientSecretGives503WithRetryAfterAndALogLineWithoutTheSecret() throws Exception {
    String wrong = "CANARY-wrong-secret-" + System.nanoTime();
    RelayProcess relay = RelayProcess.start(dir, env(wrong), "start", "--config", config().toString());
    try (relay) {
      String base = "http://127.0.0.1:" + relay.awaitPort(Duration.ofSeconds(120));

      HttpResponse<String> r = get(base + "/a");

      assertThat(r.statusCode()).isEqualTo(503);
      assertThat(r.headers().firstValue("Retry-After")).isPresent();
      assertThat(r.body()).contains("token_unavailable").doesNotContain(wrong);
      assertThat(upstream.acceptedRequests() + upstream.rejectedRequests()).isZero();
      assertThat(relay.stop()).isZero();
    }
    String log = Files.readString(dir.resolve("relay.log"));
    assertThat(log).contains("login: token endpoint answered 401");
    assertThat(relay.stdout() + relay.stderr() + log).doesNotContain(wrong).doesNotContain(KEYCLOAK.password());
  }
}
