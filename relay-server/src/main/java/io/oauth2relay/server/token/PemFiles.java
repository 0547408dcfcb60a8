package io.oauth2relay.server.token;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;

/**
 * Reads PEM private keys (PKCS#1 {@code RSA PRIVATE KEY}, SEC1 {@code EC PRIVATE KEY}, PKCS#8
 * {@code PRIVATE KEY}) and certificate chains with BouncyCastle, which the JDK alone cannot do for all of
 * them. Messages name the file, never its content.
 */
final class PemFiles {
  private PemFiles() {}

  static PrivateKey privateKey(Path file) throws TokenFetchException {
    try (Reader in = Files.newBufferedReader(file, StandardCharsets.US_ASCII);
        PEMParser pem = new PEMParser(in)) {
      JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
      for (Object o; (o = pem.readObject()) != null; ) {
        if (o instanceof PEMKeyPair pair) {
          return converter.getKeyPair(pair).getPrivate();
        }
        if (o instanceof PrivateKeyInfo info) {
          return converter.getPrivateKey(info);
        }
      }
    } catch (IOException | RuntimeException e) {
      throw new TokenFetchException(
          "cannot read the private key " + file + " (" + e.getClass().getSimpleName() + ")",
          TokenFetchException.Kind.REJECTED, -1, null);
    }
    throw new TokenFetchException(
        "no unencrypted private key in " + file, TokenFetchException.Kind.REJECTED, -1, null);
  }

  static List<X509Certificate> certificates(Path file) throws TokenFetchException {
    List<X509Certificate> chain = new ArrayList<>();
    try (Reader in = Files.newBufferedReader(file, StandardCharsets.US_ASCII);
        PEMParser pem = new PEMParser(in)) {
      JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
      for (Object o; (o = pem.readObject()) != null; ) {
        if (o instanceof X509CertificateHolder holder) {
          chain.add(converter.getCertificate(holder));
        }
      }
    } catch (IOException | java.security.cert.CertificateException | RuntimeException e) {
      throw new TokenFetchException(
          "cannot read the certificate " + file + " (" + e.getClass().getSimpleName() + ")",
          TokenFetchException.Kind.REJECTED, -1, null);
    }
    if (chain.isEmpty()) {
      throw new TokenFetchException("no certificate in " + file, TokenFetchException.Kind.REJECTED, -1, null);
    }
    return chain;
  }

  /** An SSLContext presenting {@code certificate} with {@code key} (RFC 8705 mutual TLS), default trust. */
  static SSLContext clientTls(Path certificate, Path key) throws TokenFetchException {
    try {
      // A password is required by the KeyStore API only; the store never leaves memory.
      char[] password = new char[] {'x'};
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      store.setKeyEntry("client", privateKey(key), password, certificates(certificate).toArray(new X509Certificate[0]));
      KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(store, password);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(kmf.getKeyManagers(), null, null);
      return ctx;
    } catch (java.security.GeneralSecurityException | IOException e) {
      throw new TokenFetchException(
          "cannot set up the TLS client certificate (" + e.getClass().getSimpleName() + ")",
          TokenFetchException.Kind.REJECTED, -1, null);
    }
  }
}
