package io.oauth2relay.server.testing;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;

/**
 * A hand-written HTTP/2 upstream API for the tests of the relay's HTTP/2 origin side: cleartext HTTP/2 with
 * prior knowledge (h2c) on {@code 127.0.0.1} and a free port, on Netty's own server codec
 * ({@code Http2FrameCodec} + {@code Http2MultiplexHandler}). It is hand-written because nginx, the real
 * server the other data-plane tests use ({@link NginxServer}), can neither check a bearer token against
 * the tokens a test's token endpoint issued nor send GOAWAY or hold responses when a test asks.
 *
 * <p>Every stream is one request. It gets {@code 200} and a JSON echo (method, path, stream, connection,
 * body length; never the token) when its token passes the check it was started with and is not the token
 * it was told to reject; else {@code 401} with {@code WWW-Authenticate: Bearer error="invalid_token"}, as
 * a resource server answers. The token is read from a single {@code Authorization: Bearer} header, or
 * from a field of a JSON body ({@link #tokenFromJsonBody}).
 *
 * <p>Knobs, set before the requests they affect:
 *
 * <ul>
 *   <li>{@link #rejectFirstToken}: the first token it sees is refused from then on (the relay holds a
 *       token the upstream considers revoked);
 *   <li>{@link #goAwayAfter}: on the n-th stream of each connection it sends GOAWAY ({@code NO_ERROR},
 *       last stream id = that stream) before answering it, as nginx does at {@code keepalive_requests},
 *       and closes the connection once that answer is out ({@link #keepOpenAfterGoAway}: leaves the
 *       closing to the client, as RFC 9113 §6.8 allows);
 *   <li>{@link #refuseOnceWithGoAway}: the first request for a path is refused unprocessed by a GOAWAY
 *       whose last stream id is below its stream;
 *   <li>{@link #holdResponses}: each answer waits this long once its request is complete, so that
 *       streams overlap (no assertion is made on the time);
 *   <li>{@link #holdResponsesUntil}: the answers to one path wait until the test releases them.
 * </ul>
 *
 * <p>Counters (connections, streams, the most streams open at once on one connection) and the
 * {@link #requests() requests} are updated before a response is written, so they are up to date once the
 * caller has its response. Thread-safe; one event loop serves every connection.
 */
