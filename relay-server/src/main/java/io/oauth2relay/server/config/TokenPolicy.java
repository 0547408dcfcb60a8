package io.oauth2relay.server.config;

import java.time.Duration;

/**
 * How tokens are kept fresh: the optional top-level {@code token} section.
 *
 * @param refreshAhead whether to renew in the background before expiry (otherwise a renewal waits for the
 *     first request that finds the token due)
 * @param refreshAt fraction of a token's lifetime after which it is renewed in the background (0 &lt; x &lt; 1)
 * @param jitter up to this fraction of the lifetime is taken off {@code refreshAt} at random, so that many
 *     relays started together do not renew together
 * @param expiryMargin the most a token is withheld before its expiry (short-lived tokens: a tenth of their
 *     lifetime), so no request carries a token that expires on its way
 * @param defaultLifetime assumed when a response gives no expiry and the token is no JWT
 * @param expiresInMillis whether {@code ExpiresIn} counts milliseconds rather than seconds
 * @param retryMin first back-off after a failed renewal
 * @param retryMax longest back-off (back-off doubles from {@code retryMin}, with full jitter)
 * @param rejectedRetry the wait after the provider rejected the client's credentials
 *     ({@code invalid_client}), which retrying sooner would not fix
 * @param replayLimit the largest request body kept for a replay after a 401 from the upstream; 0 disables
 *     replay
 * @param revokeOnShutdown whether to revoke the held token (RFC 7009) when the relay stops
 */
public record TokenPolicy(
    boolean refreshAhead,
    double refreshAt,
    double jitter,
    Duration expiryMargin,
    Duration defaultLifetime,
    boolean expiresInMillis,
    Duration retryMin,
    Duration retryMax,
    Duration rejectedRetry,
    int replayLimit,
    boolean revokeOnShutdown) {

  /** The defaults documented in docs/CONFIG.md. */
  public static final TokenPolicy DEFAULTS =
      new TokenPolicy(
          true,
          0.8,
          0.1,
          Duration.ofSeconds(30),
          Duration.ofHours(1),
          false,
          Duration.ofSeconds(1),
          Duration.ofSeconds(30),
          Duration.ofSeconds(60),
          64 * 1024,
          false);
}
