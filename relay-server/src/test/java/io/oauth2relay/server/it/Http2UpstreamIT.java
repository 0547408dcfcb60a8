package io.oauth2relay.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.oauth2relay.server.Relay;
import io.oauth2relay.server.config.ConfigLoader;
import io.oauth2relay.server.config.RelayConfig;
import io.oauth2relay.server.testing.Http2Upstream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
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
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The relay's origin side where it meets an HTTP/2 upstream's own rules, and a 401 replay's edge cases:
 * a 401 replayed on a new stream, a graceful GOAWAY, {@code SETTINGS_MAX_CONCURRENT_STREAMS}, a 401 with a
 * malformed body, and a {@code relay.data} body rendered again for the replay.
 *
 * <p>The relay runs in process with the seed's token calls against {@link SeedDialectThirdParty}; the
 * upstream is {@link Http2Upstream} (hand-written: nginx cannot check a token against the ones a test's
 * token endpoint issued, nor send GOAWAY on demand), or, for the malformed body, a raw HTTP/1.1 socket
 * server (no real server sends a malformed body on purpose). Tokens are compared by their position in
 * the token endpoint's issue order, so no assertion message can print one.
 */
class Http2UpstreamIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Map<String, String> ENV = Map.of("ENV_API_USER", "client_123", "ENV_API_PASSWORD", "s3cr3t!");
  private static final String AUTHSTRING =
      Base64.getEncoder().encodeToString("client_123:s3cr3t!".getBytes(StandardCharsets.UTF_8));
  /** Threads for the raw upstream, which blocks. */
  private static final ExecutorService RAW_UPSTREAM =
      Executors.newCachedThreadPool(
          r -> {
            Thread t = new Thread(r, "raw-upstream");
            t.setDaemon(true);
            return t;
          });

  private final HttpClient http =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
  private SeedDialectThirdParty third;
  private Http2Upstream upstream;
  private Relay relay;
  private int relayPort;

  @BeforeEach
  void startTokenEndpoint() throws Exception {
    third = new SeedDialectThirdParty(AUTHSTRING);
  }

  @AfterEach
  void stop() {
    if (relay != null) {
      relay.close();
    }
    if (upstream != null) {
      upstream.close();
    }
    third.close();
  }

  /**
   * Starts the relay with the seed's login and refresh calls and the given {@code relay} section.
   * Renewals happen only when a request needs one (no refresh ahead), so the tests can count them.
   */
  private void startRelay(String relaySection) throws Exception {
    String config =
        """
        {
          "port": 0, "host": "127.0.0.1", "accessLog": false,
          "token": { "refreshAhead": false },
          "login": {
            "user": "${ENV_API_USER}", "password": "${ENV_API_PASSWORD}", "method": "GET",
            "url": "%1$s/login",
            "headers": { "Authorization": "Basic ${AUTHSTRING}" }
          },
          "refresh": {
            "method": "POST", "url": "%1$s/refresh",
            "data": "{\\"token\\": \\"${REFRESHTOKEN}\\"}",
            "headers": { "Authorization": "${REFRESHTOKEN}" }
          },
          "relay": %2$s
        }
        """
            .formatted(third.url(), relaySection);
    RelayConfig c = new ConfigLoader(ENV::get).parse(JSON.readTree(config), "h2-upstream.json");
    relay = new Relay(c, Clock.systemUTC());
    relayPort = relay.start().getPort();
  }

  /** A {@code relay} section toward {@link #upstream} in HTTP/2 (prior knowledge: it is cleartext). */
  private String towardH2Upstream() {
    return """
        { "url": "%s/", "origin": { "protocol": "h2" } }"""
        .formatted(upstream.baseUrl());
  }

  private HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
    // A bounded wait: a relay that leaves a caller unanswered fails the test instead of hanging it.
    return http.send(request.timeout(Duration.ofSeconds(15)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpRequest.Builder to(String path) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + relayPort + path));
  }

  private HttpRequest get(String path) {
    return to(path).GET().timeout(Duration.ofSeconds(15)).build();
  }

  /** Where {@code token} is in the token endpoint's issue order (0 for the first), or -1; prints no token. */
  private int issued(String token) {
    return third.issuedAccessTokens.indexOf(token);
  }

  private int tokenCalls() {
    return third.logins.get() + third.refreshes.get();
  }

  // ---- 1. a 401 replay toward an HTTP/2 upstream ----

  /** The common case: the replay waits for the renewal, by which time the 401's stream has closed. */
  @Test
  void a401FromAnHttp2UpstreamIsReplayedOnANewStreamWithTheRenewedTokenAndTheSameBody() throws Exception {
    upstream = Http2Upstream.start(third::accepts).rejectFirstToken();
    startRelay(towardH2Upstream());
    byte[] body = new byte[3_000];
    new Random(11).nextBytes(body);

    HttpResponse<String> r = send(to("/orders").POST(HttpRequest.BodyPublishers.ofByteArray(body)));

    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    JsonNode echo = JSON.readTree(r.body());
    assertThat(echo.get("path").asText()).isEqualTo("/orders");
    assertThat(tokenCalls()).as("the start-up login, then one renewal after the 401").isEqualTo(2);
    List<Http2Upstream.Request> seen = upstream.requests();
    assertThat(seen).extracting(Http2Upstream.Request::status).containsExactly(401, 200);
    assertThat(issued(seen.get(0).token())).as("the first attempt's token").isEqualTo(0);
    assertThat(issued(seen.get(1).token())).as("the replay's token").isEqualTo(1);
    // The replay is a stream of its own (the 401's stream had ended), on the connection that carried the 401.
    assertThat(upstream.streams()).isEqualTo(2);
    assertThat(upstream.connections()).isEqualTo(1);
    assertThat(seen.get(1).streamId()).isNotEqualTo(seen.get(0).streamId());
    assertThat(echo.get("stream").asInt()).isEqualTo(seen.get(1).streamId());
    assertThat(seen).allSatisfy(
        request -> {
          assertThat(request.method()).isEqualTo("POST");
          assertThat(request.body()).as("the caller's body, as sent").isEqualTo(body);
        });
  }

  /**
   * The path the fix is about: another request's 401 has already renewed the token when this 401 has been
   * read through, so the replay is sent at once, before the codec has closed the stream that carried the
   * 401. It must go on a new stream (on that ended one the caller got 502).
   */
  @Test
  void a401ReadAfterTheTokenWasRenewedIsReplayedAtOnceOnANewStream() throws Exception {
    upstream = Http2Upstream.start(third::accepts).rejectFirstToken();
    CompletableFuture<Void> releaseSlow = new CompletableFuture<>();
    upstream.holdResponsesUntil("/slow", releaseSlow);
    startRelay(towardH2Upstream());
    byte[] body = new byte[2_000];
    new Random(12).nextBytes(body);
    CompletableFuture<HttpResponse<String>> slow =
        http.sendAsync(
            to("/slow").POST(HttpRequest.BodyPublishers.ofByteArray(body)).timeout(Duration.ofSeconds(15)).build(),
            HttpResponse.BodyHandlers.ofString());
    upstream.awaitRequests(1, Duration.ofSeconds(10)); // refused with the first token; the 401 is held
    HttpResponse<String> fast = send(to("/fast").POST(HttpRequest.BodyPublishers.ofByteArray(body)));
    assertThat(fast.statusCode()).as("refused with the same token, renewed and replayed: %s", fast.body()).isEqualTo(200);

    releaseSlow.complete(null);
    HttpResponse<String> r = slow.get(15, TimeUnit.SECONDS);

    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(tokenCalls()).as("the start-up login, then one renewal for the one stale token").isEqualTo(2);
    List<Http2Upstream.Request> seen =
        upstream.requests().stream().filter(request -> request.path().equals("/slow")).toList();
    assertThat(seen).extracting(Http2Upstream.Request::status).containsExactly(401, 200);
    assertThat(issued(seen.get(0).token())).as("the first attempt's token").isEqualTo(0);
    assertThat(issued(seen.get(1).token())).as("the replay's token").isEqualTo(1);
    assertThat(seen.get(1).streamId()).isNotEqualTo(seen.get(0).streamId());
    assertThat(seen).allSatisfy(request -> assertThat(request.body()).as("the caller's body, as sent").isEqualTo(body));
  }

  // ---- 2. GOAWAY ----

  /** Sequential requests: the upstream closes each connection once its GOAWAY stream is answered. */
  @Test
  void afterAGracefulGoAwayTheNextRequestsGoOnANewConnectionAndNoCallerSeesAnError() throws Exception {
    upstream = Http2Upstream.start(third::accepts).goAwayAfter(3);
    startRelay(towardH2Upstream());

    for (int i = 0; i < 7; i++) {
      HttpResponse<String> r = send(to("/after-goaway/" + i).GET());

      assertThat(r.statusCode()).as("request %d: %s", i, r.body()).isEqualTo(200);
    }

    // No connection took more than 3 streams (the third under GOAWAY): the relay moved on each time.
    Map<Integer, Long> streamsPerConnection =
        upstream.requests().stream()
            .collect(Collectors.groupingBy(Http2Upstream.Request::connection, Collectors.counting()));
    assertThat(streamsPerConnection.values()).allSatisfy(n -> assertThat(n).isLessThanOrEqualTo(3L));
    assertThat(upstream.connections()).isGreaterThanOrEqualTo(3);
    assertThat(upstream.requests()).hasSize(7).extracting(Http2Upstream.Request::status).containsOnly(200);
  }

  /**
   * An upstream that sends GOAWAY and leaves the connection open (RFC 9113 §6.8 lets either side close
   * it): the relay closes it once its streams are done, rather than holding it until the idle timeout.
   */
  @Test
  void aConnectionTheUpstreamSentGoAwayOnIsClosedByTheRelayOnceItsStreamsAreDone() throws Exception {
    upstream = Http2Upstream.start(third::accepts).goAwayAfter(2).keepOpenAfterGoAway();
    startRelay(towardH2Upstream());

    for (int i = 0; i < 3; i++) {
      HttpResponse<String> r = send(to("/goaway-open/" + i).GET());
      assertThat(r.statusCode()).as("request %d: %s", i, r.body()).isEqualTo(200);
    }

    assertThat(upstream.connections()).as("the third request went on a new connection").isEqualTo(2);
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (upstream.closedConnections() < 1 && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertThat(upstream.closedConnections()).as("the connection under GOAWAY, closed by the relay").isEqualTo(1);
  }

  /**
   * GOAWAY while another stream is still being answered: the connection stays open for it, so only the
   * GOAWAY itself tells the relay to take new streams elsewhere (on the old connection they would be
   * refused). The streams of one HTTP/2 caller connection share one event loop of the relay, and so
   * one upstream connection.
   */
  @Test
  void aGoAwayWithAStreamInProgressLetsItFinishAndSendsNewStreamsToANewConnection() throws Exception {
    upstream = Http2Upstream.start(third::accepts).goAwayAfter(3);
    CompletableFuture<Void> releaseSlow = new CompletableFuture<>();
    upstream.holdResponsesUntil("/slow", releaseSlow);
    startRelay(towardH2Upstream());
    HttpClient h2 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build(); // h2c by Upgrade
    HttpResponse<String> warmUp = h2.send(get("/warm-up"), HttpResponse.BodyHandlers.ofString());
    assertThat(warmUp.version()).as("the caller speaks HTTP/2 to the relay").isEqualTo(HttpClient.Version.HTTP_2);
    CompletableFuture<HttpResponse<String>> slow = h2.sendAsync(get("/slow"), HttpResponse.BodyHandlers.ofString());
    upstream.awaitRequests(2, Duration.ofSeconds(10)); // the slow one is in progress
    HttpResponse<String> underGoAway = h2.send(get("/third-stream"), HttpResponse.BodyHandlers.ofString());

    HttpResponse<String> next = h2.send(get("/after-goaway"), HttpResponse.BodyHandlers.ofString());
    releaseSlow.complete(null);

    assertThat(underGoAway.statusCode()).as(underGoAway.body()).isEqualTo(200);
    assertThat(next.statusCode()).as(next.body()).isEqualTo(200);
    HttpResponse<String> inProgress = slow.get(15, TimeUnit.SECONDS);
    assertThat(inProgress.statusCode()).as("the stream in progress under GOAWAY: %s", inProgress.body()).isEqualTo(200);
    Map<String, Integer> connectionOf =
        upstream.requests().stream().collect(Collectors.toMap(Http2Upstream.Request::path, Http2Upstream.Request::connection));
    assertThat(connectionOf)
        .containsEntry("/warm-up", 1)
        .containsEntry("/slow", 1)
        .containsEntry("/third-stream", 1)
        .containsEntry("/after-goaway", 2);
  }

  /**
   * A GOAWAY whose last stream id is below a stream the relay already sent: the upstream did not process
   * it (RFC 9113 §6.8), so the relay sends it again, once, on a new connection, body and all, and the
   * caller never sees the refusal.
   */
  @Test
  void aStreamTheUpstreamRefusedUnprocessedWithGoAwayIsSentAgainOnANewConnection() throws Exception {
    upstream = Http2Upstream.start(third::accepts).refuseOnceWithGoAway("/refused");
    startRelay(towardH2Upstream());
    String body = "{\"order\": 7}";

    HttpResponse<String> first = send(to("/first").GET());
    HttpResponse<String> refused =
        send(to("/refused").POST(HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json"));

    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(refused.statusCode()).as(refused.body()).isEqualTo(200);
    List<Http2Upstream.Request> seen =
        upstream.requests().stream().filter(request -> request.path().equals("/refused")).toList();
    assertThat(seen).extracting(Http2Upstream.Request::connection).containsExactly(1, 2);
    assertThat(seen).allSatisfy(request -> assertThat(request.body()).isEqualTo(body.getBytes(StandardCharsets.UTF_8)));
    assertThat(tokenCalls()).as("a refusal is not the token's fault: no renewal").isEqualTo(1);
    assertThat(send(to("/next").GET()).statusCode()).isEqualTo(200);
  }

  // ---- 3. SETTINGS_MAX_CONCURRENT_STREAMS ----

  @Test
  void streamsAboveTheUpstreamsConcurrencyLimitWaitForASlotInsteadOfBeingRefused() throws Exception {
    upstream = Http2Upstream.start(third::accepts, 2).holdResponses(Duration.ofMillis(100));
    startRelay(towardH2Upstream());
    List<String> paths = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      paths.add("/limited/" + i);
    }

    // Twenty streams of one caller connection: one event loop of the relay, so one origin connection.
    List<String> answers = DataPlaneIT.h2cStreams(relayPort, paths, Duration.ofSeconds(20));

    for (int i = 0; i < answers.size(); i++) {
      assertThat(answers.get(i)).startsWith("200\n").contains("\"path\":\"/limited/" + i + "\"");
    }
    assertThat(upstream.streams()).isEqualTo(20);
    // Never more than the upstream allowed; and the relay did use both slots (the answers are held, so
    // two streams overlap as soon as the relay sends them).
    assertThat(upstream.maxOpenStreams()).isEqualTo(2);
  }

  /**
   * The other side of waiting for the upstream's SETTINGS: a server that accepts the connection but never
   * sends them is no HTTP/2 server, and the caller gets 502 after the connect timeout (not a request sent
   * into silence and a 504 a minute later).
   */
  @Test
  void anUpstreamThatSendsNoHttp2SettingsGets502AfterTheConnectTimeout() throws Exception {
    try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      List<Socket> held = new CopyOnWriteArrayList<>();
      RAW_UPSTREAM.execute(
          () -> {
            try {
              for (;;) {
                held.add(silent.accept()); // and never a byte
              }
            } catch (java.io.IOException closed) {
              // the test is over
            }
          });
      startRelay("""
          { "url": "http://127.0.0.1:%d/", "origin": { "protocol": "h2", "connectTimeoutSeconds": 0.5 } }"""
          .formatted(silent.getLocalPort()));

      HttpResponse<String> r = send(to("/silent").GET());

      assertThat(r.statusCode()).as(r.body()).isEqualTo(502);
      assertThat(JSON.readTree(r.body()).get("error").asText()).isEqualTo("upstream_unreachable");
      assertThat(held).hasSize(1);
      for (Socket s : held) {
        s.close();
      }
    }
  }

  // ---- 4. a malformed 401 body ----

  @Test
  void a401WithAMalformedChunkedBodyIsDroppedAndTheReplayAnswersTheCaller() throws Exception {
    try (ServerSocket raw = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      List<String> tokens = new CopyOnWriteArrayList<>();
      AtomicInteger connections = new AtomicInteger();
      RAW_UPSTREAM.execute(() -> acceptRaw(raw, tokens, connections));
      startRelay("""
          { "url": "http://127.0.0.1:%d/" }""".formatted(raw.getLocalPort()));

      HttpResponse<String> r = send(to("/malformed-401").GET());

      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("{\"served\":\"by connection 2\"}");
      assertThat(tokenCalls()).as("the start-up login, then one renewal after the 401").isEqualTo(2);
      assertThat(tokens).hasSize(2);
      assertThat(issued(tokens.get(0))).as("the token the malformed 401 answered").isEqualTo(0);
      assertThat(issued(tokens.get(1))).as("the replay's token").isEqualTo(1);

      HttpResponse<String> next = send(to("/next").GET());

      assertThat(next.statusCode()).as(next.body()).isEqualTo(200);
      assertThat(next.body()).isEqualTo("{\"served\":\"by connection 3\"}");
    }
  }

  /**
   * A raw HTTP/1.1 upstream: its first connection answers 401 ({@code invalid_token}) with a chunked body
   * whose chunk size is not hexadecimal, then waits for the relay to hang up; every later connection
   * answers one request with 200 and closes. Records the bearer token of each request.
   */
  private static void acceptRaw(ServerSocket raw, List<String> tokens, AtomicInteger connections) {
    try {
      for (;;) {
        Socket s = raw.accept();
        int n = connections.incrementAndGet();
        RAW_UPSTREAM.execute(() -> serveRaw(s, n, tokens));
      }
    } catch (java.io.IOException closed) {
      // the test is over
    }
  }

  private static void serveRaw(Socket s, int n, List<String> tokens) {
    try (s) {
      s.setSoTimeout(15_000);
      InputStream in = s.getInputStream();
      String head = DataPlaneIT.readUntil(in, "\r\n\r\n");
      tokens.add(bearer(head));
      OutputStream out = s.getOutputStream();
      if (n == 1) {
        out.write(
            ("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer error=\"invalid_token\"\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\nzz\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
        DataPlaneIT.readUntil(in, null); // until the relay hangs up
        return;
      }
      String body = "{\"served\":\"by connection " + n + "\"}";
      out.write(
          ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + body.length()
                  + "\r\nConnection: close\r\n\r\n" + body)
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
    } catch (Exception e) {
      // The relay hung up first: the assertions on what the caller got tell the story.
    }
  }

  private static String bearer(String head) {
    for (String line : head.split("\r\n")) {
      if (line.toLowerCase(Locale.ROOT).startsWith("authorization: bearer ")) {
        return line.substring("authorization: bearer ".length()).strip();
      }
    }
    return null;
  }

  // ---- 5. a relay.data replay ----

  @Test
  void aReplayedRelayDataBodyCarriesTheRenewedToken() throws Exception {
    // The token travels only in the body: relay.data uses ${ACCESSTOKEN}, so no Authorization is added.
    upstream = Http2Upstream.start(third::accepts).rejectFirstToken().tokenFromJsonBody("token");
    startRelay("""
        { "url": "%s/", "method": "POST", "data": "{\\"token\\": \\"${ACCESSTOKEN}\\"}",
          "origin": { "protocol": "h2" } }"""
        .formatted(upstream.baseUrl()));

    HttpResponse<String> r = send(to("/by-body").POST(HttpRequest.BodyPublishers.noBody()));

    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(tokenCalls()).as("the start-up login, then one renewal after the 401").isEqualTo(2);
    List<Http2Upstream.Request> seen = upstream.requests();
    assertThat(seen).extracting(Http2Upstream.Request::status).containsExactly(401, 200);
    assertThat(issued(seen.get(0).token())).as("the first attempt's body token").isEqualTo(0);
    assertThat(issued(seen.get(1).token())).as("the replay's body token").isEqualTo(1);
    String expected = "{\"token\": \"" + third.issuedAccessTokens.get(1) + "\"}";
    assertThat(seen.get(1).bodyText().equals(expected))
        .as("the replay's body is relay.data rendered with the renewed token, nothing else")
        .isTrue();
  }
}
