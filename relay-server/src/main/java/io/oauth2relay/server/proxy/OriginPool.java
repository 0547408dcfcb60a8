package io.oauth2relay.server.proxy;

import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.concurrent.FastThreadLocal;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.util.ArrayDeque;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The connections to one route's upstream, pooled per event loop (as Zuul's
 * {@code PerServerConnectionPool}): an exchange borrows a connection of its caller's event loop, so both
 * channels of an exchange are only ever touched by one thread and no lock is needed.
 *
 * <pre>
 *   HTTP/1.1  acquire --> an idle connection of the loop (most recently used first)
 *                     --> else a new one, while the loop has fewer than maxConnections
 *                     --> else wait (at most the connect timeout) for one to come back
 *             release --> idle, with a read pending so that a close by the upstream is seen at once
 *   HTTP/2    acquire --> a new stream on the loop's one connection (made on first use)
 *             release --> the stream ends; the connection stays
 * </pre>
 *
 * <p>With {@code auto} over TLS the first connection of a loop finds out, through ALPN, which of the two
 * the upstream speaks; exchanges that arrive meanwhile wait for it. Idle connections are closed after the
 * route's idle timeout by their {@link OriginHandler}. Never blocks: {@link #acquire} answers with a
 * future completed on the caller's loop.
 */
final class OriginPool {
  private final OriginConnector connector;
  private final int maxConnections;
  private final long waitMillis;
  private final FastThreadLocal<LoopPool> pools =
      new FastThreadLocal<>() {
        @Override
        protected LoopPool initialValue() {
          return new LoopPool(connector.knownH2());
        }
      };

  /** The state of one event loop's connections; touched by that loop's thread only. */
  private static final class LoopPool {
    /** Whether the upstream speaks HTTP/2; {@code null} until the first TLS handshake tells. */
    Boolean h2;
    final ArrayDeque<Channel> idle = new ArrayDeque<>();
    final ArrayDeque<Promise<Channel>> waiters = new ArrayDeque<>();
    int open;
    /** The HTTP/2 connection, once made. */
    Channel h2Connection;
    /** Whether a connection whose protocol or readiness is awaited is being made (HTTP/2 or unknown). */
    boolean connecting;

    LoopPool(Boolean h2) {
      this.h2 = h2;
    }
  }

  OriginPool(OriginConnector connector, int maxConnections, long waitMillis) {
    this.connector = connector;
    this.maxConnections = maxConnections;
    this.waitMillis = waitMillis;
  }

  /**
   * An idle HTTP/1.1 connection of the calling loop (most recently used first), or {@code null} when
   * there is none or the route speaks HTTP/2: the common case of {@link #acquire}, without a promise.
   */
  Channel pollIdle() {
    LoopPool pool = pools.get();
    return Boolean.FALSE.equals(pool.h2) ? pollActive(pool) : null;
  }

  /** The most recently used idle connection still open, or {@code null}; closed ones are dropped. */
  private static Channel pollActive(LoopPool pool) {
    for (Channel ch; (ch = pool.idle.pollFirst()) != null; ) {
      if (ch.isActive()) {
        return ch;
      }
    }
    return null;
  }

  /** A channel to send one request on ({@code loop}'s own); must be called on {@code loop}. */
  Future<Channel> acquire(EventLoop loop) {
    LoopPool pool = pools.get();
    Promise<Channel> promise = loop.newPromise();
    acquire(loop, pool, promise);
    return promise;
  }

  private void acquire(EventLoop loop, LoopPool pool, Promise<Channel> promise) {
    if (Boolean.TRUE.equals(pool.h2)) {
      if (pool.h2Connection != null && goingAway(pool.h2Connection)) {
        pool.h2Connection = null; // it finishes its streams and closes; new streams go to a new connection
      }
      if (pool.h2Connection != null && pool.h2Connection.isActive()) {
        openStream(pool.h2Connection, promise);
      } else if (pool.connecting) {
        pool.waiters.add(promise);
      } else {
        pool.h2Connection = null;
        connect(loop, pool, promise);
      }
      return;
    }
    if (pool.h2 == null) { // the first TLS handshake will tell
      if (pool.connecting) {
        pool.waiters.add(promise);
      } else {
        connect(loop, pool, promise);
      }
      return;
    }
    Channel idle = pollActive(pool);
    if (idle != null) {
      promise.setSuccess(idle);
      return;
    }
    if (pool.open < maxConnections) {
      connect(loop, pool, promise);
      return;
    }
    pool.waiters.add(promise);
    ScheduledFuture<?> giveUp =
        loop.schedule(
            () -> {
              if (pool.waiters.remove(promise)) {
                promise.tryFailure(new PoolExhaustedException());
              }
            },
            waitMillis,
            TimeUnit.MILLISECONDS);
    promise.addListener(f -> giveUp.cancel(false));
  }

