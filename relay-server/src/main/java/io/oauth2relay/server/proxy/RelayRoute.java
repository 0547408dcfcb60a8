package io.oauth2relay.server.proxy;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValidationUtil;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.AsciiString;
import io.oauth2relay.server.config.FormEncoding;
import io.oauth2relay.server.config.OriginSpec;
import io.oauth2relay.server.config.Placeholder;
import io.oauth2relay.server.config.RelaySpec;
import io.oauth2relay.server.config.RouteSpec;
import io.oauth2relay.server.config.Template;
import io.oauth2relay.server.config.TemplateValues;
import io.oauth2relay.server.token.TokenSource;
import io.oauth2relay.server.token.TokenState;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * One upstream API behind the relay (the seed's {@code relay} section): which caller requests it accepts
 * and how it rewrites them, with the token injected.
 *
 * <p>Caller {@code /a/b?x=1} with {@code relay.url = https://api.example.com/v2/} becomes
 * {@code https://api.example.com/v2/a/b?x=1&<relay.parameters>}, with {@code relay.headers} set and the
 * caller's own {@code Authorization} dropped.
 */
public final class RelayRoute {
  private static final AsciiString AUTHORIZATION = HttpHeaderNames.AUTHORIZATION;

  private final String name;
  /** {@code ""} for every path, else {@code /seg...} without a trailing slash. */
  private final String pathPrefix;
  private final String hostMatch;
  private final boolean stripPrefix;
  private final OriginSpec origin;
  final String originHost;
  final int originPort;
  final boolean tls;
  private final String basePath;
  private final AsciiString hostHeader;
  private final String allowedMethod;
  private final String contentType;
  private final RelaySpec spec;
  private final TokenSource tokens;
  private final TemplateValues credentials;
  /** Lower-case names of headers the relay sets: the caller's values of these are dropped. */
  private final Set<String> replacedHeaders = new HashSet<>();
  /** {@link #replacedHeaders} as an array, for the per-request check. */
  private final String[] replacedHeaderArray;
  /** Decoded names of query parameters the relay sets: the caller's values of these are dropped. */
  private final Set<String> replacedParameters;
  private final boolean injectDefaultAuthorization;
  /** This hop's {@code Via} entry for HTTP/1.1 and HTTP/2 callers ({@code null}: no Via). */
  private final AsciiString viaHttp1;
  private final AsciiString viaHttp2;
  private final int replayLimit;

  /**
   * @param authstring the {@code ${AUTHSTRING}} value, or {@code null}
   * @param replayLimit the largest request body kept for a replay after a 401; 0 for no replay
   */
  public RelayRoute(RelaySpec spec, TokenSource tokens, byte[] authstring, int replayLimit) {
    this("relay", "/", null, false, OriginSpec.DEFAULTS, spec, tokens, authstring, replayLimit);
  }

  /**
   * A route of a {@code routes} list (see {@link RouteSpec} for the meaning of each routing field).
   *
   * @param authstring the {@code ${AUTHSTRING}} value, or {@code null}
   * @param replayLimit the largest request body kept for a replay after a 401; 0 for no replay
   */
  public RelayRoute(
      String name,
      String pathPrefix,
      String hostMatch,
      boolean stripPrefix,
      OriginSpec origin,
      RelaySpec spec,
      TokenSource tokens,
      byte[] authstring,
      int replayLimit) {
    this.name = name;
    this.pathPrefix = pathPrefix.endsWith("/") ? pathPrefix.substring(0, pathPrefix.length() - 1) : pathPrefix;
    this.hostMatch = hostMatch == null ? null : hostMatch.toLowerCase(Locale.ROOT);
    this.stripPrefix = stripPrefix;
    this.origin = origin;
    this.replayLimit = tokens.renewable() ? replayLimit : 0;
    URI url = spec.url();
    this.spec = spec;
    this.tokens = tokens;
    this.tls = url.getScheme().equalsIgnoreCase("https");
    this.originHost = url.getHost();
    this.originPort = url.getPort() > 0 ? url.getPort() : tls ? 443 : 80;
    String path = url.getRawPath() == null ? "" : url.getRawPath();
    this.basePath = path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    boolean defaultPort = url.getPort() < 0 || url.getPort() == (tls ? 443 : 80);
    this.hostHeader = AsciiString.of(defaultPort ? hostLiteral(originHost) : hostLiteral(originHost) + ":" + originPort);
    this.allowedMethod = spec.method();
    this.contentType = spec.contentType();
    this.credentials = p -> p == Placeholder.AUTHSTRING ? authstring : null;
    for (String header : spec.headers().keySet()) {
      replacedHeaders.add(header.toLowerCase(Locale.ROOT));
    }
    this.replacedParameters = Set.copyOf(spec.parameters().keySet());
    boolean usesToken =
        spec.headers().values().stream().anyMatch(t -> t.uses(Placeholder.ACCESSTOKEN))
            || spec.parameters().values().stream().anyMatch(t -> t.uses(Placeholder.ACCESSTOKEN))
            || spec.data().uses(Placeholder.ACCESSTOKEN);
    // Nothing in the config says where the token goes: put it where RFC 6750 says.
    this.injectDefaultAuthorization = !usesToken;
    // The caller's own credentials never reach the upstream, whatever the relay injects instead.
    replacedHeaders.add("authorization");
    this.replacedHeaderArray = replacedHeaders.toArray(new String[0]);
    this.viaHttp1 = origin.via() == null ? null : AsciiString.of("1.1 " + origin.via());
    this.viaHttp2 = origin.via() == null ? null : AsciiString.of("2 " + origin.via());
  }

  private static String hostLiteral(String host) {
    return host.indexOf(':') >= 0 && !host.startsWith("[") ? "[" + host + "]" : host;
  }

  /** The route's name in metrics, readiness and the access log. */
  public String name() {
    return name;
  }

  /** {@code ""} when the route takes every path, else its prefix without a trailing slash. */
  String pathPrefix() {
    return pathPrefix;
  }

  /** The lower-case {@code Host} this route takes, or {@code null} for any. */
  String hostMatch() {
    return hostMatch;
  }

  /** How the relay connects to this route's upstream. */
  OriginSpec origin() {
    return origin;
  }

  /** The token source of this route (and of no other). */
  public TokenSource tokens() {
    return tokens;
  }

  /** The largest request body kept for a replay after a 401 from the upstream; 0: no replay. */
  int replayLimit() {
    return replayLimit;
  }

  /** The method callers must use, or {@code null} when any is accepted. */
  String allowedMethod() {
    return allowedMethod;
  }

  /**
   * Why this request is refused whatever route it would take, or {@code null}: CONNECT, any target that
   * is not origin-form ({@code /path}), dot segments that could climb above {@code relay.url}'s path, and
   * a body framed twice (request smuggling). Checked before routing, so that no route can let these by.
   */
  static Refusal refuseTarget(HttpRequest request) {
    HttpVersion version = request.protocolVersion();
    if (version.majorVersion() != 1 || version.minorVersion() > 1) {
      // The codec accepts any HTTP/x.y; what the relay would forward must be a version it speaks.
      return new Refusal(505, "http_version_not_supported", "HTTP/1.0, HTTP/1.1 and HTTP/2 are supported");
    }
    HttpMethod method = request.method();
    if (method.equals(HttpMethod.CONNECT)) {
      return new Refusal(405, "method_not_allowed", "CONNECT is not supported: this is not a forward proxy");
    }
    String uri = request.uri();
    if (uri.isEmpty() || uri.charAt(0) != '/') {
      return new Refusal(400, "bad_request", "request target must be a path starting with /");
    }
    int q = uri.indexOf('?');
    int pathEnd = q < 0 ? uri.length() : q;
    if (hasDotSegment(uri, pathEnd) || uri.lastIndexOf('#', pathEnd - 1) >= 0) {
      return new Refusal(400, "bad_request", "request path must not contain . or .. segments");
    }
    HttpHeaders h = request.headers();
    if (h.contains(HttpHeaderNames.TRANSFER_ENCODING) && h.contains(HttpHeaderNames.CONTENT_LENGTH)) {
      return new Refusal(400, "bad_request", "request has both Transfer-Encoding and Content-Length");
    }
    if (h.contains(HttpHeaderNames.TRANSFER_ENCODING) && !HttpUtil.isTransferEncodingChunked(request)) {
      return new Refusal(501, "not_implemented", "only the chunked transfer coding is supported");
    }
    return null;
  }

  /**
   * Why this route refuses a request that passed {@link #refuseTarget}, or {@code null} when it may be
   * relayed: a method other than {@code relay.method}.
   */
  Refusal check(HttpRequest request) {
    if (allowedMethod != null && !request.method().name().equals(allowedMethod)) {
      return new Refusal(405, "method_not_allowed", "this relay accepts " + allowedMethod + " only");
    }
    return null;
  }

  /** Whether {@code uri}'s path, its first {@code end} characters, has a dot segment. */
  private static boolean hasDotSegment(String uri, int end) {
    // The common path has neither dots nor escapes nor backslashes: decide without allocating.
    boolean suspicious = false;
    for (int i = 0; i < end && !suspicious; i++) {
      char c = uri.charAt(i);
      suspicious = c == '.' || c == '%' || c == '\\';
    }
    if (!suspicious) {
      return false;
    }
    String path = uri.substring(0, end);
    String decoded = QueryStringDecoder.decodeComponent(path.replace("+", "%2B"));
    for (String segment : decoded.split("[/\\\\]", -1)) {
      // A path parameter does not hide a dot segment: Tomcat and Spring read "..;x" as "..".
      int semi = segment.indexOf(';');
      String name = semi < 0 ? segment : segment.substring(0, semi);
      if (name.equals(".") || name.equals("..")) {
        return true;
      }
    }
    return false;
  }

  /** What a token state contributes to each request, computed once per state. */
  private record Injection(AsciiString[] names, AsciiString[] values, String query, byte[] data) {}

  private Injection injection(TokenState state) {
    TemplateValues values = state.values(credentials);
    List<AsciiString> names = new ArrayList<>();
    List<AsciiString> headerValues = new ArrayList<>();
    for (Map.Entry<String, Template> h : spec.headers().entrySet()) {
      names.add(AsciiString.of(h.getKey()));
      headerValues.add(zeroable(state, h.getValue().render(values)));
    }
    if (injectDefaultAuthorization) {
      ByteArrayOutputStream v = new ByteArrayOutputStream(96);
      v.writeBytes(values.value(Placeholder.TOKENTYPE));
      v.write(' ');
      v.writeBytes(values.value(Placeholder.ACCESSTOKEN));
      names.add(AUTHORIZATION);
      headerValues.add(zeroable(state, v.toByteArray()));
    }
    String query = null;
    if (!spec.parameters().isEmpty()) {
      ByteArrayOutputStream q = new ByteArrayOutputStream(64);
      for (Map.Entry<String, Template> p : spec.parameters().entrySet()) {
        if (q.size() > 0) {
          q.write('&');
        }
        FormEncoding.encode(p.getKey(), q);
        q.write('=');
        p.getValue().renderTo(q, values, true);
      }
      // Netty's HttpRequest takes its target as a String: when a parameter carries a token this copy
      // cannot be zeroed and lives until GC. Prefer a header for tokens.
      query = q.toString(StandardCharsets.US_ASCII);
    }
    byte[] data = spec.data().isEmpty() ? null : spec.data().render(values);
    if (data != null) {
      state.zeroWithState(data);
    }
    return new Injection(
        names.toArray(AsciiString[]::new), headerValues.toArray(AsciiString[]::new), query, data);
  }

  private static AsciiString zeroable(TokenState state, byte[] bytes) {
    state.zeroWithState(bytes);
    AsciiString value = new AsciiString(bytes, false); // wraps, no copy: zeroed with the state
    // Checked here, once per token state, because the head it goes into does not check values as they
    // are set (RelayHeaders.CALLER_HEADS).
    // A secret rendered into a header (say, an authstring with a line break) must not split the request;
    // the message names no value.
    if (HttpHeaderValidationUtil.validateValidHeaderValue(value) >= 0) {
      throw new IllegalStateException("an injected header value contains control characters");
    }
    return value;
  }

  /** The outbound request head for {@code in} with {@code state}'s token injected. */
  Outbound outbound(HttpRequest in, TokenState state) {
    return outbound(in, state, null);
  }

  /**
   * Rewrites {@code in}, in place, into the upstream's request head with {@code state}'s token injected
   * and, when the route forwards them, {@code X-Forwarded-*} and {@code Via} describing {@code caller}. In
   * place, because a second head per request (a map, its entries, the target) was a third of what a
   * relayed request allocated. {@code in} must not be read as the caller's afterwards: whatever is needed
   * of it (target, method, version, framing) is read before, or kept in the returned {@link Outbound}.
   *
   * @param in a caller's request head whose names and values {@link Headers#hasInvalidField} found valid
   * @param caller who sent {@code in}, or {@code null} to add no forwarding headers
   */
  Outbound outbound(HttpRequest in, TokenState state, Caller caller) {
    String callerUri = in.uri();
    HttpHeaders headers = in.headers();
    boolean chunked = HttpUtil.isTransferEncodingChunked(in);
    boolean bodiless = !chunked && HttpUtil.getContentLength(in, 0L) <= 0;
    String callerHost = headers.get(HttpHeaderNames.HOST);
    Headers.stripForUpstream(headers, replacedHeaderArray);
    headers.set(HttpHeaderNames.HOST, hostHeader);
    if (caller != null) {
      addForwarding(headers, callerHost, caller);
    }
    if (chunked) {
      headers.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
    }
    in.setProtocolVersion(HttpVersion.HTTP_1_1);
    return new Outbound(in, injectInto(in, callerUri, bodiless, state), callerUri, bodiless);
  }

  /**
   * Removes, in place, what a caller's request trailers must not carry upstream: the fields the head may
   * not forward either (hop-by-hop ones, the caller's {@code Authorization} and the names the relay sets)
   * and those RFC 9110 §6.5.1 keeps out of trailers that matter to a relay ({@code Host},
   * {@code Content-Length}). A caller's credential must not reach the upstream by the back door.
   */
  void stripTrailers(HttpHeaders trailers) {
    Headers.stripForUpstream(trailers, replacedHeaderArray);
    trailers.remove(HttpHeaderNames.HOST);
    trailers.remove(HttpHeaderNames.CONTENT_LENGTH);
  }

  /**
   * Puts {@code state}'s token into a head {@link #outbound} rewrote: the target (a query parameter may
   * carry the token), the injected headers, and {@code relay.data} standing in for an empty body. Called
   * again with the renewed token when the upstream's 401 is replayed.
   */
  Outbound inject(Outbound out, TokenState state) {
    return new Outbound(out.head(), injectInto(out.head(), out.callerUri(), out.bodiless(), state), out.callerUri(),
        out.bodiless());
  }

  /** {@link #inject}'s work; returns the {@code relay.data} body standing in for an empty one, or null. */
  private byte[] injectInto(HttpRequest head, String callerUri, boolean bodiless, TokenState state) {
    Injection inj = state.derived(this::injection);
    head.setUri(target(callerUri, inj));
    HttpHeaders headers = head.headers();
    for (int i = 0; i < inj.names().length; i++) {
      headers.set(inj.names()[i], inj.values()[i]);
    }
    boolean hasBody = !bodiless;
    byte[] replacement = null;
    if (!hasBody && inj.data() != null && inj.data().length > 0) {
      replacement = inj.data();
      headers.setInt(HttpHeaderNames.CONTENT_LENGTH, replacement.length);
      hasBody = true;
    }
    if (hasBody && contentType != null && !headers.contains(HttpHeaderNames.CONTENT_TYPE)) {
      headers.set(HttpHeaderNames.CONTENT_TYPE, contentType);
    }
    return replacement;
  }

  /** The upstream's request target for the caller's {@code uri}: usually the caller's own, unchanged. */
  private String target(String uri, Injection inj) {
    boolean strip = stripPrefix && !pathPrefix.isEmpty();
    if (!strip && inj.query() == null && uri.charAt(uri.length() - 1) != '?') {
      // No prefix stripped, no parameter added: the caller's target under relay.url's path, if any.
      return basePath.isEmpty() ? uri : basePath.concat(uri);
    }
    int q = uri.indexOf('?');
    String path = q < 0 ? uri : uri.substring(0, q);
    String callerQuery = q < 0 ? null : uri.substring(q + 1);
    if (strip) {
      path = path.substring(pathPrefix.length()); // the router only picks this route when it matches
    }
    StringBuilder target = new StringBuilder(basePath.length() + uri.length() + 32);
    target.append(basePath).append(path);
    if (target.length() == 0) {
      target.append('/');
    }
    String query = mergeQuery(callerQuery, inj.query());
    if (query != null && !query.isEmpty()) {
      target.append('?').append(query);
    }
    return target.toString();
  }

  /**
   * Who sent a request, for the forwarding headers.
   *
   * @param address the caller's IP address (textual)
   * @param tls whether the caller reached the relay over TLS
   * @param http2 whether the caller spoke HTTP/2
   */
  record Caller(String address, boolean tls, boolean http2) {}

  private static final AsciiString X_FORWARDED_FOR = AsciiString.cached("x-forwarded-for");
  private static final AsciiString X_FORWARDED_PROTO = AsciiString.cached("x-forwarded-proto");
  private static final AsciiString X_FORWARDED_HOST = AsciiString.cached("x-forwarded-host");

  /**
   * {@code X-Forwarded-For} appends the caller to what an earlier proxy wrote (a caller can write
   * anything there, so the upstream should trust only the last entry, which is ours);
   * {@code X-Forwarded-Proto} and {@code -Host} describe this hop and replace the caller's. {@code Via}
   * (RFC 9110 §7.6.3) appends this hop with the version the caller spoke.
   */
  private void addForwarding(HttpHeaders headers, String callerHost, Caller caller) {
    if (origin.forwardedHeaders()) {
      String earlier = headers.get(X_FORWARDED_FOR);
      headers.set(X_FORWARDED_FOR, earlier == null || earlier.isBlank() ? caller.address() : earlier + ", " + caller.address());
      headers.set(X_FORWARDED_PROTO, caller.tls() ? HTTPS : HTTP);
      if (callerHost != null) {
        headers.set(X_FORWARDED_HOST, callerHost);
      } else {
        headers.remove(X_FORWARDED_HOST);
      }
    }
    if (origin.via() != null) {
      AsciiString hop = caller.http2() ? viaHttp2 : viaHttp1;
      String earlier = headers.get(HttpHeaderNames.VIA);
      headers.set(HttpHeaderNames.VIA, earlier == null ? hop : earlier + ", " + hop);
    }
  }

  private static final AsciiString HTTPS = AsciiString.cached("https");
  private static final AsciiString HTTP = AsciiString.cached("http");

  private String mergeQuery(String callerQuery, String relayQuery) {
    if (callerQuery == null || callerQuery.isEmpty()) {
      return relayQuery;
    }
    if (replacedParameters.isEmpty()) {
      return callerQuery;
    }
    StringBuilder sb = new StringBuilder(callerQuery.length() + 32);
    for (String pair : callerQuery.split("&")) {
      int eq = pair.indexOf('=');
      String name = QueryStringDecoder.decodeComponent(eq < 0 ? pair : pair.substring(0, eq));
      if (pair.isEmpty() || replacedParameters.contains(name)) {
        continue; // the relay's value wins: a caller cannot override a fixed parameter
      }
      if (sb.length() > 0) {
        sb.append('&');
      }
      sb.append(pair);
    }
    if (relayQuery != null) {
      if (sb.length() > 0) {
        sb.append('&');
      }
      sb.append(relayQuery);
    }
    return sb.toString();
  }

  /**
   * An outbound request head and, when {@code relay.data} stands in for an empty caller body, that body.
   */
  record Outbound(HttpRequest head, byte[] replacementBody, String callerUri, boolean bodiless) {}

  /** A request the relay answers itself. */
  record Refusal(int status, String code, String message) {}
}
