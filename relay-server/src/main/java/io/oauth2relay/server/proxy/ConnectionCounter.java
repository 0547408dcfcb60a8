package io.oauth2relay.server.proxy;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * Counts one caller connection as open while it is (HTTP/1.1 or HTTP/2; it stays when a connection
 * switches). It overrides nothing a message passes through, so Netty's pipeline skips it for every read
 * and write.
 */
final class ConnectionCounter extends ChannelInboundHandlerAdapter {
  private final Traffic traffic;
  private boolean counted;

  ConnectionCounter(Traffic traffic) {
    this.traffic = traffic;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    counted = true;
    traffic.opened();
    ctx.fireChannelActive();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (counted) {
      counted = false;
      traffic.closed();
    }
    ctx.fireChannelInactive();
  }
}
