package io.oauth2relay.server.proxy;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.timeout.IdleStateEvent;

/**
 * Fires {@link IdleStateEvent#ALL_IDLE_STATE_EVENT} when nothing has been read from or written to the
 * channel for the timeout (an {@link IdleClock}: between one and one and a half times it). Used on HTTP/2
 * origin connections; an HTTP/1.1 origin connection's or stream's {@link OriginHandler} keeps its own clock,
 * as a pipeline step costs a hop per message.
 */
final class IdleWatch extends ChannelDuplexHandler {
  private final IdleClock clock;
  private ChannelHandlerContext ctx;

  IdleWatch(long timeoutMillis) {
    this.clock = new IdleClock(timeoutMillis, () -> ctx.fireUserEventTriggered(IdleStateEvent.ALL_IDLE_STATE_EVENT));
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    if (ctx.channel().isActive() && ctx.channel().isRegistered()) {
      clock.start(ctx);
    }
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    clock.start(ctx);
    ctx.fireChannelActive();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    clock.touch();
    ctx.fireChannelRead(msg);
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    clock.touch();
    ctx.write(msg, promise);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    clock.stop();
    ctx.fireChannelInactive();
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    clock.stop();
  }
}
