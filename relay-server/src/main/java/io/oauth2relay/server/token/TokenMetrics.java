package io.oauth2relay.server.token;

/**
 * Hooks for token metrics (the admin endpoint's Prometheus registry plugs in here). Called on the
 * token-fetch thread; implementations must be quick and must not throw. Labels are fixed words, never
 * values from a request or a response.
 */
public interface TokenMetrics {
  /** Records nothing. */
  TokenMetrics NONE = new TokenMetrics() {};

  /**
   * A token call succeeded.
   *
   * @param call {@code login} or {@code refresh}
   * @param nanos how long the call took
   */
  default void fetched(String call, long nanos) {}

  /**
   * A token call failed.
   *
   * @param call {@code login} or {@code refresh}
   * @param failureClass {@code transient} (outage-like, retried soon) or {@code rejected} (credentials or
   *     grant refused, retried after {@code token.rejectedRetry})
   * @param nanos how long the call took
   */
  default void failed(String call, String failureClass, long nanos) {}
}
