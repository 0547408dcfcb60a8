package io.oauth2relay.server.proxy;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerUpgradeHandler;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http2.CleartextHttp2ServerUpgradeHandler;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ServerUpgradeCodec;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.AsciiString;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.oauth2relay.server.config.ServerTls;
import io.oauth2relay.server.internal.Transports;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The listener: HTTP/1.1, HTTP/2 cleartext (prior knowledge or {@code Upgrade: h2c}) and, with a
 * {@code tls} section, HTTPS where ALPN chooses {@code h2} or {@code http/1.1}. Each caller connection
 * gets a pipeline of named steps:
 *
 * <pre>
 *   HTTP/1.1:  [tls] -> http (HttpServerCodec) -> observe -> authenticate -> relay (CallerHandler)
 *   cleartext: h2c (CleartextHttp2ServerUpgradeHandler: the HTTP/2 preface, or HTTP/1.1 with its codec
 *                 and Upgrade: h2c handling) -> observe -> ... as HTTP/1.1
 *   HTTP/2:    [tls] -> h2 (Http2FrameCodec) -> h2-idle -> streams (Http2MultiplexHandler)
 *                 each stream channel: h2-http (frames <-> HttpObjects) -> observe -> authenticate -> relay
 *
 *   (the h2c upgrade step leaves after a connection's first request; authenticate only when configured;
 *    the request-head timeout, the keep-alive idle timeout and 100-continue are CallerHandler's own)
 * </pre>
 *
 * <p>An HTTP/2 stream is a child channel that speaks {@code HttpObject}s, so {@link CallerHandler} relays
 * both versions with the same code; the stream's flow-control window is its backpressure (a stream's
 * window is only reopened as the relay reads what arrived).
 */
