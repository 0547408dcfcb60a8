package io.oauth2relay.server.internal;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8DecryptorProviderBuilder;
import org.bouncycastle.openssl.jcajce.JcePEMDecryptorProviderBuilder;
import org.bouncycastle.operator.InputDecryptorProvider;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

/**
 * PEM keys and certificates for the TLS of the listener and of origin connections, read with
 * BouncyCastle: {@code RSA PRIVATE KEY} (PKCS#1), {@code EC PRIVATE KEY} (SEC1), {@code PRIVATE KEY}
 * (PKCS#8), {@code ENCRYPTED PRIVATE KEY} (encrypted PKCS#8) and OpenSSL's legacy encrypted PEM. Messages
 * name the file and what was wrong with it, never any of its content or the password.
 */
public final class PemKeys {
  /** Not registered with the JCA: used for decrypting keys only, so the JDK's providers stay the default. */
  private static final BouncyCastleProvider BC = new BouncyCastleProvider();

  private PemKeys() {}

  /**
   * The private key in {@code file}.
   *
   * @param password for an encrypted key; {@code null} or empty for none. Not kept, not zeroed here: the
   *     caller owns it
   */
  public static PrivateKey privateKey(Path file, char[] password) throws GeneralSecurityException {
    try (Reader in = Files.newBufferedReader(file, StandardCharsets.US_ASCII);
        PEMParser pem = new PEMParser(in)) {
      JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
      for (Object o; (o = pem.readObject()) != null; ) {
        if (o instanceof PEMKeyPair pair) {
          return converter.getPrivateKey(pair.getPrivateKeyInfo());
        }
        if (o instanceof PrivateKeyInfo info) {
          return converter.getPrivateKey(info);
        }
        if (o instanceof PKCS8EncryptedPrivateKeyInfo encrypted) {
          InputDecryptorProvider decryptor =
              new JceOpenSSLPKCS8DecryptorProviderBuilder().setProvider(BC).build(requirePassword(file, password));
          return converter.getPrivateKey(encrypted.decryptPrivateKeyInfo(decryptor));
        }
        if (o instanceof PEMEncryptedKeyPair legacy) {
          return converter.getPrivateKey(
              legacy
                  .decryptKeyPair(new JcePEMDecryptorProviderBuilder().setProvider(BC).build(requirePassword(file, password)))
                  .getPrivateKeyInfo());
        }
      }
    } catch (GeneralSecurityException e) {
      throw e;
    } catch (Exception e) {
      // BouncyCastle's messages say "wrong password" or quote no content; keep only the exception kind.
      throw new GeneralSecurityException(
          "cannot read the private key " + file + " (" + e.getClass().getSimpleName() + ": wrong password or not a key)");
    }
    throw new GeneralSecurityException("no private key in " + file);
  }

  private static char[] requirePassword(Path file, char[] password) throws GeneralSecurityException {
    if (password == null || password.length == 0) {
      throw new GeneralSecurityException("the private key " + file + " is encrypted and no password is configured");
    }
    return password;
  }

  /** The certificates in {@code file}, in file order (a chain: leaf first). */
  public static X509Certificate[] certificates(Path file) throws GeneralSecurityException {
    List<X509Certificate> chain = new ArrayList<>();
    try (Reader in = Files.newBufferedReader(file, StandardCharsets.US_ASCII);
        PEMParser pem = new PEMParser(in)) {
      JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
      for (Object o; (o = pem.readObject()) != null; ) {
        if (o instanceof X509CertificateHolder holder) {
          chain.add(converter.getCertificate(holder));
        }
      }
    } catch (IOException | RuntimeException e) {
      throw new GeneralSecurityException("cannot read the certificates in " + file + " (" + e.getClass().getSimpleName() + ")");
    }
    if (chain.isEmpty()) {
      throw new GeneralSecurityException("no certificate in " + file);
    }
    return chain.toArray(new X509Certificate[0]);
  }
}
