package io.oauth2relay.server.proxy;

/**
 * Told about each caller connection and each finished exchange (metrics, the access log). Called on the
 * connection's event loop: implementations must be quick, must not block and must not throw.
 */
public interface TrafficListener {
  default void connectionOpened() {}

  default void connectionClosed() {}

  /**
   * One request has been answered (or abandoned).
   *
   * @param route the name of the route that took the request, or {@code -} when none did (no route for
   *     its path, or a request too malformed to route)
   * @param method the request method
   * @param target the request target as received (may hold sensitive query values: mask before logging)
   * @param status the response status, or 0 when the connection ended before a response was complete
   * @param nanos from the request head's arrival to the last response byte handed to the transport
   * @param bytes response body bytes
   */
  default void exchangeFinished(String route, String method, String target, int status, long nanos, long bytes) {}
}
