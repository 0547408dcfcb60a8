package io.oauth2relay.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.oauth2relay.server.Relay;
import io.oauth2relay.server.config.ConfigLoader;
import io.oauth2relay.server.config.RelayConfig;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
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
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The relay end to end, in process, with the seed's config format against a third party speaking the
 * seed's token dialect ({@link SeedDialectThirdParty}).
 */
class SeedDialectIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Map<String, String> ENV =
      Map.of("ENV_API_USER", "client_123", "ENV_API_PASSWORD", "s3cr3t!");
  private static final String AUTHSTRING =
      Base64.getEncoder().encodeToString("client_123:s3cr3t!".getBytes(StandardCharsets.UTF_8));

  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private SeedDialectThirdParty third;
  private Relay relay;
  private String relayUrl;

  @BeforeEach
  void startThirdParty() throws Exception {
    third = new SeedDialectThirdParty(AUTHSTRING);
  }

  @AfterEach
  void stop() {
    if (relay != null) {
      relay.close();
    }
    third.close();
  }

  /** Renewals happen only when a request finds the token due, so tests can count them exactly. */
  private void startRelay(String relayMethod) throws Exception {
    startRelay(relayMethod, false);
  }

  private void startRelay(String relayMethod, boolean refreshAhead) throws Exception {
    String config =
        """
        {
          "port": 0, "host": "127.0.0.1", "debug": true,
          "token": { "refreshAhead": %3$b },
          "login": {
            "user": "${ENV_API_USER}", "password": "${ENV_API_PASSWORD}", "authstring": "",
            "refreshtoken": "", "method": "GET", "data": "",
            "url": "%1$s/login",
            "headers": { "Authorization": "Basic ${AUTHSTRING}" },
            "parameters": { "AccessToken": "AccessToken", "ExpiresIn": "ExpiresIn", "ExpiresAt": "ExpiresAt",
                            "TokenType": "TokenType", "RefreshToken": "RefreshToken" }
          },
          "refresh": {
            "token": "", "method": "POST",
            "data": "{\\"token\\": \\"${REFRESHTOKEN}\\"}",
            "url": "%1$s/refresh",
            "headers": { "Authorization": "${REFRESHTOKEN}" }
          },
          "relay": {
            "url": "%1$s/api/", "method": "%2$s", "type": "json", "fixedtoken": "", "data": "",
            "parameters": { "country_code": "US" },
            "headers": { "Authorization": "Bearer ${ACCESSTOKEN}" }
          }
        }
        """
            .formatted(third.url(), relayMethod, refreshAhead);
    RelayConfig c = new ConfigLoader(ENV::get).parse(JSON.readTree(config), "seed.json");
    relay = new Relay(c, Clock.systemUTC());
    relayUrl = "http://127.0.0.1:" + relay.start().getPort();
  }

  private HttpResponse<String> get(String pathAndQuery) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create(relayUrl + pathAndQuery))
            .header("Authorization", "Basic Y2FsbGVyOm93bi1jcmVkZW50aWFscw==")
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode json(HttpResponse<String> r) throws Exception {
    return JSON.readTree(r.body());
  }

  @Test
  void relaysTheCallersPathAndQueryWithTheTokenAndFixedParametersInjected() throws Exception {
    startRelay("GET");

    HttpResponse<String> r = get("/v1/items?q=1&country_code=XX");

    assertThat(r.statusCode()).isEqualTo(200);
    JsonNode seen = json(r);
    assertThat(seen.get("path").asText()).isEqualTo("/api/v1/items");
    assertThat(seen.get("query").asText()).isEqualTo("q=1&country_code=US");
    assertThat(seen.get("host").asText()).isEqualTo(URI.create(third.url()).getAuthority());
    assertThat(third.logins.get()).isEqualTo(1);
  }

  @Test
  void theCallersOwnAuthorizationIsReplacedNeverForwarded() throws Exception {
    startRelay("GET");

    get("/anything");

    assertThat(third.apiAuthorizations).hasSize(1);
    assertThat(third.apiAuthorizations.get(0)).startsWith("Bearer tok-access-").doesNotContain("Y2FsbGVy");
  }

  @Test
  void anExpiredTokenIsRenewedWithTheRefreshCallNotALogin() throws Exception {
    third.lifetimeSeconds = 1;
    startRelay("GET");
    assertThat(get("/a").statusCode()).isEqualTo(200);

    Thread.sleep(1_200); // the token's real lifetime: nothing to inject a clock into across two processes

    assertThat(get("/b").statusCode()).isEqualTo(200);
    assertThat(third.logins.get()).isEqualTo(1);
    assertThat(third.refreshes.get()).isEqualTo(1);
    assertThat(third.rejectedApiCalls.get()).isZero();
  }

  @Test
  void withRefreshAheadTheTokenIsRenewedBeforeItExpiresWithoutARequest() throws Exception {
    third.lifetimeSeconds = 2;
    startRelay("GET", true);
    assertThat(get("/a").statusCode()).isEqualTo(200);

    Thread.sleep(2_200); // past the first token's expiry, with no request in between

    assertThat(third.refreshes.get()).isPositive();
    assertThat(get("/b").statusCode()).isEqualTo(200);
    assertThat(third.logins.get()).isEqualTo(1);
    assertThat(third.rejectedApiCalls.get()).isZero();
  }

  @Test
  void aFailedRefreshFallsBackToAFreshLogin() throws Exception {
    third.lifetimeSeconds = 1;
    startRelay("GET");
    assertThat(get("/a").statusCode()).isEqualTo(200);
    third.refreshStatus = 401;

    Thread.sleep(1_200);

    assertThat(get("/b").statusCode()).isEqualTo(200);
    assertThat(third.refreshes.get()).isEqualTo(1);
    assertThat(third.logins.get()).isEqualTo(2);
  }

  @Test
  void aThousandConcurrentRequestsAtAnExpiredTokenCauseExactlyOneTokenCall() throws Exception {
    third.lifetimeSeconds = 1;
    startRelay("GET");
    assertThat(get("/warm-up").statusCode()).isEqualTo(200);
    Thread.sleep(1_200);
    third.refreshDelayMillis = 1_000; // every request arrives while the one renewal is still running
    third.lifetimeSeconds = 60; // and the renewed token outlives the burst
    int before = third.logins.get() + third.refreshes.get();

    List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
    for (int i = 0; i < 1_000; i++) {
      all.add(
          http.sendAsync(
              HttpRequest.newBuilder(URI.create(relayUrl + "/burst/" + i)).build(),
              HttpResponse.BodyHandlers.ofString()));
    }
    CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).join();

    assertThat(all).allSatisfy(f -> assertThat(f.join().statusCode()).isEqualTo(200));
    assertThat(third.logins.get() + third.refreshes.get() - before).isEqualTo(1);
  }

  @Test
  void whileNoTokenCanBeHadCallersGet503WithRetryAfterAndNothingIsForwarded() throws Exception {
    third.loginStatus = 500;
    startRelay("GET");

    HttpResponse<String> r = get("/a");

    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(r.headers().firstValue("Retry-After")).hasValueSatisfying(v -> assertThat(Long.parseLong(v)).isPositive());
    assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
    assertThat(json(r).get("error").asText()).isEqualTo("token_unavailable");
    assertThat(third.apiCalls.get()).isZero();
  }

  @Test
  void theRelayRecoversByItselfWhenTheIdentityProviderComesBack() throws Exception {
    third.loginStatus = 500;
    startRelay("GET");
    assertThat(get("/a").statusCode()).isEqualTo(503);

    third.loginStatus = 200;
    Thread.sleep(1_100); // the first back-off step

    assertThat(get("/b").statusCode()).isEqualTo(200);
  }

  @Test
  void a401ForARevokedTokenRenewsItAndReplaysTheRequestOnce() throws Exception {
    startRelay("*");
    assertThat(get("/warm-up").statusCode()).isEqualTo(200);
    third.revokeAccessTokens();
    byte[] body = new byte[10_000];
    new Random(7).nextBytes(body);

    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create(relayUrl + "/orders")).POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
            HttpResponse.BodyHandlers.ofString());

    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(json(r).get("bodySha256").asText()).isEqualTo(SeedDialectThirdParty.sha256(body));
    assertThat(third.rejectedApiCalls.get()).isEqualTo(1);
    assertThat(third.refreshes.get()).isEqualTo(1);
  }

  @Test
  void manyRequestsRejectedWithOneStaleTokenRenewItOnceAndAreEachReplayed() throws Exception {
    startRelay("*");
    assertThat(get("/warm-up").statusCode()).isEqualTo(200);
    third.revokeAccessTokens();

    List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      answers.add(
          http.sendAsync(
              HttpRequest.newBuilder(URI.create(relayUrl + "/stale/" + i)).build(), HttpResponse.BodyHandlers.ofString()));
    }

    for (CompletableFuture<HttpResponse<String>> a : answers) {
      assertThat(a.get().statusCode()).isEqualTo(200);
    }
    // One renewal for the one stale token, however many requests the upstream refused with it.
    assertThat(third.refreshes.get() + third.logins.get()).isEqualTo(1 + 1); // the start-up login, then one renewal
    assertThat(third.rejectedApiCalls.get()).isBetween(1, 50);
  }

  @Test
  void aBodyLargerThanTheReplayLimitIsNotReplayedAndThe401GoesBack() throws Exception {
    startRelay("*");
    assertThat(get("/warm-up").statusCode()).isEqualTo(200);
    third.revokeAccessTokens();

    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create(relayUrl + "/upload"))
                .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[64 * 1024 + 1]))
                .build(),
            HttpResponse.BodyHandlers.ofString());

    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(r.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(v -> assertThat(v).contains("invalid_token"));
    assertThat(third.rejectedApiCalls.get()).isEqualTo(1);
  }

  @Test
  void manyRequestsRejectedWithOneStaleTokenCauseOneRenewal() throws Exception {
    startRelay("*");
    assertThat(get("/warm-up").statusCode()).isEqualTo(200);
    third.revokeAccessTokens();

    List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      all.add(http.sendAsync(HttpRequest.newBuilder(URI.create(relayUrl + "/r/" + i)).build(), HttpResponse.BodyHandlers.ofString()));
    }
    CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).join();

    assertThat(all).allSatisfy(f -> assertThat(f.join().statusCode()).isEqualTo(200));
    assertThat(third.refreshes.get() + third.logins.get()).isEqualTo(2); // the first login and one renewal
  }

  @Test
  void aFixedRelayMethodAnswersOtherMethodsWith405AndAllow() throws Exception {
    startRelay("GET");

    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create(relayUrl + "/a")).POST(HttpRequest.BodyPublishers.ofString("x")).build(),
            HttpResponse.BodyHandlers.ofString());

    assertThat(r.statusCode()).isEqualTo(405);
    assertThat(r.headers().firstValue("Allow")).hasValue("GET");
    assertThat(third.apiCalls.get()).isZero();
  }

  @Test
  void aLargeBodyStreamsThroughIntact() throws Exception {
    startRelay("*");
    byte[] body = new byte[8 * 1024 * 1024 + 17];
    new Random(42).nextBytes(body);

    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create(relayUrl + "/upload"))
                .PUT(HttpRequest.BodyPublishers.ofByteArray(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());

    assertThat(r.statusCode()).isEqualTo(200);
    JsonNode seen = json(r);
    assertThat(seen.get("method").asText()).isEqualTo("PUT");
    assertThat(seen.get("bodyLength").asLong()).isEqualTo(body.length);
    assertThat(seen.get("bodySha256").asText()).isEqualTo(SeedDialectThirdParty.sha256(body));
    assertThat(seen.get("contentType").asText()).isEqualTo("application/json"); // relay.type for a body without one
  }

  @Test
  void anAbsoluteFormTargetIsRefusedSoTheRelayIsNoOpenProxy() throws Exception {
    startRelay("*");

    String status = raw("GET http://example.org/ HTTP/1.1\r\nHost: example.org\r\n\r\n");

    assertThat(status).startsWith("HTTP/1.1 400");
    assertThat(third.apiCalls.get()).isZero();
  }

  @Test
  void dotSegmentsCannotClimbAboveTheRelayUrlPath() throws Exception {
    startRelay("*");

    assertThat(raw("GET /../login HTTP/1.1\r\nHost: x\r\n\r\n")).startsWith("HTTP/1.1 400");
    assertThat(raw("GET /%2e%2e/login HTTP/1.1\r\nHost: x\r\n\r\n")).startsWith("HTTP/1.1 400");
    assertThat(third.apiCalls.get()).isZero();
  }

  @Test
  void aMalformedRequestGets400AndTheRelayKeepsServingOthers() throws Exception {
    startRelay("*");

    assertThat(raw("GET /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"))
        .startsWith("HTTP/1.1 400");
    assertThat(raw("\u0001\u0002 nonsense\r\n\r\n")).startsWith("HTTP/1.1 400");
    assertThat(get("/still-serving").statusCode()).isEqualTo(200);
  }

  @Test
  void keepAliveConnectionsCarryManyRequests() throws Exception {
    startRelay("*");
    try (Socket s = new Socket("127.0.0.1", URI.create(relayUrl).getPort())) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
      // Two pipelined requests, then a third after reading: answered in order on one connection.
      out.write("GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      assertThat(readResponseBody(in)).contains("\"path\":\"/api/one\"");
      assertThat(readResponseBody(in)).contains("\"path\":\"/api/two\"");
      out.write("GET /three HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      assertThat(readResponseBody(in)).contains("\"path\":\"/api/three\"");
    }
  }

  private static String readResponseBody(BufferedReader in) throws Exception {
    String status = in.readLine();
    assertThat(status).startsWith("HTTP/1.1 200");
    int length = -1;
    for (String line; !(line = in.readLine()).isEmpty(); ) {
      if (line.toLowerCase().startsWith("content-length:")) {
        length = Integer.parseInt(line.substring(15).trim());
      }
    }
    char[] body = new char[length];
    int read = 0;
    while (read < length) {
      read += in.read(body, read, length - read);
    }
    return new String(body);
  }

  /** Sends raw bytes on a fresh connection and returns the status line. */
  private String raw(String request) throws Exception {
    try (Socket s = new Socket("127.0.0.1", URI.create(relayUrl).getPort())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
      s.getOutputStream().flush();
      return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1)).readLine();
    }
  }

  static Duration seconds(long s) {
    return Duration.ofSeconds(s);
  }
}
