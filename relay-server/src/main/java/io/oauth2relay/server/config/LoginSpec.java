package io.oauth2relay.server.config;

import java.net.URI;

/**
 * The seed's {@code login} section: the call plus the credentials it may reference.
 *
 * @param call the login request
 * @param user {@code login.user}
 * @param password {@code login.password}
 * @param authstring {@code login.authstring}; when empty, {@code ${AUTHSTRING}} is base64(user:password)
 * @param initialRefreshToken {@code login.refreshtoken} (or {@code refresh.token}): a refresh token to start
 *     from instead of a login, empty when none
 * @param revocationUrl {@code login.revocationUrl}: the RFC 7009 revocation endpoint, or {@code null} (then
 *     the issuer's metadata may name one)
 */
public record LoginSpec(
    TokenCall call,
    Template user,
    Template password,
    Template authstring,
    Template initialRefreshToken,
    URI revocationUrl) {

  /** A login without a configured revocation endpoint. */
  public LoginSpec(TokenCall call, Template user, Template password, Template authstring, Template initialRefreshToken) {
    this(call, user, password, authstring, initialRefreshToken, null);
  }
}
