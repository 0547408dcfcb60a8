package io.oauth2relay.server.token;

/**
 * A login or refresh call failed. The message names the call, the HTTP status and the OAuth2 error code
 * when the provider gave one (RFC 6749 §5.2), never a request or response body.
 */
final class TokenFetchException extends Exception {
  private static final long serialVersionUID = 1L;

  /** What a failure means for the next attempt. */
  enum Kind {
    /** Outage-like (connection error, timeout, 5xx, 429, an empty or unusable 2xx): retry with back-off. */
    TRANSIENT,
    /** The provider refused what we sent (invalid_client, invalid_grant, other 4xx): retrying soon won't help. */
    REJECTED
  }

  private final Kind kind;
  private final long retryAfterMillis;

  TokenFetchException(String message) {
    this(message, Kind.TRANSIENT, -1, null);
  }

  TokenFetchException(String message, Throwable cause) {
    this(message, Kind.TRANSIENT, -1, cause);
  }

  /**
   * @param retryAfterMillis the provider's {@code Retry-After}, or -1
   * @param cause kept for its type only: messages of I/O exceptions do not carry request content
   */
  TokenFetchException(String message, Kind kind, long retryAfterMillis, Throwable cause) {
    super(message, cause, false, false);
    this.kind = kind;
    this.retryAfterMillis = retryAfterMillis;
  }

  Kind kind() {
    return kind;
  }

  long retryAfterMillis() {
    return retryAfterMillis;
  }
}
