package io.oauth2relay.server.proxy;

import io.netty.channel.ChannelPipeline;

/**
 * What runs on each caller connection besides {@link CallerHandler}: the connection count, the observer of
 * its exchanges (metrics, access log, in-flight count: {@link CallerHandler} tells it what it reads and
 * writes) and, when configured, caller authentication before it.
 *
 * <pre>
 *   ... -> observe (ConnectionCounter) -> authenticate (CallerAuthHandler, optional) -> relay (CallerHandler)
 * </pre>
 */
public final class InboundSteps {
  static final String OBSERVE = "observe";
  static final String AUTHENTICATE = "authenticate";

  /** No steps: the pipeline as {@link RelayServer} builds it on its own. */
  static final InboundSteps NONE = new InboundSteps(null, null, null);

  private final Traffic traffic;
  private final CallerAuth auth;
  private final Router router;

  /**
   * @param traffic shared counters and listeners, or {@code null} for no observation
   * @param auth caller authentication, or {@code null} for none
   * @param router the router {@link CallerHandler} uses: these steps run before it and ask it which route
   *     a request goes to (the route's name for observation, its {@code callers} for authorization)
   */
  public InboundSteps(Traffic traffic, CallerAuth auth, Router router) {
    this.traffic = traffic;
    this.auth = auth;
    this.router = router;
  }

  /** Adds the count of a caller connection at the end of {@code p}. Stays when the connection switches to HTTP/2. */
  void addConnectionObserver(ChannelPipeline p) {
    if (traffic != null) {
      p.addLast(OBSERVE, new ConnectionCounter(traffic));
    }
  }

  /**
   * The observer of one HTTP/1.1 connection's or HTTP/2 stream's exchanges, for its {@link CallerHandler};
   * {@code null} when nothing observes.
   */
  ExchangeObserver exchangeObserver(boolean stream) {
    return traffic == null ? null : new ExchangeObserver(traffic, router, stream);
  }

  /** Adds caller authentication at the end of {@code p}; called just before the relay handler is added. */
  void addAuthentication(ChannelPipeline p) {
    if (auth != null) {
      p.addLast(AUTHENTICATE, new CallerAuthHandler(auth, router));
    }
  }

  /** Adds the steps of one HTTP/2 stream before its relay handler (its exchange is observed, not counted as a connection). */
  void addStreamSteps(ChannelPipeline p) {
    addAuthentication(p);
  }
}
