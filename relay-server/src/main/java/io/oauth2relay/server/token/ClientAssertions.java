package io.oauth2relay.server.token;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.security.PrivateKey;
import java.security.interfaces.ECPrivateKey;
import java.time.Clock;
import java.util.Date;
import java.util.UUID;

/**
 * Signs {@code private_key_jwt} client assertions (RFC 7523 §2.2, OpenID Connect Core §9): issuer and
 * subject the client id, audience the token endpoint, a fresh {@code jti} and a one-minute lifetime, so an
 * intercepted assertion cannot be reused.
 */
final class ClientAssertions {
  static final String TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

  private final JWSSigner signer;
  private final JWSAlgorithm algorithm;
  private final String keyId;
  private final Clock clock;

  ClientAssertions(PrivateKey key, String keyId, Clock clock) throws TokenFetchException {
    this.keyId = keyId;
    this.clock = clock;
    try {
      if (key instanceof ECPrivateKey ec) {
        ECDSASigner ecdsa = new ECDSASigner(ec);
        this.signer = ecdsa;
        this.algorithm = ecdsa.supportedJWSAlgorithms().iterator().next();
      } else {
        this.signer = new RSASSASigner(key);
        this.algorithm = JWSAlgorithm.RS256;
      }
    } catch (JOSEException e) {
      throw new TokenFetchException("unsupported private key for private_key_jwt", TokenFetchException.Kind.REJECTED, -1, null);
    }
  }

  /** A new signed assertion for {@code clientId} addressed to {@code audience}. */
  String sign(String clientId, String audience) throws TokenFetchException {
    long now = clock.millis();
    JWTClaimsSet claims =
        new JWTClaimsSet.Builder()
            .issuer(clientId)
            .subject(clientId)
            .audience(audience)
            .jwtID(UUID.randomUUID().toString())
            .issueTime(new Date(now))
            .expirationTime(new Date(now + 60_000))
            .build();
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(algorithm).keyID(keyId).build(), claims);
    try {
      jwt.sign(signer);
    } catch (JOSEException e) {
      throw new TokenFetchException("cannot sign the client assertion (" + e.getClass().getSimpleName() + ")");
    }
    return jwt.serialize();
  }
}