public final class Http2Upstream implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * One request as the upstream received it.
   *
   * @param connection which connection carried it (1 for the first the upstream accepted)
   * @param streamId its HTTP/2 stream id on that connection
   * @param token the credential it carried, or {@code null}; never printed ({@link #toString})
   * @param body the request body as received
   * @param status what the upstream answered
   */
  public record Request(int connection, int streamId, String method, String path, String token, byte[] body, int status) {
    /** The body as UTF-8 text. */
    public String bodyText() {
      return new String(body, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
      // Assertion messages print records: neither the token nor a body that may carry one.
      return "Request{connection=" + connection + ", stream=" + streamId + ", " + method + " " + path
          + ", token=" + (token == null ? "none" : "****") + ", bodyLength=" + body.length + ", status=" + status + "}";
    }
  }

  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final Channel listener;
  private final Predicate<String> validToken;
  private final AtomicInteger connections = new AtomicInteger();
  private final AtomicInteger closedConnections = new AtomicInteger();
  private final AtomicInteger streams = new AtomicInteger();
  private final AtomicInteger maxOpenStreams = new AtomicInteger();
  private final List<Request> requests = new CopyOnWriteArrayList<>();
  /** The token refused whatever the check says; set by the first request once {@link #rejectFirstToken} was called. */
  private final AtomicReference<String> rejected = new AtomicReference<>();
  /** Paths whose answers wait for the test, and what they wait for. */
  private final Map<String, CompletionStage<?>> releases = new ConcurrentHashMap<>();

  private volatile boolean rejectFirst;
  private volatile int goAwayAfter;
  private volatile boolean keepOpenAfterGoAway;
  /** A path whose first request is refused unprocessed by a GOAWAY below its stream; {@code null}: none. */
  private volatile String refuseOnce;
  private volatile long holdMillis;
  private volatile String tokenField;

  private Http2Upstream(Predicate<String> validToken, int maxConcurrentStreams) throws InterruptedException {
    this.validToken = validToken;
    Http2Settings settings = Http2Settings.defaultSettings();
    if (maxConcurrentStreams > 0) {
      settings.maxConcurrentStreams(maxConcurrentStreams); // advertised in the server's connection preface
    }
    listener =
        new ServerBootstrap()
            .group(group)
            .channel(NioServerSocketChannel.class)
            .childHandler(
                new ChannelInitializer<Channel>() {
                  @Override
                  protected void initChannel(Channel ch) {
                    Connection connection = new Connection(connections.incrementAndGet());
                    // A graceful close waits for the streams in progress (the builder's default, 0, closes at once).
                    Http2FrameCodec codec =
                        Http2FrameCodecBuilder.forServer().initialSettings(settings).gracefulShutdownTimeoutMillis(30_000).build();
                    ch.closeFuture().addListener(f -> closedConnections.incrementAndGet());
                    ch.pipeline()
                        .addLast(
                            codec,
                            new Http2MultiplexHandler(
                                new ChannelInitializer<Http2StreamChannel>() {
                                  @Override
                                  protected void initChannel(Http2StreamChannel stream) {
                                    stream.pipeline().addLast(new StreamHandler(connection));
                                  }
                                }));
                  }
                })
            .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
            .sync()
            .channel();
  }

  /**
   * Starts an upstream that accepts the tokens {@code validToken} accepts, with no stream limit of its own.
   */
  public static Http2Upstream start(Predicate<String> validToken) throws InterruptedException {
    return start(validToken, 0);
  }

  /**
   * Starts an upstream that accepts the tokens {@code validToken} accepts and advertises
   * {@code SETTINGS_MAX_CONCURRENT_STREAMS = maxConcurrentStreams} (0: none advertised).
   */
  public static Http2Upstream start(Predicate<String> validToken, int maxConcurrentStreams) throws InterruptedException {
    return new Http2Upstream(requireNonNull(validToken, "validToken"), maxConcurrentStreams);
  }

  /** The first token a request carries is refused (401) from then on, whatever the check says of it. */
  public Http2Upstream rejectFirstToken() {
    rejectFirst = true;
    return this;
  }

  /** On the {@code n}-th stream of each connection: GOAWAY before its answer, then close once it is out. */
  public Http2Upstream goAwayAfter(int n) {
    goAwayAfter = n;
    return this;
  }

  /** After a {@link #goAwayAfter} GOAWAY the connection stays open until the client closes it. */
  public Http2Upstream keepOpenAfterGoAway() {
    keepOpenAfterGoAway = true;
    return this;
  }

  /**
   * The first request for {@code path} is not answered: the connection sends GOAWAY with a last stream
   * id below that request's stream (RFC 9113 §6.8: it was not processed and may be retried), then closes
   * once the streams below are done. Later requests for the path are answered as any.
   */
  public Http2Upstream refuseOnceWithGoAway(String path) {
    refuseOnce = requireNonNull(path, "path");
    return this;
  }

  /** Each answer waits {@code hold} once its request is complete. */
  public Http2Upstream holdResponses(Duration hold) {
    holdMillis = hold.toMillis();
    return this;
  }

  /** The answers to requests for {@code path} wait until {@code release} completes. */
  public Http2Upstream holdResponsesUntil(String path, CompletionStage<?> release) {
    releases.put(requireNonNull(path, "path"), requireNonNull(release, "release"));
    return this;
  }

  /** Waits until {@code n} requests have been received (their bodies complete), at most {@code max}. */
  public void awaitRequests(int n, Duration max) throws InterruptedException {
    long deadline = System.nanoTime() + max.toNanos();
    while (requests.size() < n) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("the upstream received " + requests.size() + " requests, expected " + n + " within " + max);
      }
      Thread.sleep(10);
    }
  }

  /** The token is the string field {@code name} of a JSON request body instead of a bearer header. */
  public Http2Upstream tokenFromJsonBody(String name) {
    tokenField = requireNonNull(name, "name");
    return this;
  }

  /** {@code http://127.0.0.1:PORT}, without a trailing slash. */
  public URI baseUrl() {
    return URI.create("http://127.0.0.1:" + port());
  }

  public int port() {
    return ((InetSocketAddress) listener.localAddress()).getPort();
  }

  /** Connections accepted so far. */
  public int connections() {
    return connections.get();
  }

  /** Connections that have closed so far, whichever side closed them. */
  public int closedConnections() {
    return closedConnections.get();
  }

  /** Streams the callers opened so far, on every connection. */
  public int streams() {
    return streams.get();
  }

  /** The most streams that were open at once on any one connection. */
  public int maxOpenStreams() {
    return maxOpenStreams.get();
  }

  /** Every request received, in the order their bodies completed. */
  public List<Request> requests() {
    return List.copyOf(requests);
  }

  @Override
  public void close() {
    listener.close().syncUninterruptibly();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /** The state of one connection; touched by the event loop only. */
  private static final class Connection {
    final int id;
    int open;
    int opened;

    Connection(int id) {
      this.id = id;
    }
  }

  /** One stream: collects the request, then answers it. */
  private final class StreamHandler extends ChannelInboundHandlerAdapter {
    private final Connection connection;
    private final ByteArrayOutputStream body = new ByteArrayOutputStream();
    private Http2Headers headers;
    /** Whether this stream counts as open on its connection (until its answer's last frame is written). */
    private boolean open;
    private boolean complete;

    StreamHandler(Connection connection) {
      this.connection = connection;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      // The child channel exists once the caller's HEADERS opened the stream.
      streams.incrementAndGet();
      open = true;
      connection.opened++;
      connection.open++;
      maxOpenStreams.accumulateAndGet(connection.open, Math::max);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      try {
        boolean end = false;
        if (msg instanceof Http2HeadersFrame frame) {
          if (headers == null) {
            headers = frame.headers();
          }
          end = frame.isEndStream();
        } else if (msg instanceof Http2DataFrame frame) {
          ByteBuf data = frame.content();
          data.readBytes(body, data.readableBytes());
          end = frame.isEndStream();
        }
        if (end && !complete) {
          complete = true;
          requestComplete(ctx);
        }
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      } finally {
        ReferenceCountUtil.release(msg);
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      notOpen(); // reset by the caller, or the connection went away
    }

    private void notOpen() {
      if (open) {
        open = false;
        connection.open--;
      }
    }

    private void requestComplete(ChannelHandlerContext ctx) {
      Http2StreamChannel stream = (Http2StreamChannel) ctx.channel();
      int streamId = stream.stream().id();
      byte[] received = body.toByteArray();
      String token = token(received);
      if (token != null && rejectFirst) {
        rejected.compareAndSet(null, token);
      }
      boolean accepted = token != null && !token.equals(rejected.get()) && validToken.test(token);
      int status = accepted ? 200 : 401;
      String method = String.valueOf(headers.method());
      String path = String.valueOf(headers.path());
      requests.add(new Request(connection.id, streamId, method, path, token, received, status));
      if (path.equals(refuseOnce)) {
        refuseOnce = null;
        goAway(stream.parent(), Math.max(0, streamId - 2), true); // client streams are odd: the one before this
        return;
      }
      if (goAwayAfter > 0 && connection.opened == goAwayAfter) {
        goAway(stream.parent(), streamId, !keepOpenAfterGoAway);
      }
      String json =
          accepted
              ? "{\"method\":\"" + method + "\",\"path\":\"" + path + "\",\"stream\":" + streamId
                  + ",\"connection\":" + connection.id + ",\"bodyLength\":" + received.length + "}"
              : "{\"error\":\"invalid_token\"}";
      Runnable answer = () -> answer(ctx, status, json);
      CompletionStage<?> release = releases.get(path);
      long hold = holdMillis;
      if (release != null) {
        release.whenComplete((done, failed) -> ctx.executor().execute(answer));
      } else if (hold > 0) {
        ctx.executor().schedule(answer, hold, TimeUnit.MILLISECONDS);
      } else {
        answer.run();
      }
    }

    private String token(byte[] received) {
      String field = tokenField;
      if (field != null) {
        try {
          JsonNode value = JSON.readTree(received).get(field);
          return value == null || !value.isTextual() ? null : value.asText();
        } catch (java.io.IOException notJson) {
          return null;
        }
      }
      List<CharSequence> authorization = headers.getAll("authorization");
      if (authorization.size() != 1) {
        return null;
      }
      String value = authorization.get(0).toString();
      // The scheme is case-insensitive (RFC 9110, section 11.1).
      return value.toLowerCase(Locale.ROOT).startsWith("bearer ") ? value.substring(7).strip() : null;
    }

    private void answer(ChannelHandlerContext ctx, int status, String json) {
      if (!ctx.channel().isActive()) {
        return;
      }
      // Not open from here on: the caller may open its next stream as soon as this end arrives.
      notOpen();
      Http2Headers head = new DefaultHttp2Headers().status(Integer.toString(status)).set("content-type", "application/json");
      if (status == 401) {
        head.set("www-authenticate", "Bearer error=\"invalid_token\"");
      }
      ctx.write(new DefaultHttp2HeadersFrame(head));
      ctx.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.copiedBuffer(json, StandardCharsets.UTF_8), true));
    }
  }

  /**
   * A graceful GOAWAY: {@code lastStreamId} (the stream being served) is still answered, later streams are
   * not; Netty's {@code close()} then waits for the streams in progress before it closes the connection.
   */
  private static void goAway(Channel connection, int lastStreamId, boolean close) {
    Http2FrameCodec codec = connection.pipeline().get(Http2FrameCodec.class);
    ChannelHandlerContext codecContext = connection.pipeline().context(codec);
    codec.goAway(codecContext, lastStreamId, Http2Error.NO_ERROR.code(), Unpooled.EMPTY_BUFFER, codecContext.newPromise());
    codecContext.flush();
    if (close) {
      connection.close();
    }
  }

  @Override
  public String toString() {
    return "Http2Upstream{" + baseUrl() + ", connections=" + connections + ", streams=" + streams
        + ", maxOpenStreams=" + maxOpenStreams + "}";
  }
}
