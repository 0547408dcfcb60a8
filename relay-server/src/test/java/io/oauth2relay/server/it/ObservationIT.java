package io.oauth2relay.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.oauth2relay.server.Relay;
import io.oauth2relay.server.config.ConfigLoader;
import io.oauth2relay.server.testing.NginxServer;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the metrics count of each exchange, whichever way it ends: pipelined HTTP/1.1 requests, HTTP/2
 * streams, a caller refused by its API key, a caller that hangs up mid-request (status 0), and the
 * in-flight gauge back at 0 once all is done. Against an in-process relay in front of a real nginx.
 */
class ObservationIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String KEY = "observation-key-canary";

  @TempDir Path dir;
  private NginxServer nginx;
  /** Takes connections (the kernel's backlog does) and never answers: what nginx proxies {@code /hang} to. */
  private java.net.ServerSocket silent;
  private Relay relay;
  private int port;
  private String adminUrl;

  @BeforeEach
  void start() throws Exception {
    int upstreamPort = NginxServer.freePort();
    silent = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
    nginx = NginxServer.start(dir.resolve("nginx"),
        """
          server {
            listen 127.0.0.1:%d;
            location / { return 200 "uri=$request_uri\\n"; }
            location /hang { proxy_pass http://127.0.0.1:%d; }
          }
        """.formatted(upstreamPort, silent.getLocalPort()), upstreamPort);
    String config =
        """
        { "port": 0, "host": "127.0.0.1", "accessLog": false, "admin": { "port": 0 },
          "inbound": { "apiKeys": [ { "name": "app", "key": "${KEY}" } ] },
          "relay": { "url": "http://127.0.0.1:%d/", "fixedtoken": "t" } }
        """.formatted(upstreamPort);
    relay = new Relay(new ConfigLoader(Map.of("KEY", KEY)::get).parse(JSON.readTree(config), "observation.json"), Clock.systemUTC());
    port = relay.start().getPort();
    adminUrl = "http://127.0.0.1:" + relay.adminAddress().getPort();
  }

  @AfterEach
  void stop() throws Exception {
    if (relay != null) {
      relay.close();
    }
    if (nginx != null) {
      nginx.close();
    }
    if (silent != null) {
      silent.close();
    }
  }

  @Test
  void everyExchangeIsCountedOnceWithItsStatusAndNoneStaysInFlight() throws Exception {
    // Two pipelined requests on one connection, then a third after them.
    String pipelined = raw("GET /a HTTP/1.1\r\nHost: x\r\nX-Api-Key: " + KEY + "\r\n\r\n"
        + "GET /b HTTP/1.1\r\nHost: x\r\nX-Api-Key: " + KEY + "\r\n\r\n"
        + "GET /c HTTP/1.1\r\nHost: x\r\nX-Api-Key: " + KEY + "\r\nConnection: close\r\n\r\n");
    assertThat(pipelined.split("(?=HTTP/1\\.1 )")).hasSize(3);
    // A pipelined request with a wrong key after a good one: the good one is answered first, then the refusal.
    String refused = raw("GET /d HTTP/1.1\r\nHost: x\r\nX-Api-Key: " + KEY + "\r\n\r\n"
        + "GET /e HTTP/1.1\r\nHost: x\r\nX-Api-Key: wrong\r\n\r\n");
    assertThat(refused.split("(?=HTTP/1\\.1 )")).hasSize(2);
    assertThat(refused).startsWith("HTTP/1.1 200").contains("uri=/d", "HTTP/1.1 401").doesNotContain("uri=/e");
    // Two HTTP/2 streams (h2c by Upgrade on the first request, so both are streams of the relay).
    HttpClient h2 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();
    for (String path : new String[] {"/h2-1", "/h2-2"}) {
      HttpResponse<String> r = h2.send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).header("X-Api-Key", KEY).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
    }
    // A caller that drops its connection (a reset: a FIN alone is a half-close, still answered) before its answer comes.
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoLinger(true, 0);
      s.getOutputStream().write(("GET /hang HTTP/1.1\r\nHost: x\r\nX-Api-Key: " + KEY + "\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      Thread.sleep(300); // the request has gone on to the upstream
    }

    String metrics = awaitMetrics("relay_requests_in_flight(\\{[^}]*})? 0\\.0", Duration.ofSeconds(10));

    assertThat(count(metrics, "200")).as(metrics).isEqualTo(6);
    assertThat(count(metrics, "401")).as(metrics).isEqualTo(1);
    assertThat(count(metrics, "0")).as("the hung-up request: %s", metrics).isEqualTo(1);
    assertThat(metrics).doesNotContain(KEY);
  }

  /** The count of {@code relay_requests_seconds{route="relay",status=...}}, 0 when there is none. */
  private static int count(String metrics, String status) {
    Matcher m = Pattern.compile("relay_requests_seconds_count\\{route=\"relay\",status=\"" + status + "\"} ([0-9.]+)").matcher(metrics);
    return m.find() ? (int) Double.parseDouble(m.group(1)) : 0;
  }

  private String awaitMetrics(String pattern, Duration max) throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    long deadline = System.nanoTime() + max.toNanos();
    Pattern p = Pattern.compile(pattern);
    while (true) {
      String body = http.send(HttpRequest.newBuilder(URI.create(adminUrl + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
      if (p.matcher(body).find() && count(body, "0") > 0 || System.nanoTime() > deadline) {
        return body;
      }
      Thread.sleep(50);
    }
  }

  /** Sends {@code requests} on one connection and reads to the relay's close (or 10 s). */
  private String raw(String requests) throws Exception {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(requests.getBytes(StandardCharsets.US_ASCII));
      InputStream in = s.getInputStream();
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      in.transferTo(all);
      return all.toString(StandardCharsets.UTF_8);
    }
  }
}
