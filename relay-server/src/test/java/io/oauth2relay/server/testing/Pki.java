package io.oauth2relay.server.testing;

import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaMiscPEMGenerator;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8EncryptorBuilder;
import org.bouncycastle.operator.OutputEncryptor;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.openssl.PKCS8Generator;

/**
 * A small certificate authority made at test time with BouncyCastle: a root, and leaf certificates for
 * servers (with subject alternative names) and clients, written as the PEM files a user would configure.
 */
public final class Pki {
  private final KeyPair caKeys;
  private final X509Certificate ca;
  private final Path dir;

  /** A new root CA whose files go to {@code dir}. */
  public Pki(Path dir) throws Exception {
    this.dir = dir;
    this.caKeys = rsa();
    this.ca = sign(new X500Name("CN=oauth2relay test CA"), caKeys, caKeys.getPrivate(), new X500Name("CN=oauth2relay test CA"), true, List.of());
  }

  /** The CA certificate, as a PEM file. */
  public Path caFile() throws Exception {
    return write("ca.pem", pem(ca));
  }

  /** A leaf issued by this CA; {@code sans} are {@code ip:} or {@code dns:} entries. */
  public Leaf issue(String name, String... sans) throws Exception {
    KeyPair keys = rsa();
    List<GeneralName> names = new ArrayList<>();
    for (String san : sans) {
      names.add(
          san.startsWith("ip:")
              ? new GeneralName(GeneralName.iPAddress, san.substring(3))
              : new GeneralName(GeneralName.dNSName, san.substring(4)));
    }
    X509Certificate cert = sign(new X500Name("CN=" + name), keys, caKeys.getPrivate(), new X500Name("CN=oauth2relay test CA"), false, names);
    return new Leaf(name, cert, keys.getPrivate());
  }

  /** A leaf certificate with its key, writable in the PEM key formats users have. */
  public final class Leaf {
    final String name;
    public final X509Certificate certificate;
    final PrivateKey key;

    Leaf(String name, X509Certificate certificate, PrivateKey key) {
      this.name = name;
      this.certificate = certificate;
      this.key = key;
    }

    /** The certificate chain (leaf, then CA) as PEM. */
    public Path chainFile() throws Exception {
      return write(name + "-chain.pem", pem(certificate) + pem(ca));
    }

    /** The key as PKCS#8 ({@code BEGIN PRIVATE KEY}). */
    public Path pkcs8File() throws Exception {
      return write(name + "-pkcs8.pem", pem(new JcaPKCS8Generator(key, null).generate()));
    }

    /** The key as PKCS#1 ({@code BEGIN RSA PRIVATE KEY}), as OpenSSL's traditional format writes it. */
    public Path pkcs1File() throws Exception {
      return write(name + "-pkcs1.pem", pem(new JcaMiscPEMGenerator(key).generate()));
    }

    /** The key as encrypted PKCS#8 ({@code BEGIN ENCRYPTED PRIVATE KEY}, AES-256-CBC, PBKDF2). */
    public Path encryptedPkcs8File(String password) throws Exception {
      OutputEncryptor encryptor =
          new JceOpenSSLPKCS8EncryptorBuilder(PKCS8Generator.AES_256_CBC)
              .setProvider(new org.bouncycastle.jce.provider.BouncyCastleProvider())
              .setRandom(new SecureRandom())
              .setPassword(password.toCharArray())
              .build();
      return write(name + "-pkcs8-encrypted.pem", pem(new JcaPKCS8Generator(key, encryptor).generate()));
    }
  }

  private Path write(String file, String content) throws Exception {
    return Files.writeString(dir.resolve(file), content);
  }

  private static String pem(Object o) throws Exception {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(out)) {
      w.writeObject(o);
    }
    return out.toString();
  }

  private static KeyPair rsa() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    return g.generateKeyPair();
  }

  private static X509Certificate sign(
      X500Name subject, KeyPair keys, PrivateKey issuerKey, X500Name issuer, boolean isCa, List<GeneralName> sans)
      throws Exception {
    Instant now = Instant.now();
    JcaX509v3CertificateBuilder b =
        new JcaX509v3CertificateBuilder(
            issuer,
            BigInteger.valueOf(now.toEpochMilli()).add(BigInteger.valueOf(new SecureRandom().nextInt(1 << 20))),
            Date.from(now.minus(Duration.ofMinutes(5))),
            Date.from(now.plus(Duration.ofDays(2))),
            subject,
            keys.getPublic());
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(isCa));
    if (isCa) {
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
    } else {
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
    }
    if (!sans.isEmpty()) {
      b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans.toArray(new GeneralName[0])));
    }
    return new JcaX509CertificateConverter()
        .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withRSA").build(issuerKey)));
  }
}
