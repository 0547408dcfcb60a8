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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Token endpoint and API over HTTPS with real TLS on loopback. The relay trusts them through the standard
 * JSSE trust-store properties passed in {@code JAVA_OPTS}, which also proves the launcher passes
 * {@code JAVA_OPTS} to the JVM.
 */
class HttpsUpstreamIT {
  private static final String AUTHSTRING =
      Base64.getEncoder().encodeToString("client_123:s3cr3t!".getBytes(StandardCharsets.UTF_8));

  @TempDir Path dir;

  private final HttpClient http = HttpClient.newHttpClient();

  private Path config(String thirdPartyUrl) throws Exception {
    String json =
        """
        {
          "port": 0,
          "login": { "authstring": "${AUTH}", "url": "%1$s/login", "headers": { "Authorization": "Basic ${AUTHSTRING}" } },
          "refresh": { "url": "%1$s/refresh", "data": "{\\"token\\": \\"${REFRESHTOKEN}\\"}",
                       "headers": { "Authorization": "${REFRESHTOKEN}" } },
          "relay": { "url": "%1$s/api/" }
        }
        """
            .formatted(thirdPartyUrl);
    return Files.writeString(dir.resolve("https.json"), json);
  }

  private static Map<String, String> env(Path trustStore) {
    return Map.of(
        "AUTH", AUTHSTRING,
        "JAVA_OPTS", "-Djavax.net.ssl.trustStore=" + trustStore + " -Djavax.net.ssl.trustStorePassword=" + TestCertificates.PASSWORD);
  }

  @Test
  void tokensAndRequestsGoOverVerifiedTls() throws Exception {
    Path ks = TestCertificates.keyStore(dir, "upstream", "ip:127.0.0.1,dns:localhost");
    Path trust = TestCertificates.trustStore(dir, ks);
    try (SeedDialectThirdParty third = new SeedDialectThirdParty(AUTHSTRING, TestCertificates.serverContext(ks));
        RelayProcess relay = RelayProcess.start(dir, env(trust), "start", "--config", config(third.url()).toString())) {
      String base = "http://127.0.0.1:" + relay.awaitPort(Duration.ofSeconds(120));

      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/secure")).build(), HttpResponse.BodyHandlers.ofString());

      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).contains("\"path\":\"/api/secure\"");
      assertThat(third.logins.get()).isEqualTo(1);
      assertThat(relay.stop()).isZero();
    }
  }

  @Test
  void anUpstreamCertificateForAnotherHostIsRefused() throws Exception {
    // Trusted, but issued for another name: hostname verification must still refuse it.
    Path ks = TestCertificates.keyStore(dir, "elsewhere", "dns:elsewhere.example");
    Path trust = TestCertificates.trustStore(dir, ks);
    try (SeedDialectThirdParty third = new SeedDialectThirdParty(AUTHSTRING, TestCertificates.serverContext(ks))) {
      // The token endpoint is plain HTTP here so that only the data path meets the wrong certificate.
      try (SeedDialectThirdParty idp = new SeedDialectThirdParty(AUTHSTRING)) {
        String json = Files.readString(config(idp.url())).replace(idp.url() + "/api/", third.url() + "/api/");
        Path file = Files.writeString(dir.resolve("mixed.json"), json);
        try (RelayProcess relay = RelayProcess.start(dir, env(trust), "start", "--config", file.toString())) {
          String base = "http://127.0.0.1:" + relay.awaitPort(Duration.ofSeconds(120));

          HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/secure")).build(), HttpResponse.BodyHandlers.ofString());

          assertThat(r.statusCode()).isEqualTo(502);
          assertThat(r.body()).contains("\"error\":\"upstream_tls_failed\"");
          assertThat(third.apiCalls.get()).isZero();
          assertThat(relay.stop()).isZero();
          assertThat(relay.stdout()).contains("TLS handshake with the upstream failed");
        }
      }
    }
  }
}
