package io.oauth2relay.server.it;

import static org.assertj.core.api.Assertions.assertThat;

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
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every flow at debug level, then every byte of standard output, standard error and the log file is
 * searched for secrets. {@code ./oauth2relay start} runs as a child process against
 * {@link SeedDialectThirdParty} (the seed's token dialect, which no public server speaks): the password,
 * the caller's API key, the caller's own Authorization, a sensitive query value, the identity provider's
 * error description and every token it issues all carry one canary string.
 */
class RedactionIT {
  private static final String CANARY = "CANARY" + UUID.randomUUID().toString().replace("-", "").toUpperCase();
  private static final String PASSWORD = "pw-" + CANARY;
  private static final String AUTHSTRING =
      Base64.getEncoder().encodeToString(("client_123:" + PASSWORD).getBytes(StandardCharsets.UTF_8));
  private static final String API_KEY = "key-" + CANARY;
  private static final String CALLER_AUTH =
      "Basic " + Base64.getEncoder().encodeToString(("caller:" + CANARY).getBytes(StandardCharsets.UTF_8));

  @TempDir Path dir;

  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @Test
  void loginRefreshFailure401ReplayAndShutdownAtDebugLevelPrintNoSecretAnywhere() throws Exception {
    try (SeedDialectThirdParty third = new SeedDialectThirdParty(AUTHSTRING)) {
      third.tokenPrefix = CANARY;
      third.lifetimeSeconds = 2;
      Path config = dir.resolve("relay.json");
      Files.writeString(config, """
          { "port": 0, "debug": true, "logfile": "relay.log",
            "inbound": { "apiKeys": ["${RELAY_KEY}"] },
            "sensitiveQueryParams": ["session"],
            "token": { "refreshAt": 0.5, "jitter": 0, "retryMin": 0.2, "retryMax": 0.5, "rejectedRetry": 0.5 },
            "login": { "user": "client_123", "password": "${PW}", "url": "%1$s/login",
                       "headers": { "Authorization": "Basic ${AUTHSTRING}" } },
            "refresh": { "method": "POST", "url": "%1$s/refresh", "data": "{\\"token\\": \\"${REFRESHTOKEN}\\"}",
                         "headers": { "Authorization": "${REFRESHTOKEN}" } },
            "relay": { "url": "%1$s/api/", "headers": { "Authorization": "Bearer ${ACCESSTOKEN}" } } }
          """.formatted(third.url()));
      RelayProcess relay = RelayProcess.start(dir, Map.of("PW", PASSWORD, "RELAY_KEY", API_KEY),
          "start", "--config", config.toString());
      try (relay) {
        String base = "http://127.0.0.1:" + relay.awaitPort(Duration.ofSeconds(120));

        // login
        assertThat(call(base + "/orders?id=7&session=" + CANARY, API_KEY)).isEqualTo(200);
        // refresh, ahead of expiry in the background
        await(() -> third.refreshes.get() >= 1);
        assertThat(call(base + "/orders?id=8", API_KEY)).isEqualTo(200);
        // failure: refresh rejected, login unavailable, with the provider echoing a canary in its errors
        third.errorDescription = "you sent " + CANARY;
        third.refreshStatus = 400;
        third.loginStatus = 503;
        int logins = third.logins.get();
        await(() -> third.logins.get() > logins + 1);
        third.loginStatus = 200;
        third.refreshStatus = 200;
        await(() -> {
          try {
            return call(base + "/recovered", API_KEY) == 200;
          } catch (Exception e) {
            return false;
          }
        });
        // 401 replay: the provider revokes the token the relay holds
        third.revokeAccessTokens();
        int rejected = third.rejectedApiCalls.get();
        assertThat(call(base + "/after-revocation", API_KEY)).isEqualTo(200);
        assertThat(third.rejectedApiCalls.get()).isGreaterThan(rejected);
        // a caller with a wrong key
        assertThat(call(base + "/x?access_token=" + CANARY, "wrong-" + CANARY)).isEqualTo(401);
        // shutdown
        assertThat(relay.stop()).isZero();

        String log = Files.readString(dir.resolve("relay.log"), StandardCharsets.ISO_8859_1);
        assertThat(log)
            .contains("DEBUG")
            .contains("refresh succeeded")
            .contains("token renewal failed")
            .contains("rejected the access token ****")
            .contains("GET /orders?id=7&session=**** 200")
            .contains("GET /x?access_token=**** 401")
            .contains("tokens wiped");
        byte[][] outputs = {
          Files.readAllBytes(dir.resolve("stdout.txt")), Files.readAllBytes(dir.resolve("stderr.txt")),
          Files.readAllBytes(dir.resolve("relay.log"))
        };
        for (byte[] output : outputs) {
          String every = new String(output, StandardCharsets.ISO_8859_1);
          assertThat(every)
              .doesNotContain(CANARY)
              .doesNotContain(CANARY.toLowerCase())
              .doesNotContain(AUTHSTRING)
              .doesNotContain(CALLER_AUTH.substring(6))
              .doesNotContain(Base64.getEncoder().encodeToString(CANARY.getBytes(StandardCharsets.US_ASCII)));
        }
      }
    }
  }

  private int call(String url, String apiKey) throws Exception {
    return http.send(
            HttpRequest.newBuilder(URI.create(url)).header("X-Api-Key", apiKey).header("Authorization", CALLER_AUTH).build(),
            HttpResponse.BodyHandlers.ofString())
        .statusCode();
  }

  /** Polls {@code condition} for up to 20 s (the flows run in the relay's background). */
  private static void await(BooleanSupplier condition) throws InterruptedException {
    AtomicInteger tries = new AtomicInteger();
    while (!condition.getAsBoolean()) {
      assertThat(tries.incrementAndGet()).as("condition reached within 20 s").isLessThan(400);
      Thread.sleep(50);
    }
  }
}
