package io.oauth2relay.server;

import io.oauth2relay.server.admin.AdminServer;
import io.oauth2relay.server.admin.RelayMetrics;
import io.oauth2relay.server.config.OpsSpec;
import io.oauth2relay.server.config.RelayConfig;
import io.oauth2relay.server.config.RouteSpec;
import io.oauth2relay.server.config.TemplateValues;
import io.oauth2relay.server.proxy.AccessLog;
import io.oauth2relay.server.proxy.CallerAuth;
import io.oauth2relay.server.proxy.InboundSteps;
import io.oauth2relay.server.proxy.RelayRoute;
import io.oauth2relay.server.proxy.RelayServer;
import io.oauth2relay.server.proxy.Router;
import io.oauth2relay.server.proxy.Traffic;
import io.oauth2relay.server.proxy.TrafficListener;
import io.oauth2relay.server.token.FixedTokenSource;
import io.oauth2relay.server.token.TokenFetcher;
import io.oauth2relay.server.token.TokenHolder;
import io.oauth2relay.server.token.TokenSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running relay, assembled from a config: per route a token source and the route that uses it; the
 * router, the listener, and the admin port.
 *
 * <pre>
 *   RouteSpec (each) --> TokenFetcher --> TokenHolder (or FixedTokenSource for relay.fixedtoken)
 *                    --> RelayRoute (rewrite + inject)        RelayMetrics.route(name): its token metrics
 *   Router (all routes) --> RelayServer (Netty listener)
 *                           + InboundSteps (observe, authenticate callers; both ask the Router)
 *   RelayMetrics (tokens, traffic) --> AdminServer (/healthz /readyz per route /metrics)
 * </pre>
 */
public final class Relay implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Relay.class);

  /** How long one login or refresh call may take. */
  static final Duration TOKEN_CALL_TIMEOUT = Duration.ofSeconds(15);
  private final RelayConfig config;
  /** One token source per route, in route order; a route's token never serves another route. */
  private final List<RouteTokens> routeTokens = new ArrayList<>();
  private final RelayServer server;
  private final Traffic traffic;
  private final AdminServer admin;
  private final AtomicBoolean closed = new AtomicBoolean();
  private volatile boolean draining;
  private InetSocketAddress adminAddress;

  /** A route's name, its token source, and the holder behind it ({@code null} for a fixed token). */
  private record RouteTokens(String name, TokenSource tokens, TokenHolder holder) {}

  public Relay(RelayConfig config, Clock clock) throws SSLException {
    this.config = config;
    OpsSpec ops = config.ops();
    RelayMetrics metrics = new RelayMetrics();
    Map<String, Set<String>> callers = new HashMap<>();
    List<RelayRoute> routes = new ArrayList<>();
    for (RouteSpec spec : config.routes()) {
      byte[] authstring = null;
      TokenHolder holder = null;
      TokenSource tokens;
      if (!spec.relay().fixedToken().isEmpty()) {
        tokens = new FixedTokenSource(spec.relay().fixedToken().render(TemplateValues.NONE));
      } else {
        TokenFetcher fetcher =
            new TokenFetcher(spec.login(), spec.refresh(), spec.policy(), clock, TOKEN_CALL_TIMEOUT, config.secrets());
        authstring = fetcher.authstring();
        holder = new TokenHolder(fetcher, spec.policy(), clock);
        fetcher.metrics(metrics.route(spec.name(), holder));
        tokens = holder;
      }
      if (spec.callers() != null) {
        callers.put(spec.name(), spec.callers());
      }
      routeTokens.add(new RouteTokens(spec.name(), tokens, holder));
      routes.add(
          new RelayRoute(
              spec.name(), spec.pathPrefix(), spec.host(), spec.stripPrefix(), spec.origin(), spec.relay(), tokens,
              authstring, spec.policy().replayLimit()));
    }
    List<TrafficListener> listeners = new ArrayList<>(List.of(metrics));
    if (ops.accessLog()) {
      listeners.add(new AccessLog(ops.sensitiveQueryParams()));
    }
    this.traffic = new Traffic(listeners);
    metrics.watch(traffic);
    CallerAuth auth = ops.inbound().authenticates() ? new CallerAuth(ops.inbound(), callers) : null;
    Router router = new Router(routes);
    this.server =
        new RelayServer(
            router, new InboundSteps(traffic, auth, router), config.tls(), ops.requestHeaderTimeout(), ops.ioThreads());
    List<AdminServer.Route> readiness = new ArrayList<>();
    for (RouteTokens r : routeTokens) {
      readiness.add(new AdminServer.Route(r.name(), () -> notReadyReason(r)));
    }
    this.admin = ops.admin() == null ? null : new AdminServer(metrics, readiness);
  }

  /** The token source of the first route (tests inspect what it holds after {@link #close()}). */
  TokenSource tokens() {
    return routeTokens.get(0).tokens();
  }

  /** Why the route cannot serve now, or {@code null}: it holds a token that has not expired. */
  private String notReadyReason(RouteTokens route) {
    if (draining || closed.get()) {
      return "shutting down";
    }
    TokenHolder holder = route.holder();
    if (route.tokens().current() != null || (holder != null && holder.secondsToExpiry() > 0)) {
      return null;
    }
    String why = holder == null ? null : holder.unhealthyReason();
    return why != null ? why : "no valid access token";
  }

  /** Starts the first login in the background, binds the listener and the admin port. */
  public InetSocketAddress start() throws InterruptedException {
    for (RouteTokens r : routeTokens) {
      if (r.holder() != null) {
        r.holder().start();
      }
    }
    InetSocketAddress bound = server.start(config.host(), config.port());
    if (admin != null) {
      try {
        adminAddress = admin.start(config.ops().admin().host(), config.ops().admin().port());
      } catch (IOException e) {
        throw new UncheckedIOException("cannot listen on the admin port", e);
      }
    }
    if (!OpsSpec.isLoopback(config.host()) && !config.ops().inbound().authenticates()) {
      log.warn(
          "listening on {} without caller authentication: anyone who can reach this port can use the relay's"
              + " token (configure inbound.apiKeys, inbound.certificates or inbound.allowFrom; requireCallerAuth: true refuses to start"
              + " like this)",
          config.host());
    }
    return bound;
  }

  /** The admin port's address once started, or {@code null} without an {@code admin} section. */
  public InetSocketAddress adminAddress() {
    return adminAddress;
  }

  /**
   * Graceful stop: stops accepting connections and reports not ready, lets requests in flight finish for
   * at most {@code grace}, then {@link #close()}s (which cuts whatever is left and wipes every token).
   *
   * @return the number of requests still in flight when the grace period ended (0: all finished)
   */
  public int drain(Duration grace) throws InterruptedException {
    draining = true;
    server.stopAccepting();
    long deadline = System.nanoTime() + grace.toNanos();
    // A poll on the stopping thread (never an event loop): shutdown is rare and 20 ms is plenty fine.
    while (traffic.inFlight() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    int left = traffic.inFlight();
    close();
    return left;
  }

  /** Stops listening, then zeroes every token and credential held. Idempotent. */
  @Override
  public void close() {
    if (closed.getAndSet(true)) {
      return;
    }
    try {
      server.close();
    } finally {
      try {
        if (admin != null) {
          admin.close();
        }
      } finally {
        try {
          for (RouteTokens r : routeTokens) {
            r.tokens().close();
          }
        } finally {
          config.closeSecrets();
        }
      }
    }
  }
}
