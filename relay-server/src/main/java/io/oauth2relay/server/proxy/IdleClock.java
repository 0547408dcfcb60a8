package io.oauth2relay.server.proxy;

import io.netty.channel.ChannelHandlerContext;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * An idle timeout of one channel: {@link #touch} on every read or write sets a flag, and a check every half
 * timeout looks at it, so that the timeout acts between one and one and a half times its value, and again
 * after each further such stretch. Netty's IdleStateHandler does this exactly, at the price of a promise
 * and a listener on every write and a clock read on every read; an idle timeout is a coarse limit, so the
 * slack costs nothing. Runs on the channel's event loop only.
 */
final class IdleClock {
  private final long halfNanos;
  private final Runnable onIdle;
  /** Something was read or written since the last check. */
  private boolean active;
  /** Consecutive checks that found nothing: two make the timeout. */
  private int quietChecks;
  private ScheduledFuture<?> check;
  private ChannelHandlerContext ctx;

  /** @param onIdle what the timeout does (on the event loop) */
  IdleClock(long timeoutMillis, Runnable onIdle) {
    this.halfNanos = Math.max(1, TimeUnit.MILLISECONDS.toNanos(timeoutMillis) / 2);
    this.onIdle = onIdle;
  }

  void touch() {
    active = true;
  }

  /** Starts checking, once the channel of {@code ctx} is active; again is harmless. */
  void start(ChannelHandlerContext ctx) {
    this.ctx = ctx;
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
      onIdle.run();
    }
  }

  void stop() {
    if (check != null) {
      check.cancel(false);
      check = null;
    }
  }
}
