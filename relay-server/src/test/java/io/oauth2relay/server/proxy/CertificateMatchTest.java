package io.oauth2relay.server.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.oauth2relay.server.config.OpsSpec;
import io.oauth2relay.server.config.Template;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.Test;

/**
 * Specifies which {@code inbound.certificates} entries a client certificate satisfies: by subject (in
 * canonical form), by SPKI pin (which survives re-issuance with the same key), or by both, and which routes
 * the caller may use then. Whether the certificate chains to {@code tls.clientCa} is the handshake's job
 * (see {@code CertificateCallersIT}); these certificates are self-signed.
 */
class CertificateMatchTest {
  private static final KeyPair OPS_KEYS = keys();
  private static final KeyPair BOTH_KEYS = keys();

  private final CallerAuth auth =
      new CallerAuth(
          new OpsSpec.Inbound(
              "X-Api-Key", List.of(new OpsSpec.ApiKey("legacy", Template.literal("key-legacy"))), List.of(),
              List.of(
                  new OpsSpec.Certificate("billing", new X500Principal("CN=billing,O=Example"), null),
                  new OpsSpec.Certificate("ops", null, pin(OPS_KEYS)),
                  new OpsSpec.Certificate("both", new X500Principal("CN=both"), pin(BOTH_KEYS)))),
          Map.of("crm", Set.of("ops"), "billing", Set.of("billing", "legacy")));

  private static KeyPair keys() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(256);
      return g.generateKeyPair();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** RFC 7469's pin: SHA-256 over the DER SubjectPublicKeyInfo. */
  private static byte[] pin(KeyPair keys) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(keys.getPublic().getEncoded());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static X509Certificate certificate(String subject, KeyPair keys) throws Exception {
    X500Principal name = new X500Principal(subject);
    Instant now = Instant.now();
    return new JcaX509CertificateConverter()
        .getCertificate(
            new JcaX509v3CertificateBuilder(
                    name, BigInteger.valueOf(System.nanoTime()), Date.from(now.minusSeconds(60)),
                    Date.from(now.plusSeconds(3600)), name, keys.getPublic())
                .build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate())));
  }

  @Test
  void aSubjectMatchesInCanonicalFormWhateverTheKey() throws Exception {
    assertThat(auth.matchCertificate(certificate("CN=billing,O=Example", keys()))).containsExactly("billing");
    assertThat(auth.matchCertificate(certificate("cn=Billing, o=example", keys()))).containsExactly("billing");
    assertThat(auth.matchCertificate(certificate("CN=billing,O=Other", keys()))).isEmpty();
    assertThat(auth.matchCertificate(certificate("CN=billing", keys()))).as("one RDN short").isEmpty();
  }

  @Test
  void aPinMatchesTheKeyWhateverTheSubjectSoItSurvivesReissuance() throws Exception {
    assertThat(auth.matchCertificate(certificate("CN=ops", OPS_KEYS))).containsExactly("ops");
    assertThat(auth.matchCertificate(certificate("CN=ops-renewed,O=Elsewhere", OPS_KEYS))).containsExactly("ops");
    assertThat(auth.matchCertificate(certificate("CN=ops", keys()))).as("same subject, new key").isEmpty();
  }

  @Test
  void anEntryWithBothNeedsBoth() throws Exception {
    assertThat(auth.matchCertificate(certificate("CN=both", BOTH_KEYS))).containsExactly("both");
    assertThat(auth.matchCertificate(certificate("CN=both", keys()))).isEmpty();
    assertThat(auth.matchCertificate(certificate("CN=not-both", BOTH_KEYS))).isEmpty();
  }

  @Test
  void aCertificateSatisfyingSeveralEntriesIsEachOfThoseCallers() throws Exception {
    assertThat(auth.matchCertificate(certificate("CN=billing,O=Example", OPS_KEYS))).containsExactly("billing", "ops");
  }

  @Test
  void aRouteAdmitsTheCertificatesOrTheKeysItNames() {
    assertThat(auth.mayUse(CallerAuth.NO_KEY, List.of("ops"), "crm")).isTrue();
    assertThat(auth.mayUse(CallerAuth.NO_KEY, List.of("billing"), "crm")).isFalse();
    assertThat(auth.mayUse(CallerAuth.NO_KEY, List.of("billing", "ops"), "crm")).isTrue();
    assertThat(auth.mayUse(0, List.of("ops"), "billing")).as("the key's name is listed").isTrue();
    assertThat(auth.mayUse(0, List.of("both"), "crm")).isFalse();
    assertThat(auth.mayUse(CallerAuth.NO_KEY, List.of("both"), "open")).as("a route without callers").isTrue();
    assertThat(auth.requiresCertificate()).isTrue();
    assertThat(auth.requiresKey()).isTrue();
    assertThat(new CallerAuth(OpsSpec.Inbound.NONE).requiresCertificate()).isFalse();
  }
}
