package io.oauth2relay.server.config;

/**
 * Where a token response keeps each value: the seed's {@code parameters} of {@code login} and
 * {@code refresh}. Each entry is a field name or a dotted path into nested objects
 * ({@code data.token.value}); an empty entry means the response does not carry that value.
 */
public record ResponseMapping(
    String accessToken, String expiresIn, String expiresAt, String tokenType, String refreshToken) {

  /** The seed's own names: {@code AccessToken}, {@code ExpiresIn}, ... */
  public static final ResponseMapping SEED =
      new ResponseMapping("AccessToken", "ExpiresIn", "ExpiresAt", "TokenType", "RefreshToken");
}
