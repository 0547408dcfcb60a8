package io.oauth2relay.server.proxy;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerExpectContinueHandler;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.oauth2relay.server.internal.Transports;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP/1.1 listener. Each caller connection gets a pipeline of named steps:
 *
 * <pre>
 *   http (HttpServerCodec) -> continue (100-continue) -> idle (keep-alive timeout) -> relay (CallerHandler)
 * </pre>
 */
public final class RelayServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RelayServer.class);

  /** A keep-alive caller connection with no request for this long is closed. */
  static final Duration CALLER_IDLE_TIMEOUT = Duration.ofMinutes(5);

  private final Router router;
  private final InboundSteps steps;
  private final Transports transport = Transports.best();
  private final EventLoopGroup boss;
  private final EventLoopGroup workers;
  private final Origins origins;
  private Channel listener;

  public RelayServer(Router router) throws SSLException {
    this(router, InboundSteps.NONE);
  }

  /** @param steps handlers run before the relay handler (observe, authenticate) */
  public RelayServer(Router router, InboundSteps steps) throws SSLException {
    this.router = router;
    this.steps = steps;
    this.boss = transport.newGroup(1, new DefaultThreadFactory("relay-accept", true));
    this.workers = transport.newGroup(0, new DefaultThreadFactory("relay-io", true));
    this.origins = new Origins(router, transport.clientChannel());
  }

  /** Binds and returns the bound address (port 0 picks a free port). */
  public InetSocketAddress start(String host, int port) throws InterruptedException {
    ServerBootstrap b =
        new ServerBootstrap()
            .group(boss, workers)
            .channel(transport.serverChannel())
            .option(ChannelOption.SO_BACKLOG, 1024)
            .childOption(ChannelOption.AUTO_READ, false)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childHandler(
                new ChannelInitializer<Channel>() {
                  @Override
                  protected void initChannel(Channel ch) {
                    ChannelPipeline p = ch.pipeline();
                    p.addLast("http", new HttpServerCodec());
                    p.addLast("continue", new HttpServerExpectContinueHandler());
                    p.addLast(
                        "idle",
                        new IdleStateHandler(0, 0, CALLER_IDLE_TIMEOUT.toSeconds(), TimeUnit.SECONDS));
                    steps.addTo(p);
                    p.addLast("relay", new CallerHandler(router, origins));
                  }
                });
    listener = b.bind(host, port).sync().channel();
    InetSocketAddress bound = (InetSocketAddress) listener.localAddress();
    log.info("listening on {}:{} ({} transport)", host, bound.getPort(), transport.name().toLowerCase());
    return bound;
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
    boss.shutdownGracefully(0, 2, TimeUnit.SECONDS);
    workers.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
