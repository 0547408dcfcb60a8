package io.oauth2relay.server.token;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.SignedJWT;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Clock;
import java.util.Base64;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Keys for private_key_jwt in every accepted format, and the client assertions signed with them. */
class ClientAuthenticationTest {
  @TempDir Path dir;

  private static KeyPair rsa() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    return g.generateKeyPair();
  }

  private static KeyPair ec() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(256);
    return g.generateKeyPair();
  }

  /** PKCS#1 ("RSA PRIVATE KEY"), as openssl writes RSA keys traditionally. */
  private Path traditionalPem(KeyPair keys) throws Exception {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter pem = new JcaPEMWriter(out)) {
      pem.writeObject(keys);
    }
    return Files.writeString(dir.resolve("traditional.pem"), out.toString());
  }

  /** SEC1 with its curve named, as {@code openssl ecparam -genkey} writes it. */
  private Path sec1Pem(KeyPair keys) throws Exception {
    PrivateKeyInfo info = PrivateKeyInfo.getInstance(keys.getPrivate().getEncoded());
    org.bouncycastle.asn1.sec.ECPrivateKey inner = org.bouncycastle.asn1.sec.ECPrivateKey.getInstance(info.parsePrivateKey());
    org.bouncycastle.asn1.sec.ECPrivateKey sec1 =
        new org.bouncycastle.asn1.sec.ECPrivateKey(256, inner.getKey(), info.getPrivateKeyAlgorithm().getParameters());
    return Files.writeString(
        dir.resolve("sec1.pem"),
        "-----BEGIN EC PRIVATE KEY-----\n" + Base64.getMimeEncoder().encodeToString(sec1.getEncoded()) + "\n-----END EC PRIVATE KEY-----\n");
  }

  private Path pkcs8Pem(KeyPair keys) throws Exception {
    return Files.writeString(
        dir.resolve("pkcs8.pem"),
        "-----BEGIN PRIVATE KEY-----\n"
            + Base64.getMimeEncoder().encodeToString(keys.getPrivate().getEncoded())
            + "\n-----END PRIVATE KEY-----\n");
  }

  @Test
  void readsPkcs8AndPkcs1RsaKeys() throws Exception {
    KeyPair keys = rsa();

    assertThat(PemFiles.privateKey(pkcs8Pem(keys)).getEncoded()).isEqualTo(keys.getPrivate().getEncoded());
    assertThat(Files.readString(traditionalPem(keys))).contains("BEGIN RSA PRIVATE KEY");
    assertThat(PemFiles.privateKey(traditionalPem(keys)).getEncoded()).isEqualTo(keys.getPrivate().getEncoded());
  }

  @Test
  void readsSec1EcKeysAndJwks() throws Exception {
    KeyPair ecKeys = ec();
    KeyPair rsaKeys = rsa();
    Path jwk =
        Files.writeString(
            dir.resolve("key.jwk"),
            new RSAKey.Builder((RSAPublicKey) rsaKeys.getPublic()).privateKey(rsaKeys.getPrivate()).build().toJSONString());

    assertThat(((java.security.interfaces.ECPrivateKey) PemFiles.privateKey(sec1Pem(ecKeys))).getS())
        .isEqualTo(((java.security.interfaces.ECPrivateKey) ecKeys.getPrivate()).getS());
    assertThat(PemFiles.privateKey(jwk).getEncoded()).isEqualTo(rsaKeys.getPrivate().getEncoded());
  }

  @Test
  void anUnusableKeyFileIsNamedButItsContentIsNot() throws Exception {
    Path bad = Files.writeString(dir.resolve("bad.pem"), "-----BEGIN PRIVATE KEY-----\nCANARYCANARY\n-----END PRIVATE KEY-----\n");

    assertThatThrownBy(() -> PemFiles.privateKey(bad))
        .hasMessageContaining("bad.pem")
        .hasMessageNotContaining("CANARY");
  }

  @Test
  void aClientAssertionIsSignedForTheClientAndTheTokenEndpointAndExpiresSoon() throws Exception {
    KeyPair keys = rsa();
    ClientAssertions assertions = new ClientAssertions(keys.getPrivate(), "kid-1", Clock.systemUTC());

    SignedJWT jwt = SignedJWT.parse(assertions.sign("relay-client", "https://idp.example/token"));

    assertThat(jwt.verify(new RSASSAVerifier((RSAPublicKey) keys.getPublic()))).isTrue();
    assertThat(jwt.getHeader().getKeyID()).isEqualTo("kid-1");
    assertThat(jwt.getJWTClaimsSet().getIssuer()).isEqualTo("relay-client");
    assertThat(jwt.getJWTClaimsSet().getSubject()).isEqualTo("relay-client");
    assertThat(jwt.getJWTClaimsSet().getAudience()).containsExactly("https://idp.example/token");
    assertThat(jwt.getJWTClaimsSet().getExpirationTime().getTime() - jwt.getJWTClaimsSet().getIssueTime().getTime())
        .isEqualTo(60_000);
  }

  @Test
  void everyAssertionHasItsOwnJwtIdAndEcKeysSignWithEs256() throws Exception {
    KeyPair keys = ec();
    ClientAssertions assertions = new ClientAssertions(keys.getPrivate(), null, Clock.systemUTC());

    SignedJWT first = SignedJWT.parse(assertions.sign("c", "https://idp.example/token"));
    SignedJWT second = SignedJWT.parse(assertions.sign("c", "https://idp.example/token"));

    assertThat(first.verify(new ECDSAVerifier((ECPublicKey) keys.getPublic()))).isTrue();
    assertThat(first.getHeader().getAlgorithm().getName()).isEqualTo("ES256");
    assertThat(first.getJWTClaimsSet().getJWTID()).isNotEqualTo(second.getJWTClaimsSet().getJWTID());
  }
}
