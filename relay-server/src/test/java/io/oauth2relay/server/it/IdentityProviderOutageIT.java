package io.oauth2relay.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.oauth2relay.server.Relay;
import io.oauth2relay.server.config.ConfigLoader;
import io.oauth2relay.server.config.RelayConfig;
import io.oauth2relay.server.testing.FaultProxy;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The identity provider goes down while the relay runs: a {@link FaultProxy} between the relay and the
 * token endpoint refuses, drops and delays connections, and the endpoint itself answers 503. Tokens live
 * 3 s so the test sees them expire; renewals start at 0.2 s back-off.
 */
class IdentityProviderOutageIT {
  private static final String AUTHSTRING =
      Base64.getEncoder().encodeToString("client_123:s3cr3t!".getBytes(StandardCharsets.UTF_8));

  private final HttpClient http = HttpClient.newHttpClient();
  private SeedDialectThirdParty third;
  private FaultProxy proxy;
  private Relay relay;
  private String base;

  @BeforeEach
  void start() throws Exception {
    third = new SeedDialectThirdParty(AUTHSTRING);
    third.lifetimeSeconds = 3;
    proxy = new FaultProxy(URI.create(third.url()).getPort());
    String idp = "http://127.0.0.1:" + proxy.port();
    String json =
        """
        { "port": 0,
          "token": { "retryMin": 0.2, "retryMax": 1 },
          "login": { "authstring": "%1$s", "url": "%2$s/login", "headers": { "Authorization": "Basic ${AUTHSTRING}" } },
          "refresh": { "url": "%2$s/refresh", "data": "{\\"token\\": \\"${REFRESHTOKEN}\\"}",
                       "headers": { "Authorization": "${REFRESHTOKEN}" } },
          "relay": { "url": "%3$s/api/" } }
        """
            .formatted(AUTHSTRING, idp, third.url());
    RelayConfig config = new ConfigLoader(Map.<String, String>of()::get).parse(new ObjectMapper().readTree(json), "outage.json");
    relay = new Relay(config, Clock.systemUTC());
    base = "http://127.0.0.1:" + relay.start().getPort();
    assertThat(get().statusCode()).isEqualTo(200);
  }

  @AfterEach
  void stop() {
    relay.close();
    proxy.close();
    third.close();
  }

  private HttpResponse<String> get() throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(base + "/orders")).build(), HttpResponse.BodyHandlers.ofString());
  }

  private void breakEverything() {
    third.loginStatus = 503;
    third.refreshStatus = 503;
    proxy.mode(FaultProxy.Mode.REFUSE);
  }

  @Test
  void whileTheTokenIsValidRequestsSucceedThroughRefusedDroppedDelayedAndFailingTokenCalls() throws Exception {
    proxy.mode(FaultProxy.Mode.REFUSE);
    assertThat(get().statusCode()).isEqualTo(200);
    proxy.mode(FaultProxy.Mode.DROP);
    assertThat(get().statusCode()).isEqualTo(200);
    proxy.mode(FaultProxy.Mode.PASS);
    proxy.delay(300);
    third.loginStatus = 503;
    third.refreshStatus = 503;
    assertThat(get().statusCode()).isEqualTo(200);
    assertThat(third.rejectedApiCalls.get()).isZero();
  }

  @Test
  void onceTheTokenHasReallyExpiredCallersGet503WithRetryAfterAndNothingIsForwarded() throws Exception {
    breakEverything();
    int forwarded = third.apiCalls.get();

    Thread.sleep(3_200); // the token's real lifetime

    HttpResponse<String> r = get();
    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(r.headers().firstValue("Retry-After")).isPresent();
    assertThat(r.body()).contains("token_unavailable");
    assertThat(third.apiCalls.get()).isEqualTo(forwarded);
  }

  @Test
  void whenTheProviderComesBackTheRelayRecoversByItself() throws Exception {
    breakEverything();
    Thread.sleep(3_200);
    assertThat(get().statusCode()).isEqualTo(503);

    third.loginStatus = 200;
    third.refreshStatus = 200;
    proxy.mode(FaultProxy.Mode.PASS);
    int calls = third.logins.get() + third.refreshes.get();
    long deadline = System.currentTimeMillis() + 5_000;
    while (third.logins.get() + third.refreshes.get() == calls && System.currentTimeMillis() < deadline) {
      Thread.sleep(50); // no request meanwhile: the background retry must find the provider by itself
    }

    assertThat(third.logins.get() + third.refreshes.get()).isGreaterThan(calls);
    assertThat(get().statusCode()).isEqualTo(200);
  }

  @Test
  void aBlackHoledTokenEndpointDoesNotHangCallersOnceTheTokenHasExpired() throws Exception {
    third.loginStatus = 503;
    third.refreshStatus = 503;
    Thread.sleep(3_200);
    proxy.mode(FaultProxy.Mode.DROP);

    HttpResponse<String> r = get();

    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(r.headers().firstValue("Retry-After")).isPresent();
  }
}