public final class RelayServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RelayServer.class);

  /** A keep-alive caller connection with no request for this long is closed. */
  static final Duration CALLER_IDLE_TIMEOUT = Duration.ofMinutes(5);
  /** The largest body of an {@code Upgrade: h2c} request, which must be read whole before switching. */
  static final int UPGRADE_BODY_LIMIT = 64 * 1024;

  static final String TLS_READ = "tls-read";
  static final String TLS = "tls";
  static final String ALPN = "alpn";
  static final String HTTP = "http";
  static final String H2C = "h2c";
  static final String H2 = "h2";
  static final String H2_IDLE = "h2-idle";
  static final String STREAMS = "streams";
  static final String RELAY = "relay";

  private final Router router;
  private final InboundSteps steps;
  private final long requestHeaderTimeoutMillis;
  private final SslContext ssl;
  private final Transports transport = Transports.best();
  private final EventLoopGroup boss;
  private final EventLoopGroup workers;
  private final Origins origins;
  /**
   * Every caller and origin connection (a group drops a channel when it closes). Closed explicitly at
   * shutdown: leaving it to the event loops' shutdown left, now and then, an idle pooled origin
   * connection open after close() had returned (ShutdownIT: about 1 close in 40 under load).
   */
  private final ChannelGroup open = new DefaultChannelGroup("relay-connections", GlobalEventExecutor.INSTANCE);
  private Channel listener;

  public RelayServer(Router router) throws SSLException {
    this(router, InboundSteps.NONE, null, Duration.ofSeconds(30), 0);
  }

  /**
   * @param steps handlers run before the relay handler (observe, authenticate)
   * @param tls the listener's TLS, or {@code null} for cleartext
   * @param requestHeaderTimeout how long an HTTP/1.1 caller may take over a request head
   * @param ioThreads event loops, or 0 for Netty's default (two per available processor)
   */
  public RelayServer(Router router, InboundSteps steps, ServerTls tls, Duration requestHeaderTimeout, int ioThreads)
      throws SSLException {
    this.router = router;
    this.requestHeaderTimeoutMillis = requestHeaderTimeout.toMillis();
    this.steps = steps;
    this.ssl = tls == null ? null : InboundTls.context(tls);
    this.boss = transport.newGroup(1, new DefaultThreadFactory("relay-accept", true));
    // 0: Netty's default, two loops per processor. Measured against one per processor on one pinned
    // processor shared with the upstream (compare.sh): the same at 64 callers, 27 % more requests per
    // second at 256 (each loop finds more ready connections per wake-up, fewer epoll waits per request).
    this.workers = transport.newGroup(Math.max(0, ioThreads), new DefaultThreadFactory("relay-io", true));
    this.origins = new Origins(router, transport.clientChannel(), open);
  }

  /** Binds and returns the bound address (port 0 picks a free port). */
  public InetSocketAddress start(String host, int port) throws InterruptedException {
    ServerBootstrap b =
        new ServerBootstrap()
            .group(boss, workers)
            .channel(transport.serverChannel())
            .option(ChannelOption.SO_BACKLOG, 1024)
            .childOption(ChannelOption.AUTO_READ, false)
            // A caller that half-closes after its request still gets the answer (CallerHandler).
            .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childHandler(
                new ChannelInitializer<Channel>() {
                  @Override
                  protected void initChannel(Channel ch) {
                    open.add(ch);
                    ChannelPipeline p = ch.pipeline();
                    if (ssl != null) {
                      addTls(p, ch); // the HTTP steps follow once ALPN has chosen
                      steps.addConnectionObserver(p);
                    } else {
                      addCleartextDetection(p);
                      steps.addConnectionObserver(p);
                      addHttp1Steps(p);
                    }
                  }
                });
    listener = b.bind(host, port).sync().channel();
    InetSocketAddress bound = (InetSocketAddress) listener.localAddress();
    log.info(
        "listening on {}:{} ({}, {} transport)",
        host,
        bound.getPort(),
        ssl != null ? "HTTPS with ALPN h2 and http/1.1" : "HTTP/1.1 and h2c",
        transport.name().toLowerCase());
    return bound;
  }

  // ---- the pipeline, in named steps ----

  private void addTls(ChannelPipeline p, Channel ch) {
    p.addLast(TLS_READ, new HandshakeReads(ALPN));
    p.addLast(TLS, ssl.newHandler(ch.alloc()));
    p.addLast(
        ALPN,
        new ApplicationProtocolNegotiationHandler(ApplicationProtocolNames.HTTP_1_1) {
          @Override
          protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
            ChannelPipeline p = ctx.pipeline();
            if (ApplicationProtocolNames.HTTP_2.equals(protocol)) {
              addHttp2(p);
            } else {
              p.addAfter(ctx.name(), HTTP, httpCodec());
              addHttp1Steps(p);
              ctx.channel().read(); // the first request
            }
          }

          @Override
          protected void handshakeFailure(ChannelHandlerContext ctx, Throwable cause) {
            // A caller without a valid certificate (mTLS), or a port scanner: not worth more than debug.
            log.debug("TLS handshake with a caller failed: {}", cause.toString());
            ctx.close();
          }
        });
  }

  /**
   * Cleartext callers speak HTTP/1.1, or HTTP/2 from the first byte (the preface: prior knowledge), or
   * HTTP/1.1 asking {@code Upgrade: h2c}. Either switch to HTTP/2 removes the HTTP/1.1 steps.
   */
  private void addCleartextDetection(ChannelPipeline p) {
    HttpServerCodec codec = httpCodec();
    HttpServerUpgradeHandler upgrade =
        new HttpServerUpgradeHandler(
            codec,
            protocol ->
                AsciiString.contentEquals(Http2CodecUtil.HTTP_UPGRADE_PROTOCOL_NAME, protocol)
                    ? new Http2ServerUpgradeCodec(H2, http2Codec(), new Http2MultiplexHandler(streamInitializer())) {
                      @Override
                      public void upgradeTo(ChannelHandlerContext ctx, FullHttpRequest request) {
                        removeHttp1Steps(ctx.pipeline());
                        super.upgradeTo(ctx, request);
                        ctx.channel().config().setAutoRead(true); // see addHttp2
                      }
                    }
                    : null,
            UPGRADE_BODY_LIMIT);
    p.addLast(
        H2C,
        new CleartextHttp2ServerUpgradeHandler(
            codec,
            upgrade,
            new ChannelInitializer<Channel>() {
              @Override
              protected void initChannel(Channel ch) {
                removeHttp1Steps(ch.pipeline());
                addHttp2(ch.pipeline()); // the caller sent the HTTP/2 preface: prior knowledge
              }
            }));
  }

  /**
   * The steps after the codec. {@code Expect: 100-continue} and the keep-alive idle timeout are the relay
   * handler's own: as pipeline steps they cost a hop for every message of every request.
   */
  private void addHttp1Steps(ChannelPipeline p) {
    steps.addAuthentication(p);
    p.addLast(RELAY, new CallerHandler(router, origins, requestHeaderTimeoutMillis, steps.exchangeObserver(false)));
  }

  /**
   * The HTTP/1.1 codec, with body pieces of up to 64 KiB (one socket read) rather than the default 8 KiB:
   * each piece costs a trip through both pipelines, and a 1 MiB upload in 8 KiB pieces spent most of its
   * time there. The pieces are still slices of the buffer read, never copies.
   */
  static HttpServerCodec httpCodec() {
    return new HttpServerCodec(
        new HttpDecoderConfig()
            .setMaxChunkSize(BODY_PIECE)
            // Values are checked by CallerHandler before use, so the head can be rewritten in place.
            .setHeadersFactory(RelayHeaders.CALLER_HEADS)
            .setTrailersFactory(RelayHeaders.TRAILERS));
  }

  /** The largest body piece the HTTP/1.1 decoders hand on (both directions). */
  static final int BODY_PIECE = 64 * 1024;

  private static void removeHttp1Steps(ChannelPipeline p) {
    for (String name : new String[] {InboundSteps.AUTHENTICATE, RELAY}) {
      if (p.get(name) != null) {
        p.remove(name);
      }
    }
  }

  private void addHttp2(ChannelPipeline p) {
    p.addLast(H2, http2Codec());
    p.addLast(H2_IDLE, new IdleStateHandler(0, 0, CALLER_IDLE_TIMEOUT.toSeconds(), TimeUnit.SECONDS));
    p.addLast("h2-idle-close", new CloseWhenIdle());
    p.addLast(STREAMS, new Http2MultiplexHandler(streamInitializer()));
    // Backpressure moves to the streams: each stream's flow-control window is only reopened as its
    // CallerHandler reads, so the connection itself may read freely.
    p.channel().config().setAutoRead(true);
  }

  private Http2FrameCodec http2Codec() {
    Http2Settings settings =
        Http2Settings.defaultSettings()
            // Each stream may hold a window of unread body in the relay: bound streams x window.
            .maxConcurrentStreams(128)
            // Above the 64 KiB default so one stream can fill a loopback or LAN link; 128 x 256 KiB bounds
            // what one connection can make the relay buffer.
            .initialWindowSize(256 * 1024)
            // The HTTP/1.1 side accepts 8 KiB of headers; HPACK-decoded lists of 16 KiB are plenty.
            .maxHeaderListSize(16 * 1024);
    return Http2FrameCodecBuilder.forServer().initialSettings(settings).validateHeaders(true).build();
  }

  private ChannelInitializer<Http2StreamChannel> streamInitializer() {
    return new ChannelInitializer<>() {
      @Override
      protected void initChannel(Http2StreamChannel ch) {
        ch.config().setAutoRead(false); // reads are driven by the origin's writability, as on HTTP/1.1
        ChannelPipeline p = ch.pipeline();
        // Names are validated by the HTTP/2 codec (validateHeaders), values by CallerHandler before use, as
        // on HTTP/1.1: a validating map here would scan the injected token again on every request.
        p.addLast("h2-http", new Http2StreamFrameToHttpObjectCodec(true, false));
        steps.addStreamSteps(p);
        p.addLast(RELAY, new CallerHandler(router, origins, 0, steps.exchangeObserver(true)));
      }
    };
  }

  /**
   * Closes an HTTP/2 connection on which nothing was read or written for the idle timeout, or whose caller
   * half-closed it (half-closure is allowed for HTTP/1.1's sake; an HTTP/2 client that stops sending has
   * no more use for the connection).
   */
  private static final class CloseWhenIdle extends ChannelInboundHandlerAdapter {
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof IdleStateEvent || evt instanceof io.netty.channel.socket.ChannelInputShutdownEvent) {
        ctx.close();
        return;
      }
      ctx.fireUserEventTriggered(evt);
    }
  }

  /** Stops accepting new connections; those already accepted keep being served (graceful drain). */
  public void stopAccepting() {
    if (listener != null) {
      listener.close().syncUninterruptibly();
    }
  }

  /** Stops accepting, then closes every connection. */
  @Override
  public void close() {
    if (listener != null) {
      listener.close().syncUninterruptibly();
    }
    open.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    boss.shutdownGracefully(0, 2, TimeUnit.SECONDS);
    workers.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
