package io.oauth2relay.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.oauth2relay.server.Relay;
import io.oauth2relay.server.config.ConfigLoader;
import io.oauth2relay.server.internal.PemKeys;
import io.oauth2relay.server.testing.NginxServer;
import io.oauth2relay.server.testing.Pki;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.nio.charset.StandardCharsets;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Callers known by their TLS client certificate ({@code inbound.certificates}), against an in-process relay
 * with real mutual TLS ({@code tls.clientAuth: optional}, certificates made at test time by {@link Pki}),
 * called over HTTP/1.1 and over HTTP/2 (ALPN) by the JDK client, in front of a real nginx that echoes and
 * logs every request it gets, so each test can tell that a refused request never reached it.
 *
 * <pre>
 *   inbound.certificates: billing (subject CN=billing), ops (SPKI pin of the ops certificate's key)
 *   /billing  callers [billing]     /ops  callers [ops]     /open  every admitted certificate
 * </pre>
 */
class CertificateCallersIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String TOKEN = "fixed-token-" + UUID.randomUUID();

  @TempDir static Path dir;
  private static Pki pki;
  private static Pki otherCa;
  private static NginxServer nginx;
  private static int upstreamPort;
  private static Path upstreamLog;
  private static Pki.Leaf server;
  private static Pki.Leaf billing;
  private static Pki.Leaf ops;
  private static Pki.Leaf stranger;
  private static Pki.Leaf billingFromAnotherCa;
  private static Started relay;
  private static int port;

  /** Relays started by one test of its own. */
  private final List<Relay> ownRelays = new ArrayList<>();

  private record Started(Relay relay, int port) {}

  @BeforeAll
  static void start() throws Exception {
    pki = new Pki(dir);
    server = pki.issue("relay-server", "ip:127.0.0.1", "dns:localhost");
    billing = pki.issue("billing");
    ops = pki.issue("ops");
    stranger = pki.issue("stranger");
    otherCa = new Pki(Files.createDirectories(dir.resolve("other-ca")));
    billingFromAnotherCa = otherCa.issue("billing");

    upstreamPort = NginxServer.freePort();
    upstreamLog = dir.resolve("upstream-access.log");
    String servers =
        """
          server {
            listen 127.0.0.1:%d;
            access_log %s;
            location / { return 200 "uri=$request_uri\\nauth=$http_authorization\\n"; }
          }
        """
            .formatted(upstreamPort, upstreamLog);
    nginx = NginxServer.start(dir.resolve("nginx"), servers, upstreamPort);
    relay = startRelay("{ \"certificates\": " + CERTIFICATES + " }", Map.of());
    port = relay.port();
  }

  @AfterAll
  static void stop() throws Exception {
    if (relay != null) {
      relay.relay().close();
    }
    if (nginx != null) {
      nginx.close();
    }
  }

  @AfterEach
  void stopOwnRelays() {
    ownRelays.forEach(Relay::close);
  }

  private static final String CERTIFICATES =
      "[ { \"name\": \"billing\", \"subject\": \"CN=billing\" }, { \"name\": \"ops\", \"spki\": \"%s\" } ]";

  /** Starts a relay with {@code inbound} (CERTIFICATES' %s is the ops pin) and the three routes. */
  private static Started startRelay(String inbound, Map<String, String> env) throws Exception {
    return startRelay(inbound, env, "");
  }

  /** @param fields more top-level fields, each followed by a comma */
  private static Started startRelay(String inbound, Map<String, String> env, String fields) throws Exception {
    String route = "{ \"name\": \"%1$s\", \"path\": \"/%1$s\", %2$s \"relay\": { \"url\": \"http://127.0.0.1:%3$d/\", \"fixedtoken\": \"%4$s\" } }";
    String config =
        """
        { "port": 0, "host": "127.0.0.1", "accessLog": false, %s
          "tls": { "certificate": "%s", "key": "%s", "clientCa": "%s", "clientAuth": "optional" },
          "inbound": %s,
          "routes": [ %s, %s, %s ] }
        """
            .formatted(
                fields, server.chainFile(), server.pkcs8File(), pki.caFile(), inbound.formatted(pin(ops)),
                route.formatted("billing", "\"callers\": [\"billing\"],", upstreamPort, TOKEN),
                route.formatted("ops", "\"callers\": [\"ops\"],", upstreamPort, TOKEN),
                route.formatted("open", "", upstreamPort, TOKEN));
    Relay started = new Relay(new ConfigLoader(env::get).parse(JSON.readTree(config), "certificates.json"), Clock.systemUTC());
    return new Started(started, started.start().getPort());
  }

  /** RFC 7469's pin of the certificate's public key. */
  private static String pin(Pki.Leaf leaf) throws Exception {
    byte[] digest = MessageDigest.getInstance("SHA-256").digest(leaf.certificate.getPublicKey().getEncoded());
    return "sha256/" + Base64.getEncoder().encodeToString(digest);
  }

  /**
   * A client that trusts the test CA and presents {@code leaf} (or no certificate) whichever CAs the relay
   * names in its request for one, so a certificate from another CA really is sent.
   */
  private static HttpClient client(HttpClient.Version version, Pki.Leaf leaf) throws Exception {
    return HttpClient.newBuilder().version(version).sslContext(clientTls(leaf)).connectTimeout(Duration.ofSeconds(5)).build();
  }

  /** TLS that trusts the test CA and presents {@code leaf}, or no certificate when it is {@code null}. */
  private static SSLContext clientTls(Pki.Leaf leaf) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    try (InputStream in = Files.newInputStream(pki.caFile())) {
      trust.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    KeyManager[] keys = leaf == null ? null : new KeyManager[] {new Presenting(leaf)};
    SSLContext ssl = SSLContext.getInstance("TLS");
    ssl.init(keys, tmf.getTrustManagers(), null);
    return ssl;
  }

  /** Always offers its one certificate. */
  private static final class Presenting extends X509ExtendedKeyManager {
    private final X509Certificate[] chain;
    private final PrivateKey key;

    Presenting(Pki.Leaf leaf) throws Exception {
      this.chain = new X509Certificate[] {leaf.certificate};
      this.key = PemKeys.privateKey(leaf.pkcs8File(), null);
    }

    @Override
    public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
      return "me";
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
      return "me";
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      return new String[] {"me"};
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      return chain.clone();
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      return key;
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      return null;
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return null;
    }
  }

  private static HttpResponse<String> get(HttpClient.Version version, Pki.Leaf leaf, int port, String path) throws Exception {
    return get(version, leaf, port, path, null);
  }

  private static HttpResponse<String> get(HttpClient.Version version, Pki.Leaf leaf, int port, String path, String apiKey)
      throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("https://localhost:" + port + path));
    if (apiKey != null) {
      b.header("X-Api-Key", apiKey);
    }
    HttpResponse<String> r = client(version, leaf).send(b.build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.version()).as("the protocol ALPN chose").isEqualTo(version);
    return r;
  }

  /** A path no other request uses, to look for in the upstream's log. */
  private static String marked(String route) {
    return "/" + route + "/" + UUID.randomUUID();
  }

  /** The unique part of a {@link #marked} path: what the upstream's log shows whether the prefix is stripped or not. */
  private static String mark(String path) {
    return path.substring(path.lastIndexOf('/') + 1);
  }

  /**
   * The upstream's access log once {@code path} (relayed last) is in it: a request relayed before it has
   * been logged by then too (nginx serves and logs one request after another on its one worker).
   */
  private static String upstreamLogThrough(String path) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (true) {
      String log = Files.exists(upstreamLog) ? Files.readString(upstreamLog) : "";
      if (log.contains(mark(path)) || System.nanoTime() > deadline) {
        return log;
      }
      Thread.sleep(20);
    }
  }

  private static void assertRefusal(HttpResponse<String> r, int status, String error) throws Exception {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
    assertThat(JSON.readTree(r.body()).get("error").asText()).isEqualTo(error);
    assertThat(r.body())
        .doesNotContain(TOKEN).doesNotContain("billing").doesNotContain("ops").doesNotContain("CN=")
        .doesNotContain("sha256").doesNotContain("stranger").hasSizeLessThan(120);
  }

  @ParameterizedTest
  @EnumSource(HttpClient.Version.class)
  void anAllowedCertificateIsRelayedWithTheRouteToken(HttpClient.Version version) throws Exception {
    String bySubject = marked("open");
    String byPin = marked("open");

    HttpResponse<String> billingCaller = get(version, billing, port, bySubject);
    HttpResponse<String> opsCaller = get(version, ops, port, byPin);

    assertThat(billingCaller.statusCode()).as(billingCaller.body()).isEqualTo(200);
    assertThat(billingCaller.body()).contains("auth=Bearer " + TOKEN);
    assertThat(opsCaller.statusCode()).as(opsCaller.body()).isEqualTo(200);
    assertThat(upstreamLogThrough(byPin)).contains(mark(bySubject), mark(byPin));
  }

  @ParameterizedTest
  @EnumSource(HttpClient.Version.class)
  void anUnlistedCertificateFromTheSameCaGets403AndNoCertificateGets401(HttpClient.Version version) throws Exception {
    String unlisted = marked("open");
    String none = marked("open");
    String after = marked("open");

    assertRefusal(get(version, stranger, port, unlisted), 403, "forbidden");
    HttpResponse<String> anonymous = get(version, null, port, none);
    assertRefusal(anonymous, 401, "unauthorized");
    assertThat(get(version, billing, port, after).statusCode()).isEqualTo(200);

    String log = upstreamLogThrough(after);
    assertThat(log).contains(mark(after));
    assertThat(log).as("refused requests never reach the upstream")
        .doesNotContain(mark(unlisted)).doesNotContain(mark(none));
  }

  @ParameterizedTest
  @EnumSource(HttpClient.Version.class)
  void aRouteCallersListAdmitsOnlyTheCertificatesItNames(HttpClient.Version version) throws Exception {
    String billingOnOps = marked("ops");
    String opsOnBilling = marked("billing");
    String billingOnBilling = marked("billing");
    String opsOnOps = marked("ops");

    assertRefusal(get(version, billing, port, billingOnOps), 403, "forbidden");
    assertRefusal(get(version, ops, port, opsOnBilling), 403, "forbidden");
    assertThat(get(version, billing, port, billingOnBilling).statusCode()).isEqualTo(200);
    HttpResponse<String> last = get(version, ops, port, opsOnOps);
    assertThat(last.statusCode()).isEqualTo(200);
    assertThat(last.body()).contains("auth=Bearer " + TOKEN);

    String log = upstreamLogThrough(opsOnOps);
    assertThat(log).contains(mark(billingOnBilling), mark(opsOnOps));
    assertThat(log).doesNotContain(mark(billingOnOps)).doesNotContain(mark(opsOnBilling));
  }

  @ParameterizedTest
  @EnumSource(HttpClient.Version.class)
  void aCertificateWithAnAllowedSubjectFromAnotherCaIsRefusedByTheHandshake(HttpClient.Version version) throws Exception {
    String path = marked("open");
    String after = marked("open");

    assertThatThrownBy(() -> get(version, billingFromAnotherCa, port, path)).isInstanceOf(IOException.class);
    assertThat(get(version, billing, port, after).statusCode()).as("the relay serves everyone else").isEqualTo(200);
    assertThat(upstreamLogThrough(after)).contains(mark(after)).doesNotContain(mark(path));
  }

  @Test
  void withApiKeysTooACallerNeedsBothTheCertificateAndTheKey() throws Exception {
    String key = "key-" + UUID.randomUUID();
    Started withKeys =
        startRelay("{ \"certificates\": " + CERTIFICATES + ", \"apiKeys\": [ { \"name\": \"deploy\", \"key\": \"${DEPLOY_KEY}\" } ] }",
            Map.of("DEPLOY_KEY", key));
    ownRelays.add(withKeys.relay());
    int both = withKeys.port();
    HttpClient.Version h2 = HttpClient.Version.HTTP_2;
    String certificateOnly = marked("open");
    String keyOnly = marked("open");
    String strangerWithKey = marked("open");
    String allowed = marked("open");

    HttpResponse<String> noKey = get(h2, billing, both, certificateOnly);
    assertRefusal(noKey, 401, "unauthorized");
    assertThat(noKey.headers().firstValue("WWW-Authenticate")).hasValue("ApiKey header=\"X-Api-Key\"");
    assertRefusal(get(h2, null, both, keyOnly, key), 401, "unauthorized");
    assertRefusal(get(h2, stranger, both, strangerWithKey, key), 403, "forbidden");
    assertThat(get(h2, billing, both, allowed, key).statusCode()).isEqualTo(200);
    assertThat(get(h2, billing, both, marked("billing"), key).statusCode())
        .as("the certificate's name is listed, the key's is not: admitted").isEqualTo(200);
    assertThat(get(h2, ops, both, marked("billing"), key).statusCode()).isEqualTo(403);

    String log = upstreamLogThrough(allowed);
    assertThat(log).contains(mark(allowed));
    for (String refused : List.of(certificateOnly, keyOnly, strangerWithKey)) {
      assertThat(log).doesNotContain(mark(refused));
    }
  }

  @Test
  void anHttpsCallerDribblingARequestHeadIsCutOff() throws Exception {
    Started strict = startRelay("{ \"certificates\": " + CERTIFICATES + " }", Map.of(), "\"requestHeaderTimeoutSeconds\": 1,");
    ownRelays.add(strict.relay());
    SSLContext ssl = clientTls(billing);
    try (javax.net.ssl.SSLSocket s = (javax.net.ssl.SSLSocket) ssl.getSocketFactory().createSocket("127.0.0.1", strict.port())) {
      s.setSoTimeout(10_000);
      s.startHandshake();
      s.getOutputStream().write("GET /open/x HTTP/1.1\r\nHost: localhost\r\n".getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush(); // and never the end

      assertThat(s.getInputStream().read()).as("closed by the relay, no answer").isEqualTo(-1);
    }
  }
}
