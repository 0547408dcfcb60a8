package io.oauth2relay.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ConnectException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM through the real launcher ({@code ./oauth2relay start} as a child process): requests in flight
 * finish, new connections are refused, the process exits 0; and {@code logFormat: "json"} makes every
 * log line a JSON object. The third party is {@link SeedDialectThirdParty} on loopback.
 */
class LifecycleIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String AUTHSTRING =
      Base64.getEncoder().encodeToString("client_123:pw".getBytes(StandardCharsets.UTF_8));

  @TempDir Path dir;

  @Test
  void sigtermLetsASlowRequestInFlightFinishRefusesNewConnectionsAndExitsZero() throws Exception {
    try (SeedDialectThirdParty third = new SeedDialectThirdParty(AUTHSTRING)) {
      Path config = dir.resolve("relay.json");
      Files.writeString(config, """
          { "port": 0, "shutdownGraceSeconds": 30, "logFormat": "json",
            "login": { "url": "%1$s/login", "authstring": "${AUTH}", "headers": { "Authorization": "Basic ${AUTHSTRING}" } },
            "relay": { "url": "%1$s/api/" } }
          """.formatted(third.url()));
      RelayProcess relay = RelayProcess.start(dir, Map.of("AUTH", AUTHSTRING), "start", "--config", config.toString());
      try (relay) {
        int port = relay.awaitPort(Duration.ofSeconds(120));
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        String url = "http://127.0.0.1:" + port;
        assertThat(http.send(HttpRequest.newBuilder(URI.create(url + "/warm")).build(),
            HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);

        third.apiDelayMillis = 3_000;
        int before = third.apiCalls.get();
        CompletableFuture<HttpResponse<String>> slow =
            HttpClient.newHttpClient().sendAsync(HttpRequest.newBuilder(URI.create(url + "/slow")).build(),
                HttpResponse.BodyHandlers.ofString());
        while (third.apiCalls.get() == before) {
          Thread.sleep(10); // until the slow request has reached the upstream: it is in flight
        }
        relay.terminate();

        boolean refused = false;
        while (!slow.isDone() && !refused) {
          refused = refusesConnections(port);
        }
        HttpResponse<String> answered = slow.get(30, TimeUnit.SECONDS);
        assertThat(answered.statusCode()).isEqualTo(200);
        assertThat(answered.body()).contains("\"path\":\"/api/slow\"");
        assertThat(refused).as("new connections refused while the slow request was still in flight").isTrue();
        assertThat(relay.awaitExit(Duration.ofSeconds(30))).isZero();

        List<JsonNode> lines = new ArrayList<>();
        for (String line : relay.stdout().split("\n")) {
          lines.add(JSON.readTree(line)); // every line is one JSON object
        }
        assertThat(lines).allSatisfy(l -> assertThat(l.has("time") && l.has("level") && l.has("message")).isTrue());
        assertThat(lines).anySatisfy(l -> assertThat(l.get("message").asText()).startsWith("stopping: draining"));
        assertThat(lines).anySatisfy(l -> assertThat(l.get("message").asText()).contains("tokens wiped"));
        assertThat(lines).noneSatisfy(l -> assertThat(l.get("message").asText()).contains("cut off"));
        assertThat(relay.stdout() + relay.stderr()).doesNotContain(AUTHSTRING).doesNotContain("tok-access");
      }
    }
  }

  private static boolean refusesConnections(int port) throws InterruptedException {
    try (Socket s = new Socket("127.0.0.1", port)) {
      Thread.sleep(20);
      return false;
    } catch (ConnectException e) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
