package io.oauth2relay.server.proxy;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.channel.group.ChannelGroup;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2SecurityUtil;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.oauth2relay.server.config.OriginSpec;
import io.oauth2relay.server.config.TemplateValues;
import io.oauth2relay.server.internal.PemKeys;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens origin connections for a route: plain, or TLS with SNI and hostname verification against the
 * system trust store or the route's CA bundle, presenting the route's client certificate when it has one
 * (mutual TLS). Speaks HTTP/1.1, or HTTP/2 (prior knowledge over cleartext, ALPN over TLS); with
 * {@code auto} over TLS the upstream chooses through ALPN.
 *
 * <pre>
 *   HTTP/1.1:  [tls] -> http (HttpClientCodec) -> idle -> relay (OriginHandler)
 *   HTTP/2:    [tls] -> h2 (Http2FrameCodec) -> streams (Http2MultiplexHandler)
 *                each stream: h2-http (frames <-> HttpObjects) -> idle -> relay (OriginHandler)
 * </pre>
 */
final class OriginConnector {
  private static final Logger log = LoggerFactory.getLogger(OriginConnector.class);

  private final RelayRoute route;
  private final OriginSpec spec;
  private final Class<? extends Channel> channelClass;
  private final SslContext ssl;
  /** Every connection the relay has open, closed together at shutdown (RelayServer.close). */
  private final ChannelGroup open;

  /** A connection that is ready for requests, and whether it speaks HTTP/2. */
  record Ready(Channel channel, boolean h2) {}

  /** The TLS handshake with the upstream failed (untrusted or wrong-host certificate, refused client certificate). */
  static final class TlsFailure extends Exception {
    TlsFailure(Throwable cause) {
      super(cause.toString(), null, false, false);
    }
  }

  OriginConnector(RelayRoute route, Class<? extends Channel> channelClass, ChannelGroup open) throws SSLException {
    this.open = open;
    this.route = route;
    this.spec = route.origin();
    this.channelClass = channelClass;
    this.ssl = route.tls ? clientContext(spec) : null;
  }

  /** Whether connections are HTTP/2 before any is made (cleartext {@code h2}); {@code null}: ALPN decides. */
  Boolean knownH2() {
    return switch (spec.protocol()) {
      case HTTP1 -> false;
      case HTTP2 -> true;
      case AUTO -> ssl == null ? Boolean.FALSE : null;
    };
  }

  private static SslContext clientContext(OriginSpec spec) throws SSLException {
    SslContextBuilder b = SslContextBuilder.forClient();
    try {
      if (spec.caBundle() != null) {
        b.trustManager(PemKeys.certificates(spec.caBundle()));
      }
      if (spec.clientCertificate() != null) {
        char[] password = InboundTls.chars(spec.clientKeyPassword().render(TemplateValues.NONE));
        try {
          b.keyManager(PemKeys.privateKey(spec.clientKey(), password), PemKeys.certificates(spec.clientCertificate()));
        } finally {
          Arrays.fill(password, '\0');
        }
      }
    } catch (GeneralSecurityException e) {
      throw new SSLException(e.getMessage()); // names the file, never its content
    }
    switch (spec.protocol()) {
      case HTTP1 -> alpn(b, ApplicationProtocolNames.HTTP_1_1);
      case HTTP2 -> alpn(b.ciphers(Http2SecurityUtil.CIPHERS, SupportedCipherSuiteFilter.INSTANCE), ApplicationProtocolNames.HTTP_2);
      case AUTO -> alpn(b, ApplicationProtocolNames.HTTP_2, ApplicationProtocolNames.HTTP_1_1);
    }
    return b.build();
  }

  private static void alpn(SslContextBuilder b, String... protocols) {
    b.applicationProtocolConfig(
        new ApplicationProtocolConfig(
            ApplicationProtocolConfig.Protocol.ALPN,
            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
            protocols));
  }

