package io.oauth2relay.server.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.Attribute;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Authenticates each request on one caller connection before {@link CallerHandler} sees it: the source
 * address against {@code inbound.allowFrom} (403), then the connection's client certificate against
 * {@code inbound.certificates} (none: 401, one no entry admits: 403), then the API key header against
 * {@code inbound.apiKeys} (401), then whether that key or certificate may use the route the request goes to
 * (a route's {@code callers}, 403; the route is the one {@link Router#select} will pick again in
 * {@link CallerHandler}: the same request, the same answer). With both certificates and keys configured, a
 * caller needs both. An accepted request goes on without the key header (the key is never forwarded upstream).
 * A refused one goes on as a {@link Refused} carrying its answer, a small JSON body that says nothing about
 * the route, its credentials or the key: {@link CallerHandler} writes it in its turn (a refusal must not
 * overtake the responses to earlier, pipelined requests), observed as any answer, and closes the
 * connection after it. What the caller sends after a refused request is discarded unread.
 */
final class CallerAuthHandler extends ChannelInboundHandlerAdapter {
  /**
   * On the connection channel (an HTTP/2 stream's parent): which certificate entries its TLS session's
   * client certificate matched. Public data only (names); kept per session, as a session's peer does not
   * change, and looked up again should the engine ever hold another session.
   */
  private static final AttributeKey<PeerMatch> PEER = AttributeKey.valueOf(CallerAuthHandler.class, "peer");

  /** @param certificates the matched entries' names, {@code null} when no certificate was presented */
  private record PeerMatch(SSLSession session, List<String> certificates) {}

  private final CallerAuth auth;
  private final Router router;
  private boolean refused;

  /** A request this step refused, with the relay's answer to it. */
  static final class Refused extends DefaultHttpRequest {
    private final FullHttpResponse answer;

    Refused(HttpRequest request, FullHttpResponse answer) {
      super(request.protocolVersion(), request.method(), request.uri(), request.headers());
      setDecoderResult(request.decoderResult());
      this.answer = answer;
    }

    /** The answer, to be written (once) by the relay handler, which then owns it. */
    FullHttpResponse answer() {
      return answer;
    }
  }

  /** @param router picks the route whose {@code callers} a key is checked against */
  CallerAuthHandler(CallerAuth auth, Router router) {
    this.auth = auth;
    this.router = router;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (refused) {
      ReferenceCountUtil.release(msg); // everything after a refusal: discarded
      return;
    }
    if (!(msg instanceof HttpRequest request)) {
      ctx.fireChannelRead(msg);
      return;
    }
    FullHttpResponse answer = check(ctx, request);
    if (answer != null) {
      refused = true;
      ReferenceCountUtil.release(msg);
      ctx.fireChannelRead(new Refused(request, answer));
      return;
    }
    ctx.fireChannelRead(request);
  }

  private FullHttpResponse check(ChannelHandlerContext ctx, HttpRequest request) {
    if (!(ctx.channel().remoteAddress() instanceof InetSocketAddress remote)
        || !auth.allows(remote.getAddress())) {
      return JsonErrors.response(ctx.alloc(), HttpResponseStatus.FORBIDDEN, "forbidden",
          "this caller is not allowed to use the relay");
    }
    List<String> certificates = List.of();
    if (auth.requiresCertificate()) {
      certificates = certificates(ctx);
      if (certificates == null) {
        // No WWW-Authenticate: no HTTP authentication scheme asks for a TLS client certificate.
        return JsonErrors.response(ctx.alloc(), HttpResponseStatus.UNAUTHORIZED, "unauthorized",
            "a client certificate is required");
      }
      if (certificates.isEmpty()) {
        return JsonErrors.response(ctx.alloc(), HttpResponseStatus.FORBIDDEN, "forbidden",
            "this client certificate is not allowed to use the relay");
      }
    }
    int key = CallerAuth.NO_KEY;
    if (auth.requiresKey()) {
      List<String> values = request.headers().getAll(auth.header());
      request.headers().remove(auth.header());
      // Netty decodes header bytes one to one into chars: ISO-8859-1 gives back exactly the bytes sent.
      key = values.size() == 1 ? auth.match(values.get(0).getBytes(StandardCharsets.ISO_8859_1)) : CallerAuth.NO_KEY;
      if (key == CallerAuth.NO_KEY) {
        return unauthorized(ctx);
      }
    }
    if (auth.restrictsRoutes() && router != null) {
      RelayRoute route = router.select(request);
      // No route: CallerHandler answers 404 to an authenticated caller.
      if (route != null && !auth.mayUse(key, certificates, route.name())) {
        return JsonErrors.response(ctx.alloc(), HttpResponseStatus.FORBIDDEN, "forbidden",
            auth.requiresCertificate() ? "this caller may not use this path" : "this API key may not be used for this path");
      }
    }
    return null;
  }

  /**
   * The names of the certificate entries the connection's client certificate matches (empty: none), or
   * {@code null} when the connection presented no certificate (or is not TLS at all).
   */
  private List<String> certificates(ChannelHandlerContext ctx) {
    Channel connection = ctx.channel() instanceof Http2StreamChannel stream ? stream.parent() : ctx.channel();
    if (!(connection.pipeline().get(RelayServer.TLS) instanceof SslHandler tls)) {
      return null;
    }
    SSLSession session = tls.engine().getSession();
    Attribute<PeerMatch> cached = connection.attr(PEER);
    PeerMatch match = cached.get();
    if (match == null || match.session() != session) {
      match = new PeerMatch(session, match(session));
      cached.set(match);
    }
    return match.certificates();
  }

  private List<String> match(SSLSession session) {
    Certificate[] chain;
    try {
      chain = session.getPeerCertificates();
    } catch (SSLPeerUnverifiedException e) {
      return null; // clientAuth optional, and the caller sent none
    }
    return chain.length > 0 && chain[0] instanceof X509Certificate leaf ? auth.matchCertificate(leaf) : null;
  }

  private FullHttpResponse unauthorized(ChannelHandlerContext ctx) {
    FullHttpResponse response = JsonErrors.response(ctx.alloc(), HttpResponseStatus.UNAUTHORIZED, "unauthorized",
        "a valid API key is required");
    response.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "ApiKey header=\"" + auth.header() + "\"");
    return response;
  }
}
