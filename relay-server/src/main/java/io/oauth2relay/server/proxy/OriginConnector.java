package io.oauth2relay.server.proxy;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateHandler;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;

/** Opens origin connections for a route: plain or TLS (system trust store, SNI, hostname verification). */
final class OriginConnector {
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
  /** Nothing read or written for this long: a waiting exchange gets 504, an idle connection closes. */
  static final Duration IDLE_TIMEOUT = Duration.ofSeconds(60);

  private final RelayRoute route;
  private final Class<? extends Channel> channelClass;
  private final SslContext ssl;

  OriginConnector(RelayRoute route, Class<? extends Channel> channelClass) throws SSLException {
    this.route = route;
    this.channelClass = channelClass;
    this.ssl = route.tls ? SslContextBuilder.forClient().build() : null;
  }

  /**
   * Connects on {@code loop}, the caller's own event loop, so that both channels of an exchange are only
   * ever touched by one thread.
   */
  ChannelFuture connect(EventLoop loop, CallerHandler caller) {
    return new Bootstrap()
        .group(loop)
        .channel(channelClass)
        .option(ChannelOption.AUTO_READ, false)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) CONNECT_TIMEOUT.toMillis())
        .handler(
            new ChannelInitializer<Channel>() {
              @Override
              protected void initChannel(Channel ch) {
                ChannelPipeline p = ch.pipeline();
                if (ssl != null) {
                  SslHandler tls = ssl.newHandler(ch.alloc(), route.originHost, route.originPort);
                  SSLParameters params = tls.engine().getSSLParameters();
                  params.setEndpointIdentificationAlgorithm("HTTPS");
                  tls.engine().setSSLParameters(params);
                  p.addLast("tls", tls);
                }
                p.addLast("http", new HttpClientCodec());
                p.addLast("idle", new IdleStateHandler(0, 0, IDLE_TIMEOUT.toSeconds(), TimeUnit.SECONDS));
                p.addLast("relay", new OriginHandler(caller));
              }
            })
        .connect(route.originHost, route.originPort);
  }
}
