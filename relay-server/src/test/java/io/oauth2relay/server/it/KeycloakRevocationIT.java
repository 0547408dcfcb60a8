package io.oauth2relay.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.oauth2relay.server.Relay;
import io.oauth2relay.server.config.ConfigLoader;
import io.oauth2relay.server.config.RelayConfig;
import io.oauth2relay.server.testing.JwtVerifyingUpstream;
import io.oauth2relay.server.testing.KeycloakServer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

/**
 * {@code token.revokeOnShutdown} (RFC 7009) against a real Keycloak: after the relay stops, the refresh
 * token it held is no longer active (Keycloak's introspection says so), at an endpoint configured or
 * discovered from the issuer; without the option it stays active; an endpoint that does not answer does
 * not hold shutdown up. The test learns the refresh token the way any template can: a relay header
 * {@code X-Test-Refresh: ${REFRESHTOKEN}} sent to the test's upstream.
 */
class KeycloakRevocationIT {
  @RegisterExtension static final KeycloakServer KEYCLOAK = KeycloakServer.shared();

  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpClient http = HttpClient.newHttpClient();
  private JwtVerifyingUpstream upstream;
  private Relay relay;

  @BeforeEach
  void startUpstream() throws Exception {
    upstream = JwtVerifyingUpstream.forKeycloak(KEYCLOAK);
  }

  @AfterEach
  void stop() {
    if (relay != null) {
      relay.close();
    }
    upstream.close();
  }

  /** Starts a relay with the password grant (so it holds a refresh token) and {@code extra} login fields. */
  private String start(String endpointFields, boolean revoke) throws Exception {
    String json =
        """
        { "port": 0, "token": { "refreshAhead": false, "revokeOnShutdown": %s },
          "login": { "grant": "password", %s, "scope": "openid",
                     "user": "${KC_USER}", "password": "${KC_PASSWORD}",
                     "clientId": "${CLIENT_ID}", "clientSecret": "${CLIENT_SECRET}" },
          "relay": { "url": "%s/", "headers": { "X-Test-Refresh": "${REFRESHTOKEN}" } } }
        """
            .formatted(revoke, endpointFields, upstream.baseUrl());
    Map<String, String> env =
        Map.of(
            "CLIENT_ID", KEYCLOAK.clientId(), "CLIENT_SECRET", KEYCLOAK.clientSecret(),
            "KC_USER", KEYCLOAK.username(), "KC_PASSWORD", KEYCLOAK.password());
    RelayConfig config = new ConfigLoader(env::get).parse(JSON.readTree(json), "revocation.json");
    relay = new Relay(config, Clock.systemUTC());
    return "http://127.0.0.1:" + relay.start().getPort();
  }

  /** The refresh token the relay holds, as its header template rendered it for the upstream. */
  private String heldRefreshToken(String base) throws Exception {
    HttpResponse<String> r =
        http.send(HttpRequest.newBuilder(URI.create(base + "/x")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    String token = upstream.lastRequestHeader("X-Test-Refresh");
    assertThat(token).isNotBlank();
    return token;
  }

  private boolean active(String refreshToken) throws Exception {
    String basic =
        Base64.getEncoder()
            .encodeToString((KEYCLOAK.clientId() + ":" + KEYCLOAK.clientSecret()).getBytes(StandardCharsets.UTF_8));
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(KEYCLOAK.introspectionUrl())
                .header("Authorization", "Basic " + basic)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(
                    "token=" + URLEncoder.encode(refreshToken, StandardCharsets.UTF_8) + "&token_type_hint=refresh_token"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    JsonNode introspection = JSON.readTree(r.body());
    return introspection.path("active").asBoolean(false);
  }

  @Test
  void theRefreshTokenIsRevokedAtShutdownAtTheEndpointTheIssuersMetadataNames() throws Exception {
    String base = start("\"issuer\": \"" + KEYCLOAK.issuer() + "\"", true);
    String refresh = heldRefreshToken(base);
    assertThat(active(refresh)).as("active while the relay runs").isTrue();

    relay.close();

    assertThat(active(refresh)).as("active after the relay stopped").isFalse();
  }

  @Test
  void theRefreshTokenIsRevokedAtAConfiguredRevocationUrl() throws Exception {
    String base =
        start(
            "\"tokenUrl\": \"" + KEYCLOAK.tokenUrl() + "\", \"revocationUrl\": \"" + KEYCLOAK.issuer()
                + "/protocol/openid-connect/revoke\"",
            true);
    String refresh = heldRefreshToken(base);

    relay.close();

    assertThat(active(refresh)).isFalse();
  }

  @Test
  void withoutRevokeOnShutdownTheRefreshTokenOutlivesTheRelay() throws Exception {
    String base = start("\"issuer\": \"" + KEYCLOAK.issuer() + "\"", false);
    String refresh = heldRefreshToken(base);

    relay.close();

    assertThat(active(refresh)).isTrue();
  }

  /** A revocation endpoint that accepts connections and never answers (a socket of the test's own). */
  @Test
  void aSilentRevocationEndpointDoesNotHoldShutdownUpAndIsLoggedWithoutValues() throws Exception {
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.start();
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.addAppender(logs);
    List<Socket> accepted = new ArrayList<>();
    try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Thread acceptor = new Thread(() -> {
        try {
          while (true) {
            accepted.add(silent.accept());
          }
        } catch (Exception e) {
          // closed
        }
      });
      acceptor.setDaemon(true);
      acceptor.start();
      String base =
          start(
              "\"tokenUrl\": \"" + KEYCLOAK.tokenUrl() + "\", \"revocationUrl\": \"http://127.0.0.1:"
                  + silent.getLocalPort() + "/revoke\"",
              true);
      String refresh = heldRefreshToken(base);

      // A liveness bound, not a speed assertion: the revocation is limited to 2 s, shutdown must end.
      assertTimeoutPreemptively(Duration.ofSeconds(20), () -> relay.close());

      assertThat(active(refresh)).as("not revoked: the endpoint never answered").isTrue();
      assertThat(logs.list).extracting(ILoggingEvent::getFormattedMessage)
          .anyMatch(m -> m.contains("revokeOnShutdown") && m.contains("not revoked"))
          .noneMatch(m -> m.contains(refresh) || m.contains(KEYCLOAK.clientSecret()));
    } finally {
      root.detachAppender(logs);
      for (Socket s : accepted) {
        s.close();
      }
    }
  }
}
