package io.oauth2relay.server.token;

import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.RSAKey;
import io.oauth2relay.server.internal.PemKeys;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * Reads private keys (PEM through {@link PemKeys}: PKCS#1 {@code RSA PRIVATE KEY}, SEC1 {@code EC PRIVATE KEY},
 * PKCS#8 {@code PRIVATE KEY}; or a JWK) and PEM certificate chains for token calls. Messages name the file,
 * never its content.
 */
final class PemFiles {
  private PemFiles() {}

  static PrivateKey privateKey(Path file) throws TokenFetchException {
    if (isJwk(file)) {
      return jwkPrivateKey(file);
    }
    try {
      return PemKeys.privateKey(file, null); // the listener's and origins' PEM reader: one for all
    } catch (java.security.GeneralSecurityException e) {
      throw new TokenFetchException(e.getMessage(), TokenFetchException.Kind.REJECTED, -1, null);
    }
  }

  /** A JSON Web Key (RFC 7517) file holds a JSON object rather than PEM armour. */
  private static boolean isJwk(Path file) throws TokenFetchException {
    try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      for (int c; (c = in.read()) >= 0; ) {
        if (!Character.isWhitespace(c)) {
          return c == '{';
        }
      }
      return false;
    } catch (IOException e) {
      throw new TokenFetchException(
          "cannot read the private key " + file + " (" + e.getClass().getSimpleName() + ")",
          TokenFetchException.Kind.REJECTED, -1, null);
    }
  }

  private static PrivateKey jwkPrivateKey(Path file) throws TokenFetchException {
    try {
      // Nimbus parses from a String: this copy of the key cannot be zeroed and lives until GC.
      JWK jwk = JWK.parse(Files.readString(file, StandardCharsets.UTF_8));
      if (jwk instanceof RSAKey rsa && rsa.isPrivate()) {
        return rsa.toPrivateKey();
      }
      if (jwk instanceof ECKey ec && ec.isPrivate()) {
        return ec.toPrivateKey();
      }
    } catch (IOException | java.text.ParseException | com.nimbusds.jose.JOSEException e) {
      throw new TokenFetchException(
          "cannot read the JWK private key " + file + " (" + e.getClass().getSimpleName() + ")",
          TokenFetchException.Kind.REJECTED, -1, null);
    }
    throw new TokenFetchException(
        "no RSA or EC private key in the JWK " + file, TokenFetchException.Kind.REJECTED, -1, null);
  }

  static List<X509Certificate> certificates(Path file) throws TokenFetchException {
    try {
      return List.of(PemKeys.certificates(file));
    } catch (java.security.GeneralSecurityException e) {
      throw new TokenFetchException(e.getMessage(), TokenFetchException.Kind.REJECTED, -1, null);
    }
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
