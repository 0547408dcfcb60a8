package io.oauth2relay.server.token;

/**
 * A login or refresh call failed. The message names the call, the HTTP status and the OAuth2 error code
 * when the provider gave one (RFC 6749 §5.2), never a request or response body.
 */
final class TokenFetchException extends Exception {
  private static final long serialVersionUID = 1L;

  TokenFetchException(String message) {
    super(message, null, false, false);
  }

  TokenFetchException(String message, Throwable cause) {
    // The cause is kept for its type only: messages of I/O exceptions do not carry request content.
    super(message, cause, false, false);
  }
}
