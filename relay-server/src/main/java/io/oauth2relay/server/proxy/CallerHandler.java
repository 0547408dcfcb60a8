package io.oauth2relay.server.proxy;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerUpgradeHandler;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.oauth2relay.server.token.TokenState;
import io.oauth2relay.server.token.TokenUnavailableException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The caller side of one connection: takes requests in order, gets each a token, forwards it to the
 * origin, and streams the response back.
 *
 * <pre>
 *   caller --HttpRequest--> check --> token (now, or when the renewal completes) --> origin connection
 *          --HttpContent--> forwarded as received (same buffers) ------------------> origin
 *   caller <--HttpResponse/HttpContent (same buffers)-- {@link OriginHandler} <------ origin
 * </pre>
 *
 * <p>Both channels run with auto-read off on the same event loop, so every field here is touched by one
 * thread. Reads are driven by demand, as in Netty's proxy example: the caller is read while the origin is
 * writable, and the origin is read while the caller is writable, so a slow side holds the fast one back
 * and a body of any size streams through in bounded memory. One exchange runs at a time; pipelined
 * requests wait in {@link #queue} until the previous response is complete.
 *
 * <p>Ownership of reference counts: a message taken from {@link #queue} is either written (the transport
 * releases it) or released here; {@link #channelInactive} releases whatever is still queued.
 */
final class CallerHandler extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(CallerHandler.class);

  /** The longest a request waits for a token renewal before it is answered 503. */
  static final Duration TOKEN_WAIT = Duration.ofSeconds(5);

  private final Router router;
  private final Origins origins;
  private final ExchangeObserver observer;
  /** Small: usually a head and its end (an HTTP/2 stream's handler lives for one exchange). */
  private final ArrayDeque<HttpObject> queue = new ArrayDeque<>(4);
  private ChannelHandlerContext ctx;
  /** This caller is one HTTP/2 stream (one exchange, then the stream ends) rather than a connection. */
  private boolean stream;
  private RelayRoute.Caller caller;
  /** The pending deadline check of this connection (response and total timeouts), or {@code null}. */
  private ScheduledFuture<?> deadlineCheck;
  /** When {@link #deadlineCheck} runs ({@code System.nanoTime}). */
  private long deadlineCheckAt;
  /**
   * How long an HTTP/1.1 caller may take over a request head once its first bytes arrived (slow-loris
   * protection: the idle timeout alone lets a caller hold a connection by sending a byte a minute); 0 on
   * an HTTP/2 stream, whose connection cannot dribble a head.
   */
  private final long headTimeoutNanos;
  /** When the request head being received must be complete ({@code System.nanoTime}), or 0 when none is. */
  private long headDeadline;
  /** Whether the current caller read has given this handler a message yet. */
  private boolean readGaveMessage;
  private Exchange exchange;
  /** The origin connection the current exchange borrowed, or {@code null}. */
  private Channel origin;
  /** The pool {@link #origin} came from and goes back to. */
  private OriginPool originPool;
  /** {@link #origin}'s handler, told of each write (its idle timeout counts them as activity). */
  private OriginHandler originHandler;
  private boolean closing;
  /** Between a caller read and its channelReadComplete, which flushes what the read forwarded. */
  private boolean inRead;
  /** The caller half-closed: the exchanges it sent are answered, then the connection closes. */
  private boolean inputShutdown;
  /**
   * Since when this HTTP/1.1 connection has had no exchange ({@code System.nanoTime}); the deadline check
   * closes it once that lasts {@link RelayServer#CALLER_IDLE_TIMEOUT}. Kept here rather than by an
   * IdleStateHandler, which costs a pipeline step and a clock read on every read.
   */
  private long idleSince;
  private static final long IDLE_NANOS = RelayServer.CALLER_IDLE_TIMEOUT.toNanos();
  /** Whether the first request has been seen (after which the h2c upgrade step is taken out). */
  private boolean seenRequest;

  /**
   * @param headTimeoutMillis the HTTP/1.1 request-head timeout, or 0 for an HTTP/2 stream
   * @param observer told of each request head read and each response message written, or {@code null}
   */
  CallerHandler(Router router, Origins origins, long headTimeoutMillis, ExchangeObserver observer) {
    this.router = router;
    this.origins = origins;
    this.observer = observer;
    this.headTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(headTimeoutMillis);
  }

  /** One request and its response. */
  private static final class Exchange {
    final HttpRequest request;
    /** The route that takes this request; {@code null} until it is chosen, or when none does. */
    RelayRoute route;
    final long startNanos = System.nanoTime();
    boolean keepAlive;
    /** The relay answers this one itself; the request body is discarded. */
    boolean local;
    boolean headSent;
    boolean requestDone;
    boolean responseStarted;
    boolean responseDone;
    /** The origin's response ends when it closes the connection. */
    boolean closeDelimited;
    boolean originReusable;
    /** Swallowing the empty end of an informational (1xx) response. */
    boolean inInformational;
    byte[] replacementBody;
    int status;
    /** The token this exchange injected: the one to invalidate if the upstream rejects it. */
    TokenState token;
    /** Whether the request body is kept for one replay after a 401 (in {@link #kept}). */
    boolean keeping;
    /**
     * Copies of the request body as forwarded, kept for one replay; created with the first piece that has
     * bytes, so a bodiless request keeps nothing (its replay ends with an empty last piece).
     */
    List<HttpContent> kept;
    int keptBytes;
    boolean replayed;
    /**
     * The upstream refused this exchange's HTTP/2 stream unprocessed (a GOAWAY whose last stream id is
     * below it, or REFUSED_STREAM): RFC 9113 §8.7 says it may be sent again, once.
     */
    boolean refusedUnprocessed;
    /** Sent again after such a refusal (at most once). */
    boolean retried;
    /** The next {@link #send} is a retry's: the body goes again from {@link #kept}, which stays kept. */
    boolean retrying;
    /** Discarding the upstream's 401 that a replay will answer instead. */
    boolean swallowing;
    /** Waiting for a token renewal to complete. */
    boolean awaitingToken;
    /**
     * When the upstream must have started answering this completely sent request ({@code System.nanoTime}),
     * or 0 when no answer is awaited.
     */
    long responseDeadline;
    /** When the whole exchange with the upstream must be over ({@code origin.totalTimeout}), or 0. */
    long totalDeadline;

    /** Read from the caller's head before it is rewritten for the upstream, in place. */
    final boolean http10;
    final boolean head;
    /** The caller's request target (the head's own becomes the upstream's). */
    final String target;
    /** Whether the caller frames a body (relay.data gives a bodiless request one upstream). */
    final boolean expectsBody;
    /** The head as rewritten for the upstream, once it has been; {@code null} before. */
    RelayRoute.Outbound outbound;

    Exchange(HttpRequest request) {
      this.request = request;
      this.keepAlive = HttpUtil.isKeepAlive(request);
      this.http10 = request.protocolVersion().equals(HttpVersion.HTTP_1_0);
      this.head = request.method().equals(HttpMethod.HEAD);
      this.target = request.uri();
      this.expectsBody = expectsBody(request);
    }
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    this.stream = ctx.channel() instanceof Http2StreamChannel;
    if (ctx.channel().isActive()) {
      becomeIdle(); // added after ALPN chose HTTP/1.1: channelActive has already gone by
    }
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    becomeIdle();
    readIfWanted();
  }

  /**
   * Taken out when the connection switches to HTTP/2 (prior knowledge or {@code Upgrade: h2c}) before any
   * exchange: its pending deadline check must not go on to close the connection as an idle HTTP/1.1 one.
   */
  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    stopChecking();
  }

  /** Ends this handler's part in the connection: no deadline check runs for it any more. */
  private void stopChecking() {
    closing = true;
    if (deadlineCheck != null) {
      deadlineCheck.cancel(false);
      deadlineCheck = null;
    }
  }

  /** Starts this connection's idle clock (HTTP/1.1 only: an HTTP/2 connection has its own). */
  private void becomeIdle() {
    if (!stream) {
      idleSince = System.nanoTime();
      checkBy(idleSince + IDLE_NANOS);
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    inRead = true;
    readGaveMessage = true;
    if (closing || !(msg instanceof HttpObject http)) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (msg instanceof HttpRequest request) {
      headDeadline = 0;
      if (observer != null) {
        observer.received(request);
      }
      if (!seenRequest) {
        seenRequest = true;
        dropUpgradeStep();
      }
    }
    if (msg instanceof FullHttpRequest full) {
      // HTTP/2 gives a request that ends with its headers as one message: take it as head and end, so
      // that both versions go through the same steps.
      DefaultHttpRequest head = new DefaultHttpRequest(full.protocolVersion(), full.method(), full.uri(), full.headers());
      head.setDecoderResult(full.decoderResult());
      queue.add(head);
      queue.add(new DefaultLastHttpContent(full.content(), full.trailingHeaders()));
    } else {
      queue.add(http);
    }
    drain();
  }

  /**
   * Takes the {@code Upgrade: h2c} step out of the pipeline once a connection's first request has gone
   * by without switching: clients ask on the first request (RFC 9113 §3.1 deprecates the mechanism
   * altogether), and the step costs a hop and a retain/release on every message after.
   */
  private void dropUpgradeStep() {
    if (!stream) {
      HttpServerUpgradeHandler upgrade = ctx.pipeline().get(HttpServerUpgradeHandler.class);
      if (upgrade != null) {
        ctx.pipeline().remove(upgrade);
      }
    }
  }

  /** Processes queued caller messages as far as the current state allows, then asks for more. */
  private void drain() {
    while (!queue.isEmpty() && !closing) {
      if (exchange == null) {
        HttpObject msg = queue.poll();
        if (msg instanceof HttpRequest request) {
          begin(request);
        } else {
          ReferenceCountUtil.release(msg); // leftover of a request that was already answered
        }
        continue;
      }
      if (exchange.requestDone || (!exchange.local && !exchange.headSent)) {
        break; // waiting for the response, the token or the origin connection
      }
      HttpObject msg = queue.poll();
      if (msg instanceof HttpContent content) {
        forward(content);
      } else {
        ReferenceCountUtil.release(msg);
      }
    }
    if (!inRead) {
      flushOrigin();
    }
    readIfWanted();
  }

  private void flushOrigin() {
    if (origin != null && exchange != null && exchange.headSent) {
      origin.flush();
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    // One flush per read from the caller, not per body piece: the decoder cuts one read into several.
    inRead = false;
    flushOrigin();
    if (!readGaveMessage) {
      startHeadClock();
    }
    readGaveMessage = false;
    ctx.fireChannelReadComplete();
  }

  /**
   * A caller read gave no message: its bytes were the start of a request head (or, first on a connection,
   * of the HTTP/2 preface the h2c step waits for), unless a request is under way. From the first such read
   * the head must be complete within the timeout. Bytes of a next head that come in one read with the end
   * of a request start the clock with the read after them, or are bounded by the idle timeout.
   */
  private void startHeadClock() {
    if (headTimeoutNanos > 0 && headDeadline == 0 && exchange == null && queue.isEmpty() && !closing) {
      headDeadline = System.nanoTime() + headTimeoutNanos;
      checkBy(headDeadline);
    }
  }

  /**
   * Reads from the caller while what it sends can be used at once: between exchanges, while the body can
   * go to a writable origin, and while a response is on its way (so that a kept-alive caller's next
   * request is met by a read already armed). Not while a message waits in the queue or the body has
   * nowhere to go: that is the backpressure. Auto-read is switched only when this changes, so steady
   * keep-alive traffic costs no read request (two epoll_ctl calls) per request.
   */
  private void readIfWanted() {
    Exchange ex = exchange;
    boolean wanted =
        !closing
            && !inputShutdown // nothing more can come, and epoll no longer watches the socket for reads
            && queue.isEmpty()
            && (ex == null
                || ex.requestDone
                || ex.local
                || (ex.headSent && origin != null && origin.isWritable()));
    if (ctx.channel().config().isAutoRead() != wanted) {
      ctx.channel().config().setAutoRead(wanted);
    }
  }

  private void begin(HttpRequest request) {
    Exchange ex = new Exchange(request);
    exchange = ex;
    if (inputShutdown && !requestQueued()) {
      // The last request the caller sent before it half-closed: answered, then the connection closes.
      ex.keepAlive = false;
      if (!requestEndQueued() && expectsBody(request)) {
        abort("the caller closed its side mid-request"); // the rest of its body can never come
        return;
      }
    }
    if (request instanceof CallerAuthHandler.Refused refused) {
      ex.keepAlive = false; // and what the caller sent after it is discarded (CallerAuthHandler)
      respond(ex, refused.answer());
      return;
    }
    if (request.decoderResult().isFailure() || Headers.hasInvalidField(request.headers())) {
      // Header names and values are checked here, before anything of the head is used or forwarded, rather
      // than as the codec fills the map (RelayHeaders explains why).
      ex.keepAlive = false;
      respond(ex, HttpResponseStatus.BAD_REQUEST, "bad_request", "malformed HTTP request", null);
      return;
    }
    RelayRoute.Refusal refusal = RelayRoute.refuseTarget(request);
    if (refusal != null) {
      respond(ex, HttpResponseStatus.valueOf(refusal.status()), refusal.code(), refusal.message(), null);
      return;
    }
    RelayRoute route = router.select(request);
    if (route == null) {
      respond(ex, HttpResponseStatus.NOT_FOUND, "no_route", "no route takes this path", null);
      return;
    }
    ex.route = route;
    refusal = route.check(request);
    if (refusal != null) { // a method this route does not take: 405 says which one it does
      respond(ex, HttpResponseStatus.valueOf(refusal.status()), refusal.code(), refusal.message(), route.allowedMethod());
      return;
    }
    long length = HttpUtil.getContentLength(request, 0L);
    if (route.replayLimit() > 0 && length <= route.replayLimit()) {
      ex.keeping = true;
    }
    if (HttpUtil.is100ContinueExpected(request)) {
      // Only once the request may go on: a refused caller gets its final answer instead (RFC 9110
      // §10.1.1), and is spared sending a body that would be discarded.
      request.headers().remove(HttpHeaderNames.EXPECT);
      toCaller(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE, Unpooled.EMPTY_BUFFER));
      ctx.flush();
    }
    withToken(ex, this::proceed);
  }

  /** Runs {@code next} with a usable token: now, or on this event loop once the renewal completes. */
  private void withToken(Exchange ex, BiConsumer<Exchange, TokenState> next) {
    RelayRoute route = ex.route;
    TokenState token = route.tokens().current();
    if (token != null) {
      next.accept(ex, token);
      return;
    }
    ex.awaitingToken = true;
    // A renewal can take as long as the token call's timeout; a caller should not hang that long.
    ScheduledFuture<?> giveUp =
        ctx.executor()
            .schedule(
                () -> {
                  if (exchange == ex && ex.awaitingToken && !closing) {
                    ex.awaitingToken = false;
                    tokenUnavailable(ex, "no valid access token yet (renewal in progress)", 1);
                  }
                },
                TOKEN_WAIT.toMillis(),
                TimeUnit.MILLISECONDS);
    route.tokens()
        .obtain()
        .whenComplete(
            (state, error) ->
                ctx.executor().execute(() -> {
                  giveUp.cancel(false);
                  if (exchange != ex || !ex.awaitingToken || closing) {
                    return; // the caller went away, or was answered meanwhile
                  }
                  ex.awaitingToken = false;
                  if (error == null) {
                    continueSafely(() -> next.accept(ex, state));
                    return;
                  }
                  Throwable cause = error instanceof CompletionException ? error.getCause() : error;
                  if (cause instanceof TokenUnavailableException unavailable) {
                    // The reason (provider down, credentials rejected with its RFC 6749 code) helps the caller
                    // tell an outage from a misconfiguration; it never holds a value (TokenHolder builds it).
                    tokenUnavailable(ex, unavailable.getMessage(), unavailable.retryAfterSeconds());
                  } else {
                    tokenUnavailable(ex, "no valid access token", 5);
                  }
                }));
  }

  /**
   * Runs a step that continues an exchange from a callback (a renewal completed, a connection came): an
   * exception there would be logged and swallowed by Netty with nobody answering the caller, so it ends
   * the connection instead, as one thrown on the read path does (exceptionCaught).
   */
  private void continueSafely(Runnable step) {
    try {
      step.run();
    } catch (RuntimeException e) {
      log.debug("exchange failed: {}", e.getClass().getName()); // the message may quote a header value
      abort("the exchange failed");
    }
  }

  private void tokenUnavailable(Exchange ex, String message, long retryAfterSeconds) {
    FullHttpResponse response =
        JsonErrors.response(ctx.alloc(), HttpResponseStatus.SERVICE_UNAVAILABLE, "token_unavailable", message);
    response.headers().setInt(HttpHeaderNames.RETRY_AFTER, (int) Math.min(Integer.MAX_VALUE, retryAfterSeconds));
    respond(ex, response);
    drain();
  }

  private void proceed(Exchange ex, TokenState token) {
    ex.token = token;
    RelayRoute route = ex.route;
    // The first attempt rewrites the caller's head in place; a replay only puts the renewed token in.
    RelayRoute.Outbound outbound =
        ex.outbound == null ? route.outbound(ex.request, token, caller()) : route.inject(ex.outbound, token);
    ex.outbound = outbound;
    ex.replacementBody = outbound.replacementBody();
    if (origin != null && origin.isActive()) {
      send(ex, outbound.head()); // a replay on the connection that carried the first attempt
      return;
    }
    origin = null;
    OriginPool pool = origins.of(route);
    Channel idle = pool.pollIdle();
    if (idle != null) {
      use(ex, pool, idle, outbound.head());
      return;
    }
    Future<Channel> acquired = pool.acquire(ctx.channel().eventLoop());
    if (acquired.isDone()) {
      acquired(ex, pool, acquired, outbound.head());
    } else {
      acquired.addListener(f -> continueSafely(() -> acquired(ex, pool, acquired, outbound.head())));
    }
  }

  /**
   * Who is calling, for the forwarding headers; computed once per caller connection (kept on it, so that
   * each HTTP/2 stream does not format the address and walk the connection's pipeline again).
   */
  private RelayRoute.Caller caller() {
    if (caller == null) {
      Channel connection = stream ? ctx.channel().parent() : ctx.channel();
      io.netty.util.Attribute<RelayRoute.Caller> known = connection.attr(CALLER);
      caller = known.get();
      if (caller == null) {
        String address =
            connection.remoteAddress() instanceof java.net.InetSocketAddress remote
                ? remote.getAddress().getHostAddress()
                : "unknown";
        boolean tls = connection.pipeline().get(io.netty.handler.ssl.SslHandler.class) != null;
        caller = new RelayRoute.Caller(address, tls, stream);
        known.set(caller);
      }
    }
    return caller;
  }

  private static final io.netty.util.AttributeKey<RelayRoute.Caller> CALLER =
      io.netty.util.AttributeKey.valueOf(CallerHandler.class, "caller");

  private void acquired(Exchange ex, OriginPool pool, Future<Channel> acquired, HttpRequest head) {
    if (exchange != ex || closing) {
      if (acquired.isSuccess()) {
        pool.release(acquired.getNow()); // the caller went away meanwhile; the connection is unused
      }
      return;
    }
    if (!acquired.isSuccess()) {
      if (acquired.cause() instanceof OriginPool.PoolExhaustedException) {
        respond(ex, HttpResponseStatus.SERVICE_UNAVAILABLE, "upstream_busy", "every upstream connection is busy", null);
      } else if (acquired.cause() instanceof OriginConnector.TlsFailure) {
        respond(ex, HttpResponseStatus.BAD_GATEWAY, "upstream_tls_failed", "the TLS handshake with the upstream failed", null);
      } else {
        log.debug("cannot connect to the upstream: {}", acquired.cause().toString());
        respond(ex, HttpResponseStatus.BAD_GATEWAY, "upstream_unreachable", "cannot connect to the upstream", null);
      }
      drain();
      return;
    }
    use(ex, pool, acquired.getNow(), head);
  }

  private void use(Exchange ex, OriginPool pool, Channel connection, HttpRequest head) {
    origin = connection;
    originPool = pool;
    originHandler = OriginHandler.of(origin);
    originHandler.owner(this);
    followCallerWritability();
    send(ex, head);
  }

  private void send(Exchange ex, HttpRequest head) {
    startTotalTimeout(ex);
    originHandler.touch();
    // Void promises: a failed write fires exceptionCaught on the origin channel, and OriginHandler closes
    // it, which is what a close-on-failure listener per write did, without a promise and a listener each.
    origin.write(head, origin.voidPromise());
    if (ex.replayed || ex.retrying) {
      // A 401 replay hands the kept pieces over (there is no second replay); a retry after a refused
      // stream sends duplicates and keeps them, so that a 401 to the retry can still be replayed.
      boolean handOver = !ex.retrying;
      ex.retrying = false;
      if (ex.replacementBody != null) {
        // relay.data stands in for the body: rendered again with the current token, never the kept copy.
        if (handOver) {
          releaseKept(ex);
        }
        origin.write(new DefaultLastHttpContent(Unpooled.wrappedBuffer(ex.replacementBody)), origin.voidPromise());
      } else {
        // The whole body was kept: send it again as it went the first time, then wait for the answer.
        boolean ended = false;
        if (ex.kept != null) {
          for (HttpContent content : ex.kept) {
            ended = content instanceof LastHttpContent;
            origin.write(handOver ? content : content.retainedDuplicate(), origin.voidPromise());
          }
          if (handOver) {
            ex.kept.clear();
          }
        }
        if (!ended) {
          origin.write(LastHttpContent.EMPTY_LAST_CONTENT, origin.voidPromise());
        }
      }
      if (handOver) {
        ex.keptBytes = 0;
      }
      awaitResponse(ex);
    }
    ex.headSent = true;
    drain(); // forwards the body queued meanwhile, flushes the origin, reads on
    if (origin != null) {
      origin.read();
    }
  }

  private void forward(HttpContent content) {
    Exchange ex = exchange;
    boolean last = content instanceof LastHttpContent;
    if (last && !ex.local && !((LastHttpContent) content).trailingHeaders().isEmpty()) {
      HttpHeaders trailers = ((LastHttpContent) content).trailingHeaders();
      // HTTP/1.1 trailers are checked as they are decoded (RelayHeaders.TRAILERS); HTTP/2 ones, like heads, here.
      if (stream && Headers.hasInvalidField(trailers)) {
        content.release();
        abort("the caller sent a malformed trailer");
        return;
      }
      ex.route.stripTrailers(trailers);
    }
    if (ex.local || origin == null) {
      content.release();
    } else {
      HttpContent out = content;
      if (last && ex.replacementBody != null) {
        content.release();
        out = new DefaultLastHttpContent(Unpooled.wrappedBuffer(ex.replacementBody));
      }
      keep(ex, out);
      originHandler.touch();
      origin.write(out, origin.voidPromise());
    }
    if (last) {
      ex.requestDone = true;
      if (ex.responseDone) {
        finish(ex);
      } else if (!ex.local) {
        awaitResponse(ex);
      }
    }
  }

  /**
   * Starts the response timeout of {@code ex}. One check is scheduled per connection, not per request:
   * it looks at the deadlines of whatever exchange is current when it runs and schedules itself again for
   * the time left (as Netty's IdleStateHandler does), so a request costs a field write, not a timer.
   */
  private void awaitResponse(Exchange ex) {
    ex.responseDeadline = System.nanoTime() + ex.route.origin().responseTimeout().toNanos();
    checkBy(ex.responseDeadline);
  }

  /** Starts the whole-exchange limit of {@code ex}, when its route has one. */
  private void startTotalTimeout(Exchange ex) {
    long total = ex.route.origin().totalTimeout().toNanos();
    if (total > 0 && ex.totalDeadline == 0) {
      ex.totalDeadline = System.nanoTime() + total;
      checkBy(ex.totalDeadline);
    }
  }

  /** Makes sure the deadline check runs no later than {@code deadline}. */
  private void checkBy(long deadline) {
    if (deadlineCheck != null && deadlineCheckAt - deadline <= 0) {
      return; // the pending check runs first and reschedules itself for what is left
    }
    if (deadlineCheck != null) {
      deadlineCheck.cancel(false); // rare: a shorter deadline than the pending check's
    }
    deadlineCheckAt = deadline;
    deadlineCheck =
        ctx.executor().schedule(this::checkDeadlines, Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
  }

  private void checkDeadlines() {
    deadlineCheck = null;
    Exchange ex = exchange;
    if (closing) {
      return;
    }
    long now = System.nanoTime();
    if (ex == null) {
      if (stream) {
        return;
      }
      if (queue.isEmpty()
          && (now - (idleSince + IDLE_NANOS) >= 0 || (headDeadline != 0 && now - headDeadline >= 0))) {
        closing = true;
        // An idle keep-alive caller, or one dribbling a head: a half-sent head has no HTTP answer.
        ctx.close();
      } else {
        checkBy(idleSince + IDLE_NANOS);
        if (headDeadline != 0) {
          checkBy(headDeadline);
        }
      }
      return;
    }
    if (ex.local) {
      return;
    }
    if (ex.totalDeadline != 0 && now - ex.totalDeadline >= 0) {
      ex.totalDeadline = 0;
      ex.responseDeadline = 0;
      if (!ex.responseStarted) {
        closeOrigin();
        respond(ex, HttpResponseStatus.GATEWAY_TIMEOUT, "upstream_timeout", "the upstream did not answer in time", null);
        drain();
      } else {
        abort("the exchange took longer than the route's total timeout");
      }
      return;
    }
    if (ex.responseDeadline != 0 && now - ex.responseDeadline >= 0) {
      ex.responseDeadline = 0;
      if (!ex.responseStarted && !ex.swallowing) {
        closeOrigin();
        respond(ex, HttpResponseStatus.GATEWAY_TIMEOUT, "upstream_timeout", "the upstream did not answer in time", null);
        drain();
        return;
      }
    }
    if (ex.responseDeadline != 0) {
      checkBy(ex.responseDeadline); // checkBy keeps whichever check comes first
    }
    if (ex.totalDeadline != 0) {
      checkBy(ex.totalDeadline);
    }
  }

  private static void cancelResponseTimer(Exchange ex) {
    ex.responseDeadline = 0; // the per-connection check finds nothing to do
  }

  /**
   * Keeps a copy of {@code content} for a replay while the body stays within the limit. The copy shares
   * the buffer (a retained duplicate, no bytes copied); past the limit everything kept is released.
   */
  private void keep(Exchange ex, HttpContent content) {
    if (!ex.keeping || ex.replayed) {
      return;
    }
    int size = content.content().readableBytes();
    if (ex.keptBytes + size > ex.route.replayLimit()) {
      releaseKept(ex);
      return;
    }
    if (size == 0 && (!(content instanceof LastHttpContent end) || end.trailingHeaders().isEmpty())) {
      return; // nothing to send again (the replay ends with an empty last piece of its own)
    }
    ex.keptBytes += size;
    if (ex.kept == null) {
      ex.kept = new ArrayList<>(2);
    }
    ex.kept.add(content.retainedDuplicate());
  }

  private static void releaseKept(Exchange ex) {
    ex.keeping = false;
    if (ex.kept != null) {
      for (HttpContent c : ex.kept) {
        c.release();
      }
      ex.kept = null;
    }
  }

  /**
   * A 401 is replayed once, when the whole request was kept and the token can be renewed: the upstream
   * rejected a token the relay thought valid (revoked, or expired early), which a renewal fixes. A
   * {@code WWW-Authenticate} naming another error than {@code invalid_token} is passed through.
   */
  private boolean replayable(Exchange ex, HttpResponse response) {
    if (!ex.keeping || ex.replayed || !ex.requestDone || ex.token == null) {
      return false;
    }
    String challenge = response.headers().get(HttpHeaderNames.WWW_AUTHENTICATE);
    return challenge == null || !challenge.contains("error=") || challenge.contains("invalid_token");
  }

  /** Called once the upstream's 401 has been read through: renew the token and send the request again. */
  private void replay(Exchange ex) {
    ex.swallowing = false;
    ex.replayed = true;
    ex.headSent = false;
    ex.responseStarted = false;
    ex.closeDelimited = false;
    ex.responseDeadline = 0; // the first attempt's; the replay arms its own once sent
    if (origin instanceof Http2StreamChannel) {
      releaseOrigin(); // the 401's stream has ended: the replay goes on a stream of its own
    } else if (!ex.originReusable) {
      closeOrigin();
    }
    ex.route.tokens().invalidate(ex.token);
    withToken(ex, this::proceed);
  }

  // ---- the origin side, called by OriginHandler on this channel's event loop ----

  boolean isCurrentOrigin(Channel channel) {
    return channel == origin;
  }

  void responseHead(HttpResponse response) {
    Exchange ex = exchange;
    if (ex == null || ex.local || ex.responseStarted) {
      ReferenceCountUtil.release(response);
      closeOrigin(); // an answer nobody asked for: the connection is out of step
      return;
    }
    if (response.decoderResult().isFailure()) {
      // Not HTTP/1.1 (an HTTP/2-only port answers with a SETTINGS frame), or malformed: never relayed.
      log.debug("malformed response from the upstream: {}", response.decoderResult().cause().toString());
      ReferenceCountUtil.release(response);
      closeOrigin();
      respond(ex, HttpResponseStatus.BAD_GATEWAY, "upstream_bad_response", "the upstream sent a malformed response", null);
      drain();
      return;
    }
    int status = response.status().code();
    if (status >= 100 && status < 200) {
      // 100 Continue was already sent to the caller by HttpServerExpectContinueHandler; other 1xx are
      // informational and optional. Swallow them, and the empty end the decoder gives each.
      ex.inInformational = true;
      origin.read();
      return;
    }
    if (status == 401 && replayable(ex, response)) {
      ex.swallowing = true;
      ex.originReusable = HttpUtil.isKeepAlive(response)
          && (response.headers().contains(HttpHeaderNames.CONTENT_LENGTH)
              || HttpUtil.isTransferEncodingChunked(response));
      origin.read();
      return;
    }
    cancelResponseTimer(ex);
    ex.status = status;
    ex.responseStarted = true;
    ex.originReusable = HttpUtil.isKeepAlive(response);
    boolean chunked = HttpUtil.isTransferEncodingChunked(response);
    boolean bodyless = ex.head || status == 204 || status == 304;
    Headers.stripHopByHop(response.headers());
    response.setProtocolVersion(HttpVersion.HTTP_1_1);
    if (!bodyless && !response.headers().contains(HttpHeaderNames.CONTENT_LENGTH)) {
      if (!chunked) {
        ex.closeDelimited = true;
        ex.originReusable = false;
      }
      if (ex.http10) {
        ex.keepAlive = false; // an HTTP/1.0 caller reads the body until we close
      } else {
        response.headers().set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
      }
    }
    if (!ex.keepAlive) {
      response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    } else if (ex.http10) {
      response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
    }
    // Void promises on the caller side too: a failed write fires exceptionCaught here, which aborts.
    toCaller(response);
  }

  void responseContent(HttpContent content) {
    Exchange ex = exchange;
    if (content.decoderResult().isFailure()) {
      content.release();
      closeOrigin();
      if (ex == null || ex.local) {
        return;
      }
      if (ex.swallowing) {
        ex.originReusable = false;
        replay(ex); // the 401 being discarded was malformed: the replay answers instead
      } else if (ex.responseStarted && !ex.responseDone) {
        abort("the upstream sent a malformed response body");
      } else if (!ex.responseStarted) {
        respond(ex, HttpResponseStatus.BAD_GATEWAY, "upstream_bad_response", "the upstream sent a malformed response", null);
        drain();
      }
      return;
    }
    boolean last = content instanceof LastHttpContent;
    if (ex != null && ex.swallowing) {
      content.release();
      if (last) {
        replay(ex);
      } else if (origin != null) {
        origin.read();
      }
      return;
    }
    if (ex == null || !ex.responseStarted) {
      if (ex != null && ex.inInformational && last) {
        ex.inInformational = false;
      } else if (ex == null || !ex.inInformational) {
        closeOrigin();
      }
      content.release();
      if (origin != null) {
        origin.read();
      }
      return;
    }
    toCaller(content);
    if (last) {
      ex.responseDone = true;
      ctx.flush();
      if (ex.requestDone) {
        finish(ex);
      } else {
        // The origin answered before taking the whole body (say, 413): the rest cannot be relayed on
        // this connection, so both connections end once the answer is out.
        ex.originReusable = false;
        ex.keepAlive = false;
        finish(ex);
      }
    }
  }

  void originReadComplete() {
    ctx.flush();
    followCallerWritability();
  }

  void originWritabilityChanged() {
    if (origin != null && origin.isWritable()) {
      drain();
    }
  }

  void originClosed(Channel channel) {
    if (channel != origin) {
      return;
    }
    origin = null;
    Exchange ex = exchange;
    if (ex == null || ex.local || ex.responseDone) {
      return;
    }
    if (!ex.headSent) {
      return; // a fresh connection is being made for this exchange
    }
    if (ex.swallowing) {
      ex.originReusable = false;
      replay(ex); // the 401 ended with the connection
      return;
    }
    if (ex.refusedUnprocessed && !ex.responseStarted && !ex.retried && !ex.replayed && ex.requestDone && ex.keeping) {
      retry(ex);
      return;
    }
    if (!ex.responseStarted) {
      respond(ex, HttpResponseStatus.BAD_GATEWAY, "upstream_closed", "the upstream closed the connection without a response", null);
      drain();
    } else if (ex.closeDelimited) {
      responseContent(LastHttpContent.EMPTY_LAST_CONTENT); // its close marks the end of the body
    } else {
      abort("the upstream closed the connection mid-response");
    }
  }

  /** The upstream refused {@code channel}'s stream without processing it (OriginHandler tells). */
  void originRefused(Channel channel) {
    if (channel == origin && exchange != null) {
      exchange.refusedUnprocessed = true;
    }
  }

  /**
   * Sends an exchange whose stream the upstream refused unprocessed again, once, on a stream of a
   * connection that is not going away (the pool replaces one that got GOAWAY): what nginx and Envoy do,
   * and safe for any method, as the upstream has said it did nothing with the request.
   */
  private void retry(Exchange ex) {
    ex.retried = true;
    ex.refusedUnprocessed = false;
    ex.retrying = true;
    ex.headSent = false;
    ex.responseDeadline = 0; // the refused attempt's; the retry arms its own once sent
    withToken(ex, this::proceed);
  }

  void originTlsFailed() {
    Exchange ex = exchange;
    if (ex != null && ex.headSent && !ex.responseStarted && !ex.local) {
      closeOrigin();
      respond(ex, HttpResponseStatus.BAD_GATEWAY, "upstream_tls_failed", "the TLS handshake with the upstream failed", null);
      drain();
    }
  }

  void originTimedOut() {
    Exchange ex = exchange;
    if (ex != null && ex.headSent && !ex.responseStarted && !ex.local) {
      closeOrigin();
      respond(ex, HttpResponseStatus.GATEWAY_TIMEOUT, "upstream_timeout", "the upstream did not answer in time", null);
      drain();
    } else if (ex != null && ex.responseStarted && !ex.responseDone) {
      abort("the upstream stalled mid-response");
    } else {
      closeOrigin(); // idle keep-alive connection
    }
  }

  // ---- endings ----

  private void respond(Exchange ex, HttpResponseStatus status, String code, String message, String allow) {
    FullHttpResponse response = JsonErrors.response(ctx.alloc(), status, code, message);
    if (allow != null) {
      response.headers().set(HttpHeaderNames.ALLOW, allow);
    }
    respond(ex, response);
  }

  /** Answers {@code ex} from the relay itself; whatever of its body arrives is discarded. */
  private void respond(Exchange ex, FullHttpResponse response) {
    if (ex.responseStarted) {
      response.release();
      abort("cannot answer after the response started");
      return;
    }
    ex.local = true;
    ex.responseStarted = true;
    ex.responseDone = true;
    ex.status = response.status().code();
    ex.originReusable = false;
    if (!ex.requestDone && ex.expectsBody) {
      // Reading and discarding an unknown amount of body is worse than making the caller reconnect.
      ex.keepAlive = false;
    }
    if (!ex.keepAlive) {
      response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }
    toCaller(response);
    ctx.flush();
    if (!ex.keepAlive || ex.requestDone) {
      finish(ex);
    }
  }

  /** Writes a response message to the caller (a void promise: a failed write fires exceptionCaught). */
  private void toCaller(HttpObject msg) {
    if (observer != null) {
      observer.writing(msg);
    }
    ctx.write(msg, ctx.voidPromise());
  }

  private static boolean expectsBody(HttpRequest request) {
    try {
      return HttpUtil.isTransferEncodingChunked(request) || HttpUtil.getContentLength(request, 0L) > 0;
    } catch (NumberFormatException e) {
      // A request the decoder refused for its Content-Length ("abc", "3, 30"): a body may follow.
      return true;
    }
  }

  private void finish(Exchange ex) {
    if (exchange != ex) {
      return;
    }
    exchange = null;
    cancelResponseTimer(ex);
    releaseKept(ex);
    if (log.isDebugEnabled()) {
      String uri = ex.target;
      int q = uri.indexOf('?');
      log.debug(
          "{} {} -> {} in {} ms",
          ex.request.method(),
          q < 0 ? uri : uri.substring(0, q), // never the query: it may carry sensitive values
          ex.status,
          (System.nanoTime() - ex.startNanos) / 1_000_000);
    }
    if (ex.originReusable && ex.requestDone) {
      releaseOrigin(); // the pool outlives this caller connection
    } else {
      closeOrigin();
    }
    if (!ex.keepAlive) {
      closing = true;
      releaseQueue();
      if (stream) {
        // The response is written; a stream whose request is not yet complete is reset (RST_STREAM),
        // which tells an HTTP/2 caller to stop sending without closing its connection.
        ctx.flush();
        ctx.close();
      } else {
        ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
      }
      return;
    }
    becomeIdle();
    drain();
  }

  private void abort(String why) {
    log.debug("closing the caller connection: {}", why);
    closing = true;
    if (exchange != null) {
      releaseKept(exchange);
    }
    releaseQueue();
    closeOrigin();
    ctx.close();
  }

  /**
   * The origin is read while the caller can take what it sends: auto-read on the origin channel follows
   * the caller's writability. Toggling only when backpressure starts or ends (rather than asking for each
   * read, as the caller side does) spares the two epoll_ctl calls a manual read costs per response.
   */
  private void followCallerWritability() {
    if (origin != null) {
      origin.config().setAutoRead(ctx.channel().isWritable());
    }
  }

  private void releaseOrigin() {
    Channel o = origin;
    origin = null;
    if (o != null) {
      originPool.release(o);
    }
  }

  private void closeOrigin() {
    Channel o = origin;
    origin = null;
    if (o != null) {
      o.close();
    }
  }

  private void releaseQueue() {
    for (HttpObject msg; (msg = queue.poll()) != null; ) {
      ReferenceCountUtil.release(msg);
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    followCallerWritability();
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof ChannelInputShutdownEvent) {
      // The caller half-closed (half-closure is allowed so that this reaches us): what it sent before is
      // still answered, and the connection closes after that; a request cut short cannot be relayed.
      inputShutdown = true;
      Exchange ex = exchange;
      if (ex == null && queue.isEmpty()) {
        closing = true;
        ctx.close();
      } else if (ex != null && !ex.requestDone && !ex.local && !requestEndQueued()) {
        abort("the caller closed its side mid-request");
      } else if (ex != null && !requestQueued()) {
        ex.keepAlive = false; // the last request: close once it is answered
      }
      return;
    }
    ReferenceCountUtil.release(evt);
  }

  /** Whether another request (a pipelined one) waits in the queue. */
  private boolean requestQueued() {
    for (HttpObject msg : queue) {
      if (msg instanceof HttpRequest) {
        return true;
      }
    }
    return false;
  }

  /** Whether the end of the current request has arrived and waits in the queue. */
  private boolean requestEndQueued() {
    for (HttpObject msg : queue) {
      if (msg instanceof LastHttpContent) {
        return true;
      }
    }
    return false;
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    stopChecking();
    if (observer != null) {
      observer.ended();
    }
    if (exchange != null) {
      cancelResponseTimer(exchange);
      releaseKept(exchange);
    }
    exchange = null;
    releaseQueue();
    closeOrigin();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    // Usually a reset by the caller. The message of a Netty or I/O exception holds no request content.
    log.debug("caller connection failed: {}", cause.toString());
    abort("caller connection failed");
  }
}
