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
  private final long timeoutMillis;
  /** Whether a request head is awaited (between responses) rather than a request being in progress. */
  private boolean awaitingHead = true;
  private ScheduledFuture<?> timer;

  RequestHeadTimeout(long timeoutMillis) {
    this.timeoutMillis = timeoutMillis;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (awaitingHead && timer == null && msg instanceof ByteBuf buf && buf.isReadable()) {
      timer = ctx.executor().schedule(() -> timedOut(ctx), timeoutMillis, TimeUnit.MILLISECONDS);
    }
    ctx.fireChannelRead(msg);
  }

  /** Called by the relay handler once the codec has given it a request head. */
  void headReceived() {
    awaitingHead = false;
    cancel();
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (msg instanceof LastHttpContent && !(msg instanceof HttpResponse r && r.status().codeClass() == HttpStatusClass.INFORMATIONAL)) {
      awaitingHead = true; // a response is complete: the next bytes start the next request
    }
    ctx.write(msg, promise);
  }

  private void timedOut(ChannelHandlerContext ctx) {
    timer = null;
    if (awaitingHead) {
      ctx.close();
    }
  }

  private void cancel() {
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
