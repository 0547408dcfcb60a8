package io.oauth2relay.server.proxy;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * Auto-read is off on caller and origin connections, but a TLS handshake must read until it is done:
 * this asks for every read while the ALPN handler (named {@code alpnName}) is still in the pipeline, and
 * removes itself once it is gone (the protocol is chosen; from then on the HTTP steps drive reads).
 */
final class HandshakeReads extends ChannelInboundHandlerAdapter {
  private final String alpnName;

  HandshakeReads(String alpnName) {
    this.alpnName = alpnName;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    ctx.read();
    ctx.fireChannelActive();
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    ctx.fireChannelReadComplete();
    if (ctx.isRemoved()) {
      return;
    }
    if (ctx.pipeline().get(alpnName) != null) {
      ctx.read(); // still negotiating
    } else {
      ctx.pipeline().remove(this);
    }
  }
}