  /**
   * Connects on {@code loop}, the caller's own event loop, so that both channels of an exchange are only
   * ever touched by one thread. The future completes once requests can be sent: at connect for cleartext
   * HTTP/1.1, after the handshake (and ALPN's choice) for TLS, and for HTTP/2 once the upstream's SETTINGS
   * have arrived as well ({@link SettingsReceived}).
   */
  Future<Ready> connect(EventLoop loop) {
    Promise<Ready> ready = loop.newPromise();
    ChannelFuture connect =
        new Bootstrap()
            .group(loop)
            .channel(channelClass)
            .option(ChannelOption.AUTO_READ, false)
            .option(ChannelOption.TCP_NODELAY, true)
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) spec.connectTimeout().toMillis())
            .handler(
                new ChannelInitializer<Channel>() {
                  @Override
                  protected void initChannel(Channel ch) {
                    open.add(ch);
                    if (ssl != null) {
                      addTls(ch, ready);
                    } else if (spec.protocol() == OriginSpec.Protocol.HTTP2) {
                      addHttp2(ch.pipeline(), ready);
                    } else {
                      addHttp1(ch.pipeline());
                    }
                  }
                })
            .connect(route.originHost, route.originPort);
    connect.addListener(
        (ChannelFuture f) -> {
          if (!f.isSuccess()) {
            ready.tryFailure(f.cause());
          } else if (ssl == null && spec.protocol() != OriginSpec.Protocol.HTTP2) {
            ready.trySuccess(new Ready(f.channel(), false));
          }
        });
    // A connection that closes before it is ready (a reset during the handshake) fails the wait.
    connect.channel().closeFuture().addListener(f -> ready.tryFailure(new java.nio.channels.ClosedChannelException()));
    return ready;
  }

  private void addTls(Channel ch, Promise<Ready> ready) {
    ChannelPipeline p = ch.pipeline();
    SslHandler tls = ssl.newHandler(ch.alloc(), route.originHost, route.originPort);
    SSLParameters params = tls.engine().getSSLParameters();
    params.setEndpointIdentificationAlgorithm("HTTPS");
    tls.engine().setSSLParameters(params);
    // Fails the wait before the handshake's failure closes the connection (which would say less).
    tls.handshakeFuture().addListener(f -> {
      if (!f.isSuccess()) {
        ready.tryFailure(new TlsFailure(f.cause()));
      }
    });
    p.addLast("tls-read", new HandshakeReads("alpn"));
    p.addLast("tls", tls);
    p.addLast(
        "alpn",
        new ApplicationProtocolNegotiationHandler(ApplicationProtocolNames.HTTP_1_1) {
          @Override
          protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
            if (ApplicationProtocolNames.HTTP_2.equals(protocol)) {
              addHttp2(ctx.pipeline(), ready);
            } else {
              addHttp1(ctx.pipeline());
              ready.trySuccess(new Ready(ctx.channel(), false));
            }
          }

          @Override
          protected void handshakeFailure(ChannelHandlerContext ctx, Throwable cause) {
            // Usually configuration (untrusted or wrong-host certificate): worth a warning, once per connection.
            log.warn("TLS handshake with the upstream failed: {} (host {})", cause.toString(), route.originHost);
            ready.tryFailure(new TlsFailure(cause));
            ctx.close();
          }
        });
  }

  private void addHttp1(ChannelPipeline p) {
    // Body pieces of up to 64 KiB, as on the listener (RelayServer.httpCodec explains why).
    HttpDecoderConfig decoding =
        new HttpDecoderConfig().setMaxChunkSize(RelayServer.BODY_PIECE).setHeadersFactory(RelayHeaders.UPSTREAM_HEADS)
            .setTrailersFactory(RelayHeaders.TRAILERS);
    p.addLast("http", new HttpClientCodec(decoding, false, false));
    p.addLast("relay", new OriginHandler(spec.idleTimeout().toMillis()));
  }

  /** The HTTP/2 steps; {@code ready} completes when the upstream's SETTINGS arrive. */
  private void addHttp2(ChannelPipeline p, Promise<Ready> ready) {
    Http2Settings settings =
        Http2Settings.defaultSettings()
            .pushEnabled(false) // a relay has no use for pushed responses
            .initialWindowSize(256 * 1024); // as the listener: bounded buffering per stream
    // Streams above the upstream's SETTINGS_MAX_CONCURRENT_STREAMS wait for a free slot instead of being
    // refused (which would be a 502 under load).
    p.addLast("h2", Http2FrameCodecBuilder.forClient().initialSettings(settings).encoderEnforceMaxConcurrentStreams(true).build());
    p.addLast("h2-idle", new IdleWatch(spec.idleTimeout().toMillis()));
    p.addLast("h2-idle-close", new CloseOnIdle());
    p.addLast("streams", new Http2MultiplexHandler(new ChannelInitializer<Channel>() {
      @Override
      protected void initChannel(Channel ch) {
        ch.close(); // the upstream opened a stream (push): refused
      }
    }));
    p.addLast("h2-goaway", new CloseAfterGoAway());
    p.addLast("h2-ready", new SettingsReceived(ready, spec.connectTimeout().toMillis()));
    // Streams carry the backpressure (their windows open only as the relay reads), so the connection
    // itself reads freely; settings, pings and window updates must always get through.
    p.channel().config().setAutoRead(true);
  }

  /** Opens one request stream on an HTTP/2 origin connection. */
  Future<Http2StreamChannel> openStream(Channel connection) {
    return new Http2StreamChannelBootstrap(connection)
        .option(ChannelOption.AUTO_READ, false)
        .handler(
            new ChannelInitializer<Http2StreamChannel>() {
              @Override
              protected void initChannel(Http2StreamChannel ch) {
                ChannelPipeline p = ch.pipeline();
                p.addLast("h2-http", new Http2StreamFrameToHttpObjectCodec(false));
                p.addLast("relay", new OriginHandler(spec.idleTimeout().toMillis()));
              }
            })
        .open();
  }

  /**
   * Makes an HTTP/2 connection ready on the upstream's first SETTINGS frame (its connection preface,
   * RFC 9113 §3.4), by which time the codec has applied them: until then the relay does not know the
   * upstream's SETTINGS_MAX_CONCURRENT_STREAMS, and the streams of exchanges waiting for the connection
   * would all be opened at once and those above the limit refused (a 502 each). An upstream that sends no
   * SETTINGS within the connect timeout is no HTTP/2 server: the wait fails and the connection closes.
   */
  private static final class SettingsReceived extends io.netty.channel.ChannelInboundHandlerAdapter {
    private final Promise<Ready> ready;
    private final long timeoutMillis;

    SettingsReceived(Promise<Ready> ready, long timeoutMillis) {
      this.ready = ready;
      this.timeoutMillis = timeoutMillis;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      io.netty.util.concurrent.ScheduledFuture<?> giveUp =
          ctx.executor()
              .schedule(
                  () -> {
                    if (ready.tryFailure(new io.netty.channel.ConnectTimeoutException("no HTTP/2 SETTINGS from the upstream"))) {
                      ctx.channel().close();
                    }
                  },
                  timeoutMillis,
                  TimeUnit.MILLISECONDS);
      ready.addListener(f -> giveUp.cancel(false));
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ctx.fireChannelRead(msg);
      if (msg instanceof io.netty.handler.codec.http2.Http2SettingsFrame) {
        ctx.pipeline().remove(this);
        ready.trySuccess(new Ready(ctx.channel(), true));
      }
    }
  }

  /**
   * Closes an HTTP/2 origin connection the upstream sent GOAWAY on once its last stream is done. The pool
   * sends no new stream to it, and RFC 9113 §6.8 lets either side close: an upstream that leaves that to
   * the client would otherwise keep it open until the idle timeout.
   */
  private static final class CloseAfterGoAway extends io.netty.channel.ChannelInboundHandlerAdapter {
    private boolean watching;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof io.netty.handler.codec.http2.Http2GoAwayFrame && !watching) {
        watching = true;
        io.netty.handler.codec.http2.Http2Connection connection =
            ctx.pipeline().get(io.netty.handler.codec.http2.Http2FrameCodec.class).connection();
        if (connection.numActiveStreams() == 0) {
          ctx.close();
        } else {
          connection.addListener(
              new io.netty.handler.codec.http2.Http2ConnectionAdapter() {
                @Override
                public void onStreamClosed(io.netty.handler.codec.http2.Http2Stream stream) {
                  if (connection.numActiveStreams() == 0) {
                    ctx.close();
                  }
                }
              });
        }
      }
      ctx.fireChannelRead(msg);
    }
  }

  /** Closes an HTTP/2 origin connection that carried nothing for the idle timeout. */
  private static final class CloseOnIdle extends io.netty.channel.ChannelInboundHandlerAdapter {
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof io.netty.handler.timeout.IdleStateEvent) {
        ctx.close();
        return;
      }
      ctx.fireUserEventTriggered(evt);
    }
  }
}
