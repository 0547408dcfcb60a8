package io.oauth2relay.server.proxy;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import java.util.ArrayDeque;

/**
 * Watches one caller connection from just behind the HTTP codec: each request head going in, each
 * response going out, in order (pipelined requests are answered in order, so a FIFO pairs them). It only
 * observes: every message passes through untouched, and no reference count changes here.
 *
 * <p>The route of an exchange is asked of the {@link Router} when its head arrives: the router is a pure
 * function of the request line and {@code Host}, so it names the same route {@link CallerHandler} will
 * take, without this step having to be told.
 *
 * <pre>
 *   codec --HttpRequest--> [observe: note route, method, target, start] --> ... --> CallerHandler
 *   codec <--HttpResponse/HttpContent-- [observe: status, body bytes; last piece: report] <-- ...
 * </pre>
 */
final class ExchangeObserver extends ChannelDuplexHandler {
  /** The route of a request no route takes (and of a malformed one): a name no route can have. */
  static final String NO_ROUTE = "-";

  private final Traffic traffic;
  private final Router router;
  /** Whether this channel is a caller connection (counted as open) rather than an HTTP/2 stream. */
  private final boolean connection;
  private final ArrayDeque<Pending> pending;
  private boolean active;

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
   * @param router the router of the relay handler, or {@code null}: every exchange is {@link #NO_ROUTE}'s
   * @param connection whether the channel is a caller connection (counted) rather than an HTTP/2 stream
   */
  ExchangeObserver(Traffic traffic, Router router, boolean connection) {
    this.traffic = traffic;
    this.router = router;
    this.connection = connection;
    this.pending = new ArrayDeque<>(connection ? 16 : 2); // an HTTP/2 stream carries one exchange
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    if (connection) {
      active = true;
      traffic.opened();
    }
    ctx.fireChannelActive();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof HttpRequest request) {
      boolean malformed = request.decoderResult().isFailure();
      RelayRoute route = malformed || router == null ? null : router.select(request);
      pending.add(new Pending(route == null ? NO_ROUTE : route.name(), malformed ? "-" : request.method().name(),
          malformed ? "-" : request.uri()));
      traffic.started();
    }
    ctx.fireChannelRead(msg);
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    Pending p = pending.peek();
    if (p != null) {
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
    ctx.write(msg, promise);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    // Requests the connection ended before answering completely: reported with status 0.
    for (Pending p; (p = pending.poll()) != null; ) {
      traffic.finished(p.route, p.method, p.target, 0, System.nanoTime() - p.startNanos, p.bytes);
    }
    if (active) {
      active = false;
      traffic.closed();
    }
    ctx.fireChannelInactive();
  }
}
