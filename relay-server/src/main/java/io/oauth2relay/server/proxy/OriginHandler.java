package io.oauth2relay.server.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The origin side of an exchange: hands every response piece to the {@link CallerHandler} that borrowed
 * this connection from its {@link OriginPool}, which owns all state. Runs on the caller's event loop (the
 * pool is per loop), so no hand-off is needed. An idle pooled connection has no owner: anything it reads
 * then is out of step and closes it.
 *
 * <p>It also keeps the route's idle timeout ({@link IdleClock}): nothing read from or written to the
 * connection (or stream) for the timeout times out its exchange, or closes it when idle in the pool. A
 * read, or a write by the borrower ({@link #touch}), tells the clock; as a pipeline step of its own
 * ({@link IdleWatch}) it would cost a hop on every message.
 */
final class OriginHandler extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(OriginHandler.class);

  /** The exchange's caller while the connection is borrowed, {@code null} while it is idle. */
  private CallerHandler caller;
  private final IdleClock idle;
  private ChannelHandlerContext ctx;

  OriginHandler(long idleTimeoutMillis) {
    this.idle = new IdleClock(idleTimeoutMillis, this::idleTimedOut);
  }

  static OriginHandler of(Channel ch) {
    // Last in every origin pipeline OriginConnector builds: found without walking it, once per request.
    return ch.pipeline().last() instanceof OriginHandler h ? h : ch.pipeline().get(OriginHandler.class);
  }

  void owner(CallerHandler caller) {
    this.caller = caller;
  }

  /** The borrower wrote to the connection. */
  void touch() {
    idle.touch();
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    if (ctx.channel().isActive() && ctx.channel().isRegistered()) {
      idle.start(ctx);
    }
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    idle.start(ctx);
  }

  private void idleTimedOut() {
    if (owned(ctx)) {
      caller.originTimedOut();
    } else {
      ctx.close();
    }
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    idle.stop();
  }

  private boolean owned(ChannelHandlerContext ctx) {
    return caller != null && caller.isCurrentOrigin(ctx.channel());
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    idle.touch();
    if (!owned(ctx)) {
      ReferenceCountUtil.release(msg);
      ctx.close();
      return;
    }
    if (msg instanceof FullHttpResponse full) {
      // HTTP/2 gives a response that ends with its headers as one message: head, then end.
      DefaultHttpResponse head = new DefaultHttpResponse(full.protocolVersion(), full.status(), full.headers());
      head.setDecoderResult(full.decoderResult()); // a decoder's invalid message is a FullHttpResponse too
      caller.responseHead(head);
      LastHttpContent end = new DefaultLastHttpContent(full.content(), full.trailingHeaders());
      if (owned(ctx)) {
        caller.responseContent(end);
      } else {
        end.release();
      }
    } else if (msg instanceof HttpResponse response) {
      caller.responseHead(response);
    } else if (msg instanceof HttpContent content) {
      caller.responseContent(content);
    } else {
      if (msg instanceof Http2ResetFrame reset && reset.errorCode() == Http2Error.REFUSED_STREAM.code()) {
        caller.originRefused(ctx.channel()); // RFC 9113 §8.7: not processed, may be retried
      }
      ReferenceCountUtil.release(msg);
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    if (owned(ctx)) {
      caller.originReadComplete();
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (owned(ctx)) {
      caller.originWritabilityChanged();
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    idle.stop();
    if (caller != null) {
      caller.originClosed(ctx.channel());
    }
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof SslHandshakeCompletionEvent handshake && !handshake.isSuccess()) {
      // Usually configuration (untrusted or wrong-host certificate): worth a warning, once per connection.
      log.warn("TLS handshake with the upstream failed: {}", handshake.cause().toString());
      if (owned(ctx)) {
        caller.originTlsFailed();
      }
      ctx.close();
      return;
    }
    if (evt instanceof Http2GoAwayFrame goAway) {
      // Sent to the streams above the GOAWAY's last stream id only: the upstream did not process them.
      goAway.release();
      if (owned(ctx)) {
        caller.originRefused(ctx.channel());
      }
      return;
    }
    ctx.fireUserEventTriggered(evt);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    log.debug("upstream connection failed: {}", cause.toString());
    ctx.close();
  }
}
