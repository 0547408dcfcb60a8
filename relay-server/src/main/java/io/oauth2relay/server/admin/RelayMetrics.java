package io.oauth2relay.server.admin;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.oauth2relay.server.proxy.Traffic;
import io.oauth2relay.server.proxy.TrafficListener;
import io.oauth2relay.server.token.TokenHolder;
import io.oauth2relay.server.token.TokenMetrics;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Supplier;

/**
 * The relay's Prometheus metrics. Every label value is a fixed word chosen here (route name, status code,
 * call, failure class): nothing from a request, a response or a token ever becomes a label or a value.
 * A route label is a route name from the config, or {@code -} for a request no route took.
 *
 * <pre>
 *   relay_requests_seconds{route,status}         histogram: requests by route and status, latency
 *   relay_connections_open                       caller connections open now
 *   relay_requests_in_flight                     requests received, not yet answered
 *   relay_token_fetches_total{route,call}        successful login/refresh calls
 *   relay_token_failures_total{route,call,class} failed calls, class transient or rejected
 *   relay_token_call_seconds{route,call}         duration of token calls
 *   relay_token_expiry_seconds{route}            seconds until the held token expires (NaN: none)
 * </pre>
 */
public final class RelayMetrics implements TrafficListener {
  private static final Duration[] BUCKETS = {
    Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50),
    Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1),
    Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30)
  };

  /** Request timers by route, then by status code (a slot per code, filled on first use). */
  private final java.util.concurrent.ConcurrentHashMap<String, AtomicReferenceArray<Timer>> requestTimers =
      new java.util.concurrent.ConcurrentHashMap<>();
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

  /** Registers the gauges that read the caller connections' live state. */
  public void watch(Traffic traffic) {
    Gauge.builder("relay.connections.open", traffic, Traffic::openConnections)
        .description("Caller connections open now")
        .register(registry);
    Gauge.builder("relay.requests.in.flight", traffic, Traffic::inFlight)
        .description("Requests received and not yet completely answered")
        .register(registry);
  }

  /**
   * The token metrics of one route, tagged with its name, and (for a renewable token) the gauge of its
   * expiry.
   *
   * @param holder the route's token holder, or {@code null} for a fixed token
   */
  public TokenMetrics route(String route, TokenHolder holder) {
    if (holder != null) {
      Supplier<Number> expiry =
          () -> {
            long s = holder.secondsToExpiry();
            return s == Long.MIN_VALUE ? Double.NaN : s;
          };
      Gauge.builder("relay.token.expiry.seconds", expiry)
          .description("Seconds until the held access token expires (negative: expired; NaN: none yet)")
          .tag("route", route)
          .register(registry);
    }
    return new RouteTokenMetrics(route);
  }

  @Override
  public void exchangeFinished(String route, String method, String target, int status, long nanos, long bytes) {
    requestTimer(route, status).record(nanos, TimeUnit.NANOSECONDS);
  }

  /**
   * The timer of (route, status), registered once: this runs for every request, and building a meter
   * (builder, tags, registry lookup) each time cost more than the rest of the exchange's bookkeeping.
   */
  private Timer requestTimer(String route, int status) {
    AtomicReferenceArray<Timer> byStatus = requestTimers.computeIfAbsent(route, r -> new AtomicReferenceArray<>(600));
    int slot = status >= 0 && status < 600 ? status : 0;
    Timer timer = byStatus.get(slot);
    if (timer == null) {
      timer =
          Timer.builder("relay.requests")
              .description("Requests by route and response status (0: the connection ended first)")
              .tag("route", route)
              .tag("status", Integer.toString(slot))
              .serviceLevelObjectives(BUCKETS)
              .register(registry); // idempotent: a racing thread gets the same meter
      byStatus.set(slot, timer);
    }
    return timer;
  }

  /** One route's token calls, labelled with its name. */
  private final class RouteTokenMetrics implements TokenMetrics {
    private final String route;

    RouteTokenMetrics(String route) {
      this.route = route;
    }

    @Override
    public void fetched(String call, long nanos) {
      Counter.builder("relay.token.fetches")
          .description("Successful token calls")
          .tag("route", route)
          .tag("call", call)
          .register(registry)
          .increment();
      callTimer(call).record(nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void failed(String call, String failureClass, long nanos) {
      Counter.builder("relay.token.failures")
          .description("Failed token calls by class: transient (retried soon) or rejected (credentials or grant refused)")
          .tag("route", route)
          .tag("call", call)
          .tag("class", failureClass)
          .register(registry)
          .increment();
      callTimer(call).record(nanos, TimeUnit.NANOSECONDS);
    }

    private Timer callTimer(String call) {
      return Timer.builder("relay.token.call")
          .description("Duration of token calls")
          .tag("route", route)
          .tag("call", call)
          .register(registry);
    }
  }

  /** The Prometheus text exposition. */
  public String scrape() {
    return registry.scrape();
  }
}