  private void connect(EventLoop loop, LoopPool pool, Promise<Channel> promise) {
    pool.open++;
    boolean awaited = !Boolean.FALSE.equals(pool.h2);
    pool.connecting |= awaited;
    Future<OriginConnector.Ready> ready = connector.connect(loop);
    ready.addListener(
        f -> {
          if (awaited) {
            pool.connecting = false;
          }
          if (!ready.isSuccess()) {
            pool.open--;
            promise.tryFailure(ready.cause());
            if (awaited) {
              failWaiters(pool, ready.cause()); // they waited for this very connection
            } else {
              Promise<Channel> waiter = pool.waiters.poll();
              if (waiter != null) {
                connect(loop, pool, waiter); // the slot this attempt held is free again
              }
            }
            return;
          }
          OriginConnector.Ready r = ready.getNow();
          Channel ch = r.channel();
          // Every later end of the connection gives back its slot; close futures notify on its loop.
          boolean h2 = r.h2();
          ch.closeFuture().addListener(c -> closed(pool, ch, h2));
          pool.h2 = r.h2();
          if (r.h2()) {
            pool.h2Connection = ch;
            openStream(ch, promise);
            for (Promise<Channel> w; (w = pool.waiters.poll()) != null; ) {
              openStream(ch, w);
            }
            return;
          }
          if (!promise.trySuccess(ch)) {
            release(ch); // the exchange gave up meanwhile: keep the connection for the next
          }
          // Exchanges that waited for ALPN's answer now take the HTTP/1.1 path.
          ArrayDeque<Promise<Channel>> waiting = new ArrayDeque<>(pool.waiters);
          pool.waiters.clear();
          for (Promise<Channel> w : waiting) {
            acquire(loop, pool, w);
          }
        });
  }

  /** Whether the upstream sent GOAWAY on this HTTP/2 connection: it takes no new streams. */
  private static boolean goingAway(Channel connection) {
    io.netty.handler.codec.http2.Http2FrameCodec codec =
        connection.pipeline().get(io.netty.handler.codec.http2.Http2FrameCodec.class);
    return codec == null || codec.connection().goAwayReceived();
  }

  private void openStream(Channel connection, Promise<Channel> promise) {
    connector
        .openStream(connection)
        .addListener(
            f -> {
              if (f.isSuccess()) {
                Http2StreamChannel stream = (Http2StreamChannel) f.getNow();
                if (!promise.trySuccess(stream)) {
                  stream.close();
                }
              } else {
                promise.tryFailure(f.cause());
              }
            });
  }

  private static void failWaiters(LoopPool pool, Throwable cause) {
    for (Promise<Channel> w; (w = pool.waiters.poll()) != null; ) {
      w.tryFailure(cause);
    }
  }

  /**
   * Gives back a channel whose exchange is complete and that is ready for another request: an HTTP/2
   * stream simply ends; an HTTP/1.1 connection goes to a waiting exchange, or to the idle set, reading
   * (that is how a close by the upstream is seen).
   */
  void release(Channel ch) {
    OriginHandler.of(ch).owner(null);
    if (ch instanceof Http2StreamChannel) {
      ch.close(); // both sides ended the stream already: nothing is sent
      return;
    }
    if (!ch.isActive()) {
      return;
    }
    LoopPool pool = pools.get();
    for (Promise<Channel> waiter; (waiter = pool.waiters.poll()) != null; ) {
      if (waiter.trySuccess(ch)) {
        return;
      }
    }
    pool.idle.addFirst(ch);
    ch.config().setAutoRead(true); // reading is how a close by the upstream is seen
  }

  private void closed(LoopPool pool, Channel ch, boolean h2) {
    pool.open--;
    if (h2) {
      if (ch == pool.h2Connection) {
        pool.h2Connection = null;
      }
      return; // the next acquire makes a new one
    }
    pool.idle.remove(ch);
    Promise<Channel> waiter = pool.waiters.poll();
    if (waiter != null) {
      connect(ch.eventLoop(), pool, waiter);
    }
  }

  /** Every connection of the loop is busy and the wait for one ran out. */
  static final class PoolExhaustedException extends Exception {
    PoolExhaustedException() {
      super("every upstream connection is busy", null, false, false);
    }
  }
}
