package io.oauth2relay.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.oauth2relay.server.Relay;
import io.oauth2relay.server.config.ConfigLoader;
import io.oauth2relay.server.testing.HandClock;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The admin port: {@code /healthz}, {@code /readyz} and {@code /metrics} of an in-process relay against
 * {@link SeedDialectThirdParty} (the seed's token dialect, which no public server speaks). The relay's clock
 * is moved by hand, so expiry is simulated rather than slept.
 */
class AdminEndpointsIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String CANARY = "CANARY" + UUID.randomUUID().toString().replace("-", "");
  private static final String PASSWORD = "pw-" + CANARY;
  private static final String AUTHSTRING =
      Base64.getEncoder().encodeToString(("client_123:" + PASSWORD).getBytes(StandardCharsets.UTF_8));

  private final AtomicLong now = new AtomicLong(System.currentTimeMillis());
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private SeedDialectThirdParty third;
  private Relay relay;
  private String relayUrl;
  private String adminUrl;

  @BeforeEach
  void startThirdParty() throws Exception {
    third = new SeedDialectThirdParty(AUTHSTRING);
    third.tokenPrefix = CANARY;
  }

  @AfterEach
  void stop() {
    if (relay != null) {
      relay.close();
    }
    third.close();
  }

  private void startRelay() throws Exception {
    String config =
        """
        { "port": 0, "admin": { "port": 0 },
          "token": { "refreshAhead": false, "retryMin": 60, "retryMax": 60 },
          "login": { "user": "client_123", "password": "${PW}", "url": "%1$s/login",
                     "headers": { "Authorization": "Basic ${AUTHSTRING}" } },
          "refresh": { "method": "POST", "url": "%1$s/refresh", "data": "{\\"token\\": \\"${REFRESHTOKEN}\\"}",
                       "headers": { "Authorization": "${REFRESHTOKEN}" } },
          "relay": { "url": "%1$s/api/", "headers": { "Authorization": "Bearer ${ACCESSTOKEN}" } } }
        """
            .formatted(third.url());
    relay = new Relay(new ConfigLoader(Map.of("PW", PASSWORD)::get).parse(JSON.readTree(config), "admin.json"), new HandClock(now));
    relayUrl = "http://127.0.0.1:" + relay.start().getPort();
    adminUrl = "http://127.0.0.1:" + relay.adminAddress().getPort();
  }

  private HttpResponse<String> get(String url) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> awaitReady() throws Exception {
    HttpResponse<String> r = get(adminUrl + "/readyz");
    for (int i = 0; i < 200 && r.statusCode() != 200; i++) {
      Thread.sleep(25); // the first login runs in the background
      r = get(adminUrl + "/readyz");
    }
    return r;
  }

  @Test
  void healthzAnswersWhileTheIdentityProviderIsDown() throws Exception {
    third.loginStatus = 503;
    startRelay();

    HttpResponse<String> r = get(adminUrl + "/healthz");

    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).contains("\"ok\"");
  }

  @Test
  void readyzTurns503WithTheRouteNameWhenTheProviderIsDownAndTheTokenHasExpired() throws Exception {
    startRelay();
    assertThat(awaitReady().statusCode()).isEqualTo(200);
    assertThat(get(relayUrl + "/a").statusCode()).isEqualTo(200);

    third.loginStatus = 503;
    third.refreshStatus = 503;
    now.addAndGet(Duration.ofSeconds(third.lifetimeSeconds + 1).toMillis()); // the token has expired
    assertThat(get(relayUrl + "/b").statusCode()).isEqualTo(503); // the renewal fails

    HttpResponse<String> r = get(adminUrl + "/readyz");
    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(JSON.readTree(r.body()).get("routes").get(0).get("route").asText()).isEqualTo("relay");
    assertThat(r.body()).doesNotContain(CANARY);
  }

  @Test
  void readyzIs503BeforeTheFirstTokenAndSaysWhyWhenCredentialsAreRejected() throws Exception {
    third.loginStatus = 401;
    startRelay();
    get(relayUrl + "/a"); // waits for the first login's outcome

    HttpResponse<String> r = get(adminUrl + "/readyz");

    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(r.body()).contains("\"relay\"").contains("rejected").doesNotContain(CANARY).doesNotContain(AUTHSTRING);
  }

  @Test
  void metricsCountRequestsByStatusTokenCallsExpiryAndConnectionsAndNeverShowAToken() throws Exception {
    startRelay();
    awaitReady();
    assertThat(get(relayUrl + "/ok?token=" + CANARY).statusCode()).isEqualTo(200);
    assertThat(get(relayUrl + "/a/../b").statusCode()).isEqualTo(400);
    third.refreshStatus = 400;
    now.addAndGet(Duration.ofSeconds(third.lifetimeSeconds + 1).toMillis());
    assertThat(get(relayUrl + "/after-renewal").statusCode()).isEqualTo(200); // refresh rejected, login again

    HttpResponse<String> r = get(adminUrl + "/metrics");

    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type")).get().asString().startsWith("text/plain");
    assertThat(r.body())
        .containsPattern("relay_requests_seconds_count\\{route=\"relay\",status=\"200\"} 2")
        .containsPattern("relay_requests_seconds_count\\{route=\"relay\",status=\"400\"} 1")
        .containsPattern("relay_requests_seconds_bucket\\{route=\"relay\",status=\"200\",le=\"0\\.005\"}")
        .containsPattern("relay_token_fetches_total\\{call=\"login\",route=\"relay\"} 2")
        .containsPattern("relay_token_failures_total\\{call=\"refresh\",class=\"rejected\",route=\"relay\"} 1")
        .containsPattern("relay_token_expiry_seconds\\{route=\"relay\"} (59|60)")
        .containsPattern("relay_connections_open(\\{[^}]*})? 1")
        .doesNotContain(CANARY)
        .doesNotContain(PASSWORD)
        .doesNotContain(AUTHSTRING);
  }

}
