package io.oauth2relay.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.oauth2relay.server.Relay;
import io.oauth2relay.server.config.ConfigLoader;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Caller authentication ({@code inbound}): API keys and source networks in front of an in-process relay
 * against {@link SeedDialectThirdParty}; the start-up warning and {@code requireCallerAuth} through the
 * real launcher.
 */
class CallerAuthIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String AUTHSTRING =
      Base64.getEncoder().encodeToString("client_123:pw".getBytes(StandardCharsets.UTF_8));
  private static final String KEY = "key-" + UUID.randomUUID();
  private static final String OTHER_KEY = "key2-" + UUID.randomUUID();

  @TempDir Path dir;

  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private SeedDialectThirdParty third;
  private Relay relay;
  private int port;

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

  private void startRelay(String host, String inbound) throws Exception {
    String config =
        """
        { "port": 0, "host": "%2$s", "inbound": %3$s,
          "login": { "url": "%1$s/login", "authstring": "${AUTH}", "headers": { "Authorization": "Basic ${AUTHSTRING}" } },
          "relay": { "url": "%1$s/api/" } }
        """
            .formatted(third.url(), host, inbound);
    relay = new Relay(
        new ConfigLoader(Map.of("AUTH", AUTHSTRING, "RELAY_KEY", KEY, "RELAY_KEY_2", OTHER_KEY)::get)
            .parse(JSON.readTree(config), "auth.json"),
        Clock.systemUTC());
    port = relay.start().getPort();
  }

  private HttpResponse<String> get(String host, String header, String key) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://" + host + ":" + port + "/x"));
    if (key != null) {
      b.header(header, key);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aCallerWithoutTheKeyOrWithAWrongOneGets401WithASmallBodyThatNamesNoCredential() throws Exception {
    startRelay("127.0.0.1", "{\"apiKeys\": [\"${RELAY_KEY}\"]}");

    HttpResponse<String> missing = get("127.0.0.1", "X-Api-Key", null);
    HttpResponse<String> wrong = get("127.0.0.1", "X-Api-Key", KEY + "x");
    HttpResponse<String> prefix = get("127.0.0.1", "X-Api-Key", KEY.substring(0, 10));

    for (HttpResponse<String> r : java.util.List.of(missing, wrong, prefix)) {
      assertThat(r.statusCode()).isEqualTo(401);
      assertThat(JSON.readTree(r.body()).get("error").asText()).isEqualTo("unauthorized");
      assertThat(r.body()).doesNotContain(KEY).doesNotContain("Bearer").doesNotContain(AUTHSTRING).hasSizeLessThan(120);
    }
    assertThat(third.apiCalls.get()).isZero();
  }

  @Test
  void anyConfiguredKeyIsAcceptedAndNeverForwardedUpstream() throws Exception {
    startRelay("127.0.0.1", "{\"apiKeys\": [\"${RELAY_KEY}\", \"${RELAY_KEY_2}\"], \"header\": \"X-Relay-Key\"}");

    assertThat(get("127.0.0.1", "X-Relay-Key", KEY).statusCode()).isEqualTo(200);
    assertThat(third.lastApiHeaders.containsKey("X-Relay-Key")).isFalse();
    assertThat(get("127.0.0.1", "X-Relay-Key", OTHER_KEY).statusCode()).isEqualTo(200);
    assertThat(get("127.0.0.1", "X-Api-Key", KEY).statusCode()).as("the default header is not the configured one").isEqualTo(401);
    assertThat(third.apiCalls.get()).isEqualTo(2);
  }

  @Test
  void aCallerOutsideTheAllowedNetworksGets403() throws Exception {
    startRelay("127.0.0.1", "{\"allowFrom\": [\"10.0.0.0/8\", \"fd00::/8\"]}");

    HttpResponse<String> r = get("127.0.0.1", "X-Api-Key", null);

    assertThat(r.statusCode()).isEqualTo(403);
    assertThat(JSON.readTree(r.body()).get("error").asText()).isEqualTo("forbidden");
    assertThat(third.apiCalls.get()).isZero();
  }

  @Test
  void aCallerInsideAnAllowedNetworkIsRelayed() throws Exception {
    startRelay("127.0.0.1", "{\"allowFrom\": [\"10.0.0.0/8\", \"127.0.0.0/8\"]}");

    assertThat(get("127.0.0.1", "X-Api-Key", null).statusCode()).isEqualTo(200);
  }

  @Test
  void ipv6CallersAreMatchedAgainstIpv6Networks() throws Exception {
    assumeTrue(ipv6Loopback(), "no IPv6 loopback on this machine");
    startRelay("::1", "{\"allowFrom\": [\"::1/128\"]}");
    assertThat(get("[::1]", "X-Api-Key", null).statusCode()).isEqualTo(200);
    relay.close();

    startRelay("::1", "{\"allowFrom\": [\"fd00::/8\", \"127.0.0.1\"]}");
    assertThat(get("[::1]", "X-Api-Key", null).statusCode()).isEqualTo(403);
  }

  /**
   * {@code Expect: 100-continue} is answered only once a request may go on: a refused caller gets its
   * final answer instead (RFC 9110 §10.1.1) and is never invited to send a body that would be discarded;
   * an accepted one gets the 100, sends its body, and is relayed.
   */
  @Test
  void aRefusedCallerGetsItsFinalAnswerInsteadOf100Continue() throws Exception {
    startRelay("127.0.0.1", "{\"apiKeys\": [\"${RELAY_KEY}\"]}");

    String refused = expectContinue("X-Api-Key: " + KEY + "x\r\n");
    String accepted = expectContinue("X-Api-Key: " + KEY + "\r\n");

    assertThat(refused).as(refused).startsWith("HTTP/1.1 401").doesNotContain("100 Continue");
    assertThat(accepted).as(accepted).startsWith("HTTP/1.1 100 Continue").contains("HTTP/1.1 200");
    assertThat(third.apiCalls.get()).isEqualTo(1);
  }

  /**
   * Sends a POST head with {@code Expect: 100-continue} and reads the first answer: after a 100, sends the
   * body and reads the rest; after a final answer, stops there.
   */
  private String expectContinue(String extraHeaders) throws Exception {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      out.write(("POST /x HTTP/1.1\r\nHost: r\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n"
          + extraHeaders + "\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      java.io.InputStream in = s.getInputStream();
      StringBuilder first = new StringBuilder();
      // The first status line, whichever it is: a client waits for it before sending the body.
      while (!first.toString().endsWith("\r\n\r\n")) {
        int c = in.read();
        if (c == -1) {
          break;
        }
        first.append((char) c);
      }
      if (!first.toString().startsWith("HTTP/1.1 100 ")) {
        return first.toString(); // a final answer: as a client does, send no body (the relay closes)
      }
      out.write("hello".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      return first + readUntilClosed(in);
    }
  }

  @Test
  void aRefusalInAPipelineWaitsForTheAnswerToTheAcceptedRequestBeforeItThenClosesTheConnection() throws Exception {
    startRelay("127.0.0.1", "{\"apiKeys\": [\"${RELAY_KEY}\"]}");
    third.apiDelayMillis = 300; // the accepted request is still in flight when the refused one arrives

    String pipelined = "GET /first HTTP/1.1\r\nHost: r\r\nX-Api-Key: " + KEY + "\r\n\r\n"
        + "POST /second HTTP/1.1\r\nHost: r\r\nContent-Length: 5\r\n\r\nhello"
        + "GET /third HTTP/1.1\r\nHost: r\r\nX-Api-Key: " + KEY + "\r\n\r\n";
    String answer;
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      out.write(pipelined.getBytes(StandardCharsets.US_ASCII));
      out.flush();
      answer = readUntilClosed(s.getInputStream());
    }

    int first = answer.indexOf("HTTP/1.1 200");
    int second = answer.indexOf("HTTP/1.1 401");
    assertThat(first).as(answer).isGreaterThanOrEqualTo(0);
    assertThat(second).as(answer).isGreaterThan(first);
    assertThat(answer.indexOf("HTTP/1.1", second + 1)).as("nothing after the refusal").isEqualTo(-1);
    assertThat(third.apiCalls.get()).isEqualTo(1);
  }

  @Test
  void listeningBeyondLoopbackWithoutCallerAuthLogsOneWarningAndRequireCallerAuthRefusesToStart() throws Exception {
    Path open = dir.resolve("open.json");
    Files.writeString(open, "{\"port\": 0, \"host\": \"0.0.0.0\", \"relay\": {\"url\": \"http://127.0.0.1:9/\", \"fixedtoken\": \"${T}\"}}");
    RelayProcess warned = RelayProcess.start(dir.resolve("a"), Map.of("T", "t"), "start", "--config", open.toString());
    try (warned) {
      warned.awaitPort(Duration.ofSeconds(120));
      assertThat(warned.stdout().lines().filter(l -> l.contains("without caller authentication"))).hasSize(1);
      assertThat(warned.stop()).isZero();
    }

    Path strict = dir.resolve("strict.json");
    Files.writeString(strict, "{\"port\": 0, \"host\": \"0.0.0.0\", \"requireCallerAuth\": true,"
        + " \"relay\": {\"url\": \"http://127.0.0.1:9/\", \"fixedtoken\": \"${T}\"}}");
    RelayProcess refused = RelayProcess.run(dir.resolve("b"), Map.of("T", "t"), "start", "--config", strict.toString());
    assertThat(refused.exitCode()).isEqualTo(2);
    assertThat(refused.stderr().lines()).singleElement().asString().contains(strict.toString(), "requireCallerAuth");
    assertThat(refused.stdout()).doesNotContain("listening on");
  }

  private static String readUntilClosed(InputStream in) throws Exception {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    byte[] buf = new byte[4096];
    for (int n; (n = in.read(buf)) >= 0; ) {
      all.write(buf, 0, n);
    }
    return all.toString(StandardCharsets.ISO_8859_1);
  }

  private static boolean ipv6Loopback() {
    try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, InetAddress.getByName("::1"))) {
      return s.getInetAddress() instanceof Inet6Address;
    } catch (Exception e) {
      return false;
    }
  }
}
