package io.oauth2relay.server.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.LastHttpContent;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Gives an HTTP/1.1 caller a bounded time to send a request head once its first byte has arrived
 * (slow-loris protection: the keep-alive idle timeout alone lets a caller hold a connection by sending a
 * byte a minute). Sits in front of the codec and sees raw bytes: the clock starts with the first byte
 * read while no request is open, and stops when the codec has decoded the head ({@link #headReceived}).
 * Answering then closes: a half-sent head cannot be answered in HTTP terms the codec would understand.
 */
final class RequestHeadTimeout extends ChannelDuplexHandler {
  private final long timeoutNanos;
  /** Whether a request head is awaited (between responses) rather than a request being in progress. */
  private boolean awaitingHead = true;
  /** Request heads received whose responses are not yet complete (more than one when pipelined). */
  private int openRequests;
  /** When the head being received must be complete ({@code System.nanoTime}), or 0 when none is. */
  private long deadline;
  /**
   * The one pending check of this connection: each request only moves {@link #deadline}, and the check
   * schedules itself again for the time left, so a request costs no timer of its own.
   */
  private ScheduledFuture<?> timer;
  private ChannelHandlerContext ctx;

  RequestHeadTimeout(long timeoutMillis) {
    this.timeoutNanos = TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (awaitingHead && deadline == 0 && msg instanceof ByteBuf buf && buf.isReadable()) {
      deadline = System.nanoTime() + timeoutNanos;
      if (timer == null) {
        timer = ctx.executor().schedule(this::check, timeoutNanos, TimeUnit.NANOSECONDS);
      }
    }
    ctx.fireChannelRead(msg);
  }

  /** Called by the relay handler once the codec has given it a request head. */
  void headReceived() {
    openRequests++;
    awaitingHead = false;
    deadline = 0;
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (msg instanceof LastHttpContent && !(msg instanceof HttpResponse r && r.status().codeClass() == HttpStatusClass.INFORMATIONAL)) {
      // A response is complete; with no other request open (pipelined heads already received count),
      // the next bytes start the next request.
      openRequests = Math.max(0, openRequests - 1);
      awaitingHead = openRequests == 0;
    }
    ctx.write(msg, promise);
  }

  private void check() {
    timer = null;
    if (deadline == 0 || !awaitingHead) {
      return;
    }
    long left = deadline - System.nanoTime();
    if (left > 0) {
      timer = ctx.executor().schedule(this::check, left, TimeUnit.NANOSECONDS);
    } else {
      ctx.close();
    }
  }

  private void cancel() {
    deadline = 0;
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    cancel(); // the connection switched to HTTP/2, whose streams cannot dribble a head
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    cancel();
    ctx.fireChannelInactive();
  }
}
