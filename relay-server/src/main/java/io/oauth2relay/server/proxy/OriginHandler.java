package io.oauth2relay.server.proxy;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The origin side of a caller connection: hands every response piece to its {@link CallerHandler}, which
 * owns all state. Runs on the caller's event loop (the connector binds it there), so no hand-off is
 * needed.
 */
final class OriginHandler extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(OriginHandler.class);

  private final CallerHandler caller;

  OriginHandler(CallerHandler caller) {
    this.caller = caller;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!caller.isCurrentOrigin(ctx.channel())) {
      ReferenceCountUtil.release(msg);
      ctx.close();
      return;
    }
    if (msg instanceof HttpResponse response) {
      caller.responseHead(response);
    } else if (msg instanceof HttpContent content) {
      caller.responseContent(content);
    } else {
      ReferenceCountUtil.release(msg);
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    if (caller.isCurrentOrigin(ctx.channel())) {
      caller.originReadComplete();
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (caller.isCurrentOrigin(ctx.channel())) {
      caller.originWritabilityChanged();
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    caller.originClosed(ctx.channel());
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof SslHandshakeCompletionEvent handshake && !handshake.isSuccess()) {
      // Usually configuration (untrusted or wrong-host certificate): worth a warning, once per connection.
      log.warn("TLS handshake with the upstream failed: {}", handshake.cause().toString());
      if (caller.isCurrentOrigin(ctx.channel())) {
        caller.originTlsFailed();
      }
      ctx.close();
      return;
    }
    if (evt instanceof IdleStateEvent) {
      if (caller.isCurrentOrigin(ctx.channel())) {
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
