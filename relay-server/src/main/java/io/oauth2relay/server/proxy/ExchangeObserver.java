package io.oauth2relay.server.proxy;

import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import java.util.ArrayDeque;

/**
 * Watches the exchanges of one caller connection or HTTP/2 stream for the metrics and the access log, as
 * {@link CallerHandler} tells it: each request head as it arrives, each response message as it is written,
 * the end of the channel. Pipelined requests are answered in order, so a FIFO pairs them. It only looks:
 * no message is changed, and no reference count.
 *
 * <p>Not a pipeline step of its own, which cost a hop for every message of every request: the relay
 * handler reads and writes every exchange's messages anyway.
 *
 * <p>The route of an exchange is asked of the {@link Router} when its head arrives: the router is a pure
 * function of the request line and {@code Host}, so it names the same route {@link CallerHandler} takes.
 */
final class ExchangeObserver {
  /** The route of a request no route takes (and of a malformed one): a name no route can have. */
  static final String NO_ROUTE = "-";

  private final Traffic traffic;
  private final Router router;
  private final ArrayDeque<Pending> pending;

  private static final class Pending {
    final String route;
    final String method;
    final String target;
    final long startNanos = System.nanoTime();
    int status;
    long bytes;

    Pending(String route, String method, String target) {
      this.route = route;
      this.method = method;
      this.target = target;
    }
  }

  /**
   * @param router the relay handler's router, or {@code null}: every exchange is {@link #NO_ROUTE}'s
   * @param stream whether the channel is an HTTP/2 stream (one exchange) rather than a connection
   */
  ExchangeObserver(Traffic traffic, Router router, boolean stream) {
    this.traffic = traffic;
    this.router = router;
    this.pending = new ArrayDeque<>(stream ? 2 : 16);
  }

  /** A request head arrived (before anything of it is rewritten). */
  void received(HttpRequest request) {
    boolean malformed = request.decoderResult().isFailure();
    RelayRoute route = malformed || router == null ? null : router.select(request);
    pending.add(new Pending(route == null ? NO_ROUTE : route.name(), malformed ? "-" : request.method().name(),
        malformed ? "-" : request.uri()));
    traffic.started();
  }

  /** A response message is being written to the caller. */
  void writing(Object msg) {
    Pending p = pending.peek();
    if (p == null) {
      return;
    }
    if (msg instanceof HttpResponse response) {
      int code = response.status().code();
      if (code >= 200 || p.status == 0) {
        p.status = code;
      }
    }
    if (msg instanceof HttpContent content) {
      p.bytes += content.content().readableBytes();
      if (msg instanceof LastHttpContent && p.status >= 200) {
        pending.poll();
        traffic.finished(p.route, p.method, p.target, p.status, System.nanoTime() - p.startNanos, p.bytes);
      }
    }
  }

  /** The channel closed: requests it ended before they were completely answered are reported with status 0. */
  void ended() {
    for (Pending p; (p = pending.poll()) != null; ) {
      traffic.finished(p.route, p.method, p.target, 0, System.nanoTime() - p.startNanos, p.bytes);
    }
  }
}
