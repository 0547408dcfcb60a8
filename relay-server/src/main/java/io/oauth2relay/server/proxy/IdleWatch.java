package io.oauth2relay.server.proxy;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.timeout.IdleStateEvent;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Fires {@link IdleStateEvent#ALL_IDLE_STATE_EVENT} when nothing has been read from or written to the
 * channel for between one and one and a half times the timeout, and again after each further such
 * stretch. Netty's IdleStateHandler does this exactly, at the price of a promise and a listener on every
 * write (and a clock read on every read); on the relay's origin connections that was a tenth of what a
 * relayed request allocated. Here a read or write only sets a flag, and a check every half timeout looks
 * at it: an idle timeout is a coarse limit, so the slack costs nothing.
 */
final class IdleWatch extends ChannelDuplexHandler {
  private final long halfNanos;
  /** Something was read or written since the last check. */
  private boolean active;
  /** Consecutive checks that found nothing: two make the timeout. */
  private int quietChecks;
  private ScheduledFuture<?> check;
  private ChannelHandlerContext ctx;

  IdleWatch(long timeoutMillis) {
    this.halfNanos = Math.max(1, TimeUnit.MILLISECONDS.toNanos(timeoutMillis) / 2);
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    if (ctx.channel().isActive() && ctx.channel().isRegistered()) {
      start();
    }
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    start();
    ctx.fireChannelActive();
  }

  private void start() {
    if (check == null) {
      check = ctx.executor().schedule(this::check, halfNanos, TimeUnit.NANOSECONDS);
    }
  }

  private void check() {
    if (!ctx.channel().isOpen()) {
      check = null;
      return;
    }
    quietChecks = active ? 0 : quietChecks + 1;
    active = false;
    check = ctx.executor().schedule(this::check, halfNanos, TimeUnit.NANOSECONDS);
    if (quietChecks >= 2) {
      quietChecks = 0;
      ctx.fireUserEventTriggered(IdleStateEvent.ALL_IDLE_STATE_EVENT);
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    active = true;
    ctx.fireChannelRead(msg);
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    active = true;
    ctx.write(msg, promise);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    stop();
    ctx.fireChannelInactive();
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    stop();
  }

  private void stop() {
    if (check != null) {
      check.cancel(false);
      check = null;
    }
  }
}
