package io.oauth2relay.server.token;

/**
 * No usable token can be had now. The message says why in terms safe to show (never a token or a secret);
 * {@link #retryAfterSeconds()} is when a caller may try again.
 */
public final class TokenUnavailableException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final long retryAfterSeconds;

  TokenUnavailableException(String message, long retryAfterSeconds, Throwable cause) {
    super(message, cause, false, false);
    this.retryAfterSeconds = Math.max(1, retryAfterSeconds);
  }

  /** Seconds a caller should wait before trying again (at least 1). */
  public long retryAfterSeconds() {
    return retryAfterSeconds;
  }
}
