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
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The origin side of an exchange: hands every response piece to the {@link CallerHandler} that borrowed
 * this connection from its {@link OriginPool}, which owns all state. Runs on the caller's event loop (the
 * pool is per loop), so no hand-off is needed. An idle pooled connection has no owner: anything it reads
 * then is out of step and closes it.
 */
final class OriginHandler extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(OriginHandler.class);

  /** The exchange's caller while the connection is borrowed, {@code null} while it is idle. */
  private CallerHandler caller;

  static OriginHandler of(Channel ch) {
    // Last in every origin pipeline OriginConnector builds: found without walking it, once per request.
    return ch.pipeline().last() instanceof OriginHandler h ? h : ch.pipeline().get(OriginHandler.class);
  }

  void owner(CallerHandler caller) {
    this.caller = caller;
  }

  private boolean owned(ChannelHandlerContext ctx) {
    return caller != null && caller.isCurrentOrigin(ctx.channel());
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
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
    if (evt instanceof IdleStateEvent) {
      if (owned(ctx)) {
        caller.originTimedOut();
      } else {
        ctx.close();
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
