package io.oauth2relay.server.proxy;

import io.netty.channel.ChannelPipeline;

/**
 * Handlers that run on each caller connection before {@link CallerHandler}: observe (metrics, access log,
 * in-flight count) and, when configured, authenticate the caller.
 *
 * <pre>
 *   ... -> observe (ExchangeObserver) -> authenticate (CallerAuthHandler, optional) -> relay (CallerHandler)
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

  /**
   * Adds the observer of a caller connection at the end of {@code p}: it counts the connection and, on
   * HTTP/1.1, sees each exchange. Stays when the connection switches to HTTP/2.
   */
  void addConnectionObserver(ChannelPipeline p) {
    if (traffic != null) {
      p.addLast(OBSERVE, new ExchangeObserver(traffic, router, true));
    }
  }

  /** Adds caller authentication at the end of {@code p}; called just before the relay handler is added. */
  void addAuthentication(ChannelPipeline p) {
    if (auth != null) {
      p.addLast(AUTHENTICATE, new CallerAuthHandler(auth, router));
    }
  }

  /** Adds the steps of one HTTP/2 stream (observed as an exchange, not counted as a connection). */
  void addStreamSteps(ChannelPipeline p) {
    if (traffic != null) {
      p.addLast(OBSERVE, new ExchangeObserver(traffic, router, false));
    }
    addAuthentication(p);
  }
}
