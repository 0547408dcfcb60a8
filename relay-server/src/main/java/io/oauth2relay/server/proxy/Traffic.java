package io.oauth2relay.server.proxy;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the relay's caller connections are doing right now (open connections, requests in flight), shared
 * by every connection's {@link ConnectionCounter} and {@link ExchangeObserver}, and the listeners told about each exchange. The counts
 * drive the graceful drain at shutdown and the {@code open connections} metric.
 */
public final class Traffic {
  private final AtomicInteger open = new AtomicInteger();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final List<TrafficListener> listeners;

  public Traffic(List<TrafficListener> listeners) {
    this.listeners = List.copyOf(listeners);
  }

  /** Caller connections currently open. */
  public int openConnections() {
    return open.get();
  }

  /** Requests received and not yet completely answered. */
  public int inFlight() {
    return inFlight.get();
  }

  void opened() {
    open.incrementAndGet();
    for (TrafficListener l : listeners) {
      l.connectionOpened();
    }
  }

  void closed() {
    open.decrementAndGet();
    for (TrafficListener l : listeners) {
      l.connectionClosed();
    }
  }

  void started() {
    inFlight.incrementAndGet();
  }

  void finished(String route, String method, String target, int status, long nanos, long bytes) {
    inFlight.decrementAndGet();
    for (TrafficListener l : listeners) {
      try {
        l.exchangeFinished(route, method, target, status, nanos, bytes);
      } catch (RuntimeException e) {
        // A listener's failure must not break the exchange; its message is not ours to repeat.
      }
    }
  }
}
