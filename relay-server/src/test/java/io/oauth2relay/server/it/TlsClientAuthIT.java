package io.oauth2relay.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsExchange;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import java.io.InputStream;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tls_client_auth} (RFC 8705): the relay presents a client certificate from PEM files to a token
 * endpoint that requires one. The endpoint is a hand-written HTTPS server of the test's own (Keycloak here
 * runs plain HTTP, and its X.509 client authentication needs TLS termination it does not have in this
 * setup); it issues a token only to the expected certificate with the expected client id.
 */
class TlsClientAuthIT {
  @TempDir Path dir;

  @Test
  void theRelayPresentsItsClientCertificateAndGetsAToken() throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(256);
    KeyPair clientKeys = generator.generateKeyPair();
    X509Certificate clientCert = selfSigned(clientKeys, "CN=relay-client");
    Path certPem = Files.writeString(dir.resolve("client.crt"), pem("CERTIFICATE", clientCert.getEncoded()));
    Path keyPem = Files.writeString(dir.resolve("client.key"), pem("PRIVATE KEY", clientKeys.getPrivate().getEncoded()));

    Path serverStore = TestCertificates.keyStore(dir, "idp", "ip:127.0.0.1");
    Path trust = TestCertificates.trustStore(dir, serverStore);
    AtomicReference<String> presented = new AtomicReference<>();
    HttpsServer idp = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    SSLContext serverTls = serverContext(serverStore, clientCert);
    idp.setHttpsConfigurator(
        new HttpsConfigurator(serverTls) {
          @Override
          public void configure(HttpsParameters params) {
            SSLParameters p = serverTls.getDefaultSSLParameters();
            p.setNeedClientAuth(true);
            params.setSSLParameters(p);
          }
        });
    idp.createContext("/token", ex -> {
      String body;
      try (InputStream in = ex.getRequestBody()) {
        body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
      X509Certificate peer = (X509Certificate) ((HttpsExchange) ex).getSSLSession().getPeerCertificates()[0];
      presented.set(peer.getSubjectX500Principal().getName());
      boolean ok = peer.equals(clientCert) && body.contains("grant_type=client_credentials") && body.contains("client_id=relay-client");
      byte[] answer = (ok ? "{\"access_token\":\"mtls-token\",\"token_type\":\"Bearer\",\"expires_in\":300}" : "{\"error\":\"invalid_client\"}")
          .getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().set("Content-Type", "application/json");
      ex.sendResponseHeaders(ok ? 200 : 401, answer.length);
      ex.getResponseBody().write(answer);
      ex.close();
    });
    idp.start();
    AtomicReference<String> authorization = new AtomicReference<>();
    HttpServer api = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    api.createContext("/", ex -> {
      authorization.set(ex.getRequestHeaders().getFirst("Authorization"));
      ex.sendResponseHeaders(204, -1);
      ex.close();
    });
    api.start();
    try {
      Path config =
          Files.writeString(
              dir.resolve("mtls.json"),
              """
              { "port": 0,
                "login": { "grant": "client_credentials", "tokenUrl": "https://127.0.0.1:%d/token",
                           "clientAuth": "tls_client_auth", "clientId": "relay-client",
                           "certificate": "%s", "privateKey": "%s" },
                "relay": { "url": "http://127.0.0.1:%d/" } }
              """
                  .formatted(idp.getAddress().getPort(), certPem, keyPem, api.getAddress().getPort()));
      Map<String, String> env =
          Map.of("JAVA_OPTS", "-Djavax.net.ssl.trustStore=" + trust + " -Djavax.net.ssl.trustStorePassword=" + TestCertificates.PASSWORD);
      try (RelayProcess relay = RelayProcess.start(dir, env, "start", "--config", config.toString())) {
        String base = "http://127.0.0.1:" + relay.awaitPort(Duration.ofSeconds(120));

        HttpResponse<String> r =
            HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(base + "/x")).build(), HttpResponse.BodyHandlers.ofString());

        assertThat(r.statusCode()).as(r.body()).isEqualTo(204);
        assertThat(authorization.get()).isEqualTo("Bearer mtls-token");
        assertThat(presented.get()).isEqualTo("CN=relay-client");
        assertThat(relay.stop()).isZero();
      }
    } finally {
      idp.stop(0);
      api.stop(0);
    }
  }

  private static X509Certificate selfSigned(KeyPair keys, String subject) throws Exception {
    X500Principal name = new X500Principal(subject);
    Instant now = Instant.now();
    return new JcaX509CertificateConverter()
        .getCertificate(
            new JcaX509v3CertificateBuilder(
                    name, BigInteger.valueOf(now.toEpochMilli()), Date.from(now.minusSeconds(60)),
                    Date.from(now.plusSeconds(86_400)), name, keys.getPublic())
                .build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate())));
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder().encodeToString(der) + "\n-----END " + type + "-----\n";
  }

  /** The server's own key from its key store; trusts exactly the client's certificate. */
  private static SSLContext serverContext(Path keyStore, X509Certificate client) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(keyStore)) {
      ks.load(in, TestCertificates.PASSWORD.toCharArray());
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, TestCertificates.PASSWORD.toCharArray());
    KeyStore trusted = KeyStore.getInstance("PKCS12");
    trusted.load(null, null);
    trusted.setCertificateEntry("client", client);
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trusted);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    return ctx;
  }
}
