package io.oauth2relay.server.config;

/**
 * The runtime placeholders of the seed's config format. Unlike {@code ${ENV_VAR}} references, which are
 * resolved once at start-up, these are filled in each time a login, refresh or relayed request is built,
 * from the token values current at that moment.
 */
public enum Placeholder {
  /** {@code login.authstring} when set, else base64({@code user:password}). */
  AUTHSTRING,
  /** The refresh token currently held, empty when there is none. */
  REFRESHTOKEN,
  /** The access token currently held. */
  ACCESSTOKEN,
  /** The token type currently held ({@code Bearer} when the token endpoint gave none). */
  TOKENTYPE;

  static Placeholder byName(String name) {
    for (Placeholder p : values()) {
      if (p.name().equals(name)) {
        return p;
      }
    }
    return null;
  }
}
