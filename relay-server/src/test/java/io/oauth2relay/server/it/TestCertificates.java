package io.oauth2relay.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * Self-signed server certificates made at test time with the JDK's own {@code keytool}, and a trust
 * store holding them, so that HTTPS upstreams can be tested on loopback with real TLS.
 */
final class TestCertificates {
  static final String PASSWORD = "changeit";

  private TestCertificates() {}

  /** A PKCS#12 key store at {@code dir/name.p12} with a certificate for the given subject alternative names. */
  static Path keyStore(Path dir, String name, String san) throws Exception {
    Path ks = dir.resolve(name + ".p12");
    keytool("-genkeypair", "-alias", name, "-keyalg", "EC", "-groupname", "secp256r1", "-validity", "2",
        "-dname", "CN=" + name, "-ext", "san=" + san, "-keystore", ks.toString(), "-storetype", "PKCS12",
        "-storepass", PASSWORD, "-keypass", PASSWORD);
    return ks;
  }

  /** A PKCS#12 trust store at {@code dir/trust.p12} trusting the certificate in each key store. */
  static Path trustStore(Path dir, Path... keyStores) throws Exception {
    Path trust = dir.resolve("trust.p12");
    for (Path ks : keyStores) {
      Path cert = dir.resolve(ks.getFileName() + ".crt");
      String alias = ks.getFileName().toString().replace(".p12", "");
      keytool("-exportcert", "-alias", alias, "-keystore", ks.toString(), "-storepass", PASSWORD, "-file", cert.toString());
      keytool("-importcert", "-noprompt", "-alias", alias, "-file", cert.toString(), "-keystore", trust.toString(),
          "-storetype", "PKCS12", "-storepass", PASSWORD);
    }
    return trust;
  }

  static SSLContext serverContext(Path keyStore) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(keyStore)) {
      ks.load(in, PASSWORD.toCharArray());
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, PASSWORD.toCharArray());
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), null, null);
    return ctx;
  }

  private static void keytool(String... args) throws Exception {
    List<String> command = new java.util.ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as("keytool %s: %s", args[0], out).isZero();
  }
}
