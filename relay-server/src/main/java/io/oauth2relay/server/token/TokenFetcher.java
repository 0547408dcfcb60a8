package io.oauth2relay.server.token;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.oauth2relay.server.config.ClientAuth;
import io.oauth2relay.server.config.FormEncoding;
import io.oauth2relay.server.config.LoginSpec;
import io.oauth2relay.secrets.spi.SecretException;
import io.oauth2relay.server.config.Template;
import io.oauth2relay.server.config.TemplateValues;
import io.oauth2relay.server.secrets.SecretProviders;
import io.oauth2relay.server.config.ResponseMapping;
import io.oauth2relay.server.config.TokenCall;
import io.oauth2relay.server.config.TokenPolicy;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Performs the seed's {@code login} and {@code refresh} calls and turns their responses into
 * {@link TokenState}s. Blocking: {@link TokenHolder} calls it on its own thread, never on an event loop.
 *
 * <pre>
 *   templates + credentials + current tokens --render--> HTTP request --send--> JSON --map--> TokenState
 * </pre>
 */
public final class TokenFetcher implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(TokenFetcher.class);
  private static final ObjectMapper METADATA = new ObjectMapper();

  /** Headers java.net.http sets itself and refuses from callers. */
  private static final Set<String> RESTRICTED =
      Set.of("connection", "content-length", "expect", "host", "upgrade");

  private final LoginSpec login;
  private final TokenCall refresh;
  private final Clock clock;
  private final TokenPolicy policy;
  private final Duration timeout;
  private final HttpClient http;
  private final byte[] authstring;
  /** True when {@code ${AUTHSTRING}} comes from secret references, so each token call computes it anew. */
  private final boolean rotatingAuthstring;
  private final SecretProviders secrets;
  private final byte[] initialRefreshToken;
  /** Signs private_key_jwt assertions, or {@code null}. */
  private final ClientAssertions assertions;
  /** Token endpoints found through issuer metadata (RFC 8414 / OpenID discovery), by issuer. */
  private final Map<URI, URI> discovered = new ConcurrentHashMap<>();
  /** RFC 7009 revocation endpoints named by the same metadata, by issuer. */
  private final Map<URI, URI> discoveredRevocation = new ConcurrentHashMap<>();
  private volatile TokenMetrics metrics = TokenMetrics.NONE;

  /**
   * @param login the login call and credentials
   * @param refresh the refresh call, or {@code null} when every renewal is a login
   * @throws IllegalArgumentException when a key or certificate file for client authentication is unusable
   */
  public TokenFetcher(
      LoginSpec login, TokenCall refresh, TokenPolicy policy, Clock clock, Duration timeout) {
    this(login, refresh, policy, clock, timeout, null);
  }

  /**
   * As above, with the secret providers whose cached values a rejected login forgets before it tries
   * once more ({@code null}: none).
   */
  public TokenFetcher(
      LoginSpec login,
      TokenCall refresh,
      TokenPolicy policy,
      Clock clock,
      Duration timeout,
      SecretProviders secrets) {
    this.secrets = secrets;
    this.rotatingAuthstring =
        login.authstring().hasSecretReferences()
            || (login.authstring().isEmpty()
                && (login.user().hasSecretReferences() || login.password().hasSecretReferences()));
    this.login = login;
    this.refresh = refresh;
    this.policy = policy;
    this.clock = clock;
    this.timeout = timeout;
    ClientAuth auth = login.call().clientAuth();
    HttpClient.Builder client =
        HttpClient.newBuilder().connectTimeout(timeout).followRedirects(HttpClient.Redirect.NEVER);
    try {
      if (auth != null && auth.method() == ClientAuth.Method.TLS_CLIENT_AUTH) {
        client.sslContext(PemFiles.clientTls(auth.certificate(), auth.privateKey()));
      }
      this.assertions =
          auth != null && auth.method() == ClientAuth.Method.PRIVATE_KEY_JWT
              ? new ClientAssertions(PemFiles.privateKey(auth.privateKey()), auth.keyId(), clock)
              : null;
    } catch (TokenFetchException e) {
      throw new IllegalArgumentException("login: " + e.getMessage());
    }
    this.http = client.build();
    byte[] initial;
    try {
      this.authstring = authstring(login);
      initial = login.initialRefreshToken().render(TemplateValues.NONE);
    } catch (SecretException e) {
      // The config loader resolved every reference moments ago; a provider gone since is a config-time
      // failure too. The message names the reference only (SPI contract).
      throw new IllegalArgumentException("login: cannot resolve a secret (" + e.getMessage() + ")");
    }
    this.initialRefreshToken = initial.length == 0 ? null : initial;
    warnRestricted(login.call(), "login");
    if (refresh != null) {
      warnRestricted(refresh, "refresh");
    }
  }

  /** Where token call outcomes are reported. */
  public void metrics(TokenMetrics metrics) {
    this.metrics = metrics;
  }

  /** {@code login.authstring}, or base64(user:password) as the seed defines it. */
  private static byte[] authstring(LoginSpec login) {
    if (!login.authstring().isEmpty()) {
      return login.authstring().render(TemplateValues.NONE);
    }
    ByteArrayOutputStream raw = new ByteArrayOutputStream();
    login.user().renderTo(raw, TemplateValues.NONE, false);
    raw.write(':');
    login.password().renderTo(raw, TemplateValues.NONE, false);
    byte[] plain = raw.toByteArray();
    byte[] encoded = Base64.getEncoder().encode(plain);
    Arrays.fill(plain, (byte) 0);
    // ByteArrayOutputStream's internal buffer cannot be zeroed through its API; overwrite it in place.
    raw.reset();
    raw.writeBytes(new byte[plain.length]);
    return encoded;
  }

  private static void warnRestricted(TokenCall call, String section) {
    for (String name : call.headers().keySet()) {
      if (RESTRICTED.contains(name.toLowerCase(Locale.ROOT))) {
        log.warn("{}.headers.{} is set by the HTTP client itself and is ignored", section, name);
      }
    }
  }

  /** The {@code ${AUTHSTRING}} value, for relay templates too. The caller must not change it. */
  public byte[] authstring() {
    return authstring;
  }

  /** True when a refresh call can be made from {@code current} (or from the configured refresh token). */
  boolean canRefresh(TokenState current) {
    return refresh != null
        && ((current != null && current.hasRefreshToken()) || initialRefreshToken != null);
  }

  /** Logs in with the configured credentials. */
  TokenState login(TokenState current) throws TokenFetchException {
    return call("login", login.call(), current, null);
  }

  /** Exchanges the current refresh token (or the configured one) for new tokens. */
  TokenState refresh(TokenState current) throws TokenFetchException {
    byte[] refreshToken =
        current != null && current.hasRefreshToken() ? current.refreshTokenBytes() : initialRefreshToken;
    return call("refresh", refresh, current, refreshToken);
  }

  private TokenState call(String what, TokenCall call, TokenState current, byte[] refreshToken)
      throws TokenFetchException {
    long started = System.nanoTime();
    try {
      TokenState state;
      try {
        state = send(what, call, current, refreshToken);
      } catch (TokenFetchException e) {
        // A rotated credential may be behind the rejection while an older value is cached: forget the
        // cache and try once more with what the providers hold now.
        if (e.kind() != TokenFetchException.Kind.REJECTED || secrets == null || !secrets.forget()) {
          throw e;
        }
        log.info("{}: rejected; resolving the secrets again and trying once more", what);
        state = send(what, call, current, refreshToken);
      }
      metrics.fetched(what, System.nanoTime() - started);
      return state;
    } catch (TokenFetchException e) {
      metrics.failed(what, e.kind() == TokenFetchException.Kind.REJECTED ? "rejected" : "transient", System.nanoTime() - started);
      throw e;
    }
  }

  private TokenState send(String what, TokenCall call, TokenState current, byte[] refreshToken)
      throws TokenFetchException {
    byte[] auth = null;
    try {
      auth = rotatingAuthstring ? authstring(login) : authstring;
      return send(what, call, current, refreshToken, auth);
    } catch (SecretException e) {
      // A provider that cannot be reached now is an outage like any other: retried with back-off. Its
      // message names the reference, never the value (SPI contract); the cause is not kept.
      throw new TokenFetchException(what + ": cannot resolve a secret (" + e.getMessage() + ")");
    } finally {
      if (rotatingAuthstring && auth != null) {
        Arrays.fill(auth, (byte) 0);
      }
    }
  }

  private TokenState send(
      String what, TokenCall call, TokenState current, byte[] refreshToken, byte[] authstring)
      throws TokenFetchException {
    TemplateValues values =
        p ->
            switch (p) {
              case AUTHSTRING -> authstring;
              case REFRESHTOKEN -> refreshToken;
              default -> current == null ? null : current.values(TemplateValues.NONE).value(p);
            };
    URI endpoint = endpoint(what, call);
    HttpRequest.Builder request = HttpRequest.newBuilder(endpoint).timeout(timeout);
    boolean hasContentType = false;
    for (Map.Entry<String, Template> h : call.headers().entrySet()) {
      if (RESTRICTED.contains(h.getKey().toLowerCase(Locale.ROOT))) {
        continue;
      }
      hasContentType |= h.getKey().equalsIgnoreCase("Content-Type");
      byte[] value = h.getValue().render(values);
      // java.net.http takes header values only as String: this copy cannot be zeroed and lives until GC.
      request.header(h.getKey(), new String(value, StandardCharsets.UTF_8));
      Arrays.fill(value, (byte) 0);
    }
    byte[] body = authenticate(call.clientAuth(), endpoint, request, body(call.body(), values));
    if (body.length > 0 && !hasContentType) {
      request.header("Content-Type", contentType(call.body(), body));
    }
    request.method(
        call.method(),
        body.length == 0
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofByteArray(body));
    long started = System.nanoTime();
    HttpResponse<byte[]> response;
    try {
      response = http.send(request.build(), LimitedBody.handler());
    } catch (HttpTimeoutException e) {
      throw new TokenFetchException(what + ": token endpoint timed out after " + timeout.toSeconds() + " s", e);
    } catch (IllegalArgumentException e) {
      // A header value the HTTP client refuses (say, a control character from the environment).
      throw new TokenFetchException(what + ": request rejected by the HTTP client (check the headers)",
          TokenFetchException.Kind.REJECTED, -1, null);
    } catch (IOException e) {
      if (e instanceof LimitedBody.TooLarge || e.getCause() instanceof LimitedBody.TooLarge) {
        // An outage symptom like any unusable answer (a proxy's error page, a misrouted download).
        throw new TokenFetchException(
            what + ": token endpoint answered more than " + LimitedBody.MAX_BYTES + " bytes; not read further");
      }
      throw new TokenFetchException(
          what + ": cannot reach the token endpoint (" + e.getClass().getSimpleName() + ")", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TokenFetchException(what + ": interrupted", e);
    } finally {
      Arrays.fill(body, (byte) 0);
    }
    byte[] responseBody = response.body() == null ? new byte[0] : response.body();
    try {
      log.debug(
          "{}: {} {} answered {} in {} ms",
          what,
          call.method(),
          redacted(endpoint),
          response.statusCode(),
          (System.nanoTime() - started) / 1_000_000);
      int status = response.statusCode();
      if (status < 200 || status > 299) {
        String code = errorCode(responseBody, call);
        boolean transientStatus = status >= 500 || status == 429 || status == 408;
        throw new TokenFetchException(
            what + ": token endpoint answered " + status + (code == null ? "" : " (" + code + ")"),
            transientStatus ? TokenFetchException.Kind.TRANSIENT : TokenFetchException.Kind.REJECTED,
            retryAfterMillis(response),
            null);
      }
      boolean headerToken = call.mapping().accessToken().startsWith(HEADER_PREFIX);
      if (responseBody.length == 0 && !headerToken) {
        // Never cache a failure as a token: an empty 2xx is an outage symptom, retried like one.
        throw new TokenFetchException(what + ": token endpoint answered " + status + " with an empty body");
      }
      TokenResponse parsed =
          responseBody.length == 0 ? new TokenResponse() : TokenResponse.parse(responseBody, call.mapping());
      fromHeaders(response, call.mapping(), parsed);
      if (parsed.accessToken == null || parsed.accessToken.length == 0) {
        parsed.wipe();
        throw new TokenFetchException(
            what + ": response has no access token in field '" + call.mapping().accessToken() + "'");
      }
      return state(what, parsed, refreshToken);
    } finally {
      Arrays.fill(responseBody, (byte) 0);
    }
  }

  /** Mapping entries of the form {@code header:Name} read a response header instead of a JSON field. */
  static final String HEADER_PREFIX = "header:";

  private static void fromHeaders(HttpResponse<?> response, ResponseMapping m, TokenResponse r)
      throws TokenFetchException {
    r.accessToken = headerBytes(response, m.accessToken(), r.accessToken);
    r.refreshToken = headerBytes(response, m.refreshToken(), r.refreshToken);
    r.tokenType = headerBytes(response, m.tokenType(), r.tokenType);
    String in = header(response, m.expiresIn());
    if (in != null) {
      try {
        r.expiresInSeconds = Long.parseLong(in.trim());
        if (r.expiresInSeconds < 0) {
          throw new TokenFetchException("response header mapped to ExpiresIn is negative");
        }
      } catch (NumberFormatException e) {
        throw new TokenFetchException("response header mapped to ExpiresIn is not a number");
      }
    }
    String at = header(response, m.expiresAt());
    if (at != null) {
      r.expiresAtMillis = TokenResponse.instantMillis(at);
    }
  }

  private static String header(HttpResponse<?> response, String mapping) {
    return mapping.startsWith(HEADER_PREFIX)
        ? response.headers().firstValue(mapping.substring(HEADER_PREFIX.length())).orElse(null)
        : null;
  }

  private static byte[] headerBytes(HttpResponse<?> response, String mapping, byte[] fromBody) {
    // java.net.http hands header values out as Strings only: this copy cannot be zeroed.
    String value = header(response, mapping);
    return value == null ? fromBody : value.getBytes(StandardCharsets.UTF_8);
  }

  /** {@code Retry-After} in delta-seconds or as an HTTP date, in millis from now; -1 when absent. */
  private long retryAfterMillis(HttpResponse<?> response) {
    String value = response.headers().firstValue("Retry-After").orElse(null);
    if (value == null) {
      return -1;
    }
    try {
      return Math.max(0, Long.parseLong(value.trim()) * 1000);
    } catch (NumberFormatException e) {
      try {
        return Math.max(
            0,
            java.time.ZonedDateTime.parse(value.trim(), java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME)
                    .toInstant()
                    .toEpochMilli()
                - clock.millis());
      } catch (java.time.format.DateTimeParseException e2) {
        return -1;
      }
    }
  }

  /** The longest lifetime taken from a response: beyond it the value is garbage, not a promise. */
  static final long MAX_LIFETIME_SECONDS = 10L * 366 * 24 * 3600;

  private TokenState state(String what, TokenResponse r, byte[] previousRefreshToken) throws TokenFetchException {
    long now = clock.millis();
    long expiresAt;
    String source;
    if (r.expiresInSeconds > MAX_LIFETIME_SECONDS * (policy.expiresInMillis() ? 1000 : 1)) {
      // Also keeps the arithmetic below from overflowing (1e30 parses as Long.MAX_VALUE).
      r.wipe();
      throw new TokenFetchException(what + ": response field mapped to ExpiresIn is out of range (over 10 years)");
    }
    if (r.expiresAtMillis > 0) {
      expiresAt = r.expiresAtMillis;
      source = "ExpiresAt";
    } else if (r.expiresInSeconds >= 0) {
      expiresAt = now + (policy.expiresInMillis() ? r.expiresInSeconds : r.expiresInSeconds * 1000);
      source = "ExpiresIn";
    } else if ((expiresAt = TokenResponse.jwtExpiryMillis(r.accessToken)) > 0) {
      source = "the JWT exp claim";
    } else {
      expiresAt = now + policy.defaultLifetime().toMillis();
      source = "the default lifetime";
    }
    if (expiresAt <= now) {
      // Expired on arrival (expires_in 0, an ExpiresAt or JWT exp in the past, a clock far off): taking it
      // would make every request renew at once, a login storm against the provider. Fail and back off.
      r.wipe();
      throw new TokenFetchException(what + ": the token in the response has already expired (from " + source + ")");
    }
    long lifetime = Math.max(0, expiresAt - now);
    long margin = Math.min(policy.expiryMargin().toMillis(), lifetime / 10);
    byte[] refreshToken = r.refreshToken;
    if ((refreshToken == null || refreshToken.length == 0) && previousRefreshToken != null) {
      // Providers that do not rotate refresh tokens omit them from refresh responses: keep using ours.
      refreshToken = previousRefreshToken.clone();
    }
    log.info(
        "{} succeeded: access token **** valid for {} s (from {}), refresh token {}",
        what,
        lifetime / 1000,
        source,
        refreshToken == null || refreshToken.length == 0 ? "none" : "****");
    return new TokenState(r.accessToken, refreshToken, r.tokenType, now, expiresAt, expiresAt - margin);
  }

  /**
   * Adds standard client authentication (RFC 6749 §2.3.1, RFC 7523, RFC 8705) to a request and returns
   * the body with any client fields appended. Takes ownership of {@code body} (zeroes it when replaced).
   */
  private byte[] authenticate(ClientAuth auth, URI endpoint, HttpRequest.Builder request, byte[] body)
      throws TokenFetchException {
    if (auth == null) {
      return body;
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(body.length + 128);
    out.writeBytes(body);
    Arrays.fill(body, (byte) 0);
    byte[] id = auth.clientId().render(TemplateValues.NONE);
    switch (auth.method()) {
      case CLIENT_SECRET_BASIC -> {
        // RFC 6749 §2.3.1: both parts form-encoded before base64.
        ByteArrayOutputStream pair = new ByteArrayOutputStream();
        FormEncoding.encode(id, pair);
        pair.write(':');
        auth.clientSecret().renderTo(pair, TemplateValues.NONE, true);
        byte[] plain = pair.toByteArray();
        // java.net.http takes header values only as String: this copy cannot be zeroed.
        request.header("Authorization", "Basic " + Base64.getEncoder().encodeToString(plain));
        Arrays.fill(plain, (byte) 0);
      }
      case CLIENT_SECRET_POST -> {
        field(out, "client_id", id);
        byte[] secret = auth.clientSecret().render(TemplateValues.NONE);
        field(out, "client_secret", secret);
        Arrays.fill(secret, (byte) 0);
      }
      case PRIVATE_KEY_JWT -> {
        field(out, "client_id", id);
        field(out, "client_assertion_type", ClientAssertions.TYPE.getBytes(StandardCharsets.US_ASCII));
        String assertion = assertions.sign(new String(id, StandardCharsets.UTF_8), endpoint.toString());
        field(out, "client_assertion", assertion.getBytes(StandardCharsets.US_ASCII));
      }
      case TLS_CLIENT_AUTH, NONE -> {
        if (id.length > 0) {
          field(out, "client_id", id);
        }
      }
    }
    byte[] result = out.toByteArray();
    out.reset();
    out.writeBytes(new byte[result.length]); // overwrite the stream's own buffer
    return result;
  }

  private static void field(ByteArrayOutputStream out, String name, byte[] value) {
    if (out.size() > 0) {
      out.write('&');
    }
    FormEncoding.encode(name, out);
    out.write('=');
    FormEncoding.encode(value, out);
  }

  /** The call's token endpoint, discovering it from the issuer's metadata the first time. */
  private URI endpoint(String what, TokenCall call) throws TokenFetchException {
    if (call.url() != null) {
      return call.url();
    }
    URI known = discovered.get(call.issuer());
    if (known != null) {
      return known;
    }
    URI found = discover(what, call.issuer());
    discovered.put(call.issuer(), found);
    log.info("{}: token endpoint {} from the metadata of issuer {}", what, redacted(found), redacted(call.issuer()));
    return found;
  }

  /**
   * OpenID discovery ({@code ISSUER/.well-known/openid-configuration}), then RFC 8414
   * ({@code https://host/.well-known/oauth-authorization-server/PATH}).
   */
  private URI discover(String what, URI issuer) throws TokenFetchException {
    String base = issuer.toString().replaceAll("/+$", "");
    String path = issuer.getRawPath() == null ? "" : issuer.getRawPath().replaceAll("/+$", "");
    URI openid = URI.create(base + "/.well-known/openid-configuration");
    URI rfc8414 =
        URI.create(issuer.getScheme() + "://" + issuer.getRawAuthority() + "/.well-known/oauth-authorization-server" + path);
    int lastStatus = 0;
    for (URI metadata : new URI[] {openid, rfc8414}) {
      HttpResponse<byte[]> response;
      try {
        response =
            http.send(
                HttpRequest.newBuilder(metadata).timeout(timeout).header("Accept", "application/json").build(),
                LimitedBody.handler());
      } catch (IOException e) {
        throw new TokenFetchException(
            what + ": cannot reach the issuer's metadata (" + e.getClass().getSimpleName() + ")", e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new TokenFetchException(what + ": interrupted", e);
      }
      lastStatus = response.statusCode();
      if (lastStatus == 200) {
        try {
          com.fasterxml.jackson.databind.JsonNode meta = METADATA.readTree(response.body());
          String endpoint = meta.path("token_endpoint").asText("");
          URI uri = URI.create(endpoint);
          String revocation = meta.path("revocation_endpoint").asText("");
          if (revocation.startsWith("https://") || revocation.startsWith("http://")) {
            discoveredRevocation.put(issuer, URI.create(revocation));
          }
          if ("https".equalsIgnoreCase(uri.getScheme()) || "http".equalsIgnoreCase(uri.getScheme())) {
            return uri;
          }
        } catch (IOException | IllegalArgumentException e) {
          // fall through: reported below
        }
        throw new TokenFetchException(
            what + ": the issuer's metadata names no usable token_endpoint", TokenFetchException.Kind.REJECTED, -1, null);
      }
    }
    throw new TokenFetchException(
        what + ": no issuer metadata found (last answer " + lastStatus + ")",
        lastStatus >= 500 ? TokenFetchException.Kind.TRANSIENT : TokenFetchException.Kind.REJECTED,
        -1,
        null);
  }

  private static byte[] body(TokenCall.Body body, TemplateValues values) {
    if (body.isEmpty()) {
      return new byte[0];
    }
    if (!body.raw().isEmpty()) {
      return body.raw().render(values);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    if (body.json()) {
      out.write('{');
    }
    boolean first = true;
    for (Map.Entry<String, Template> field : body.fields().entrySet()) {
      if (!first) {
        out.write(body.json() ? ',' : '&');
      }
      first = false;
      if (body.json()) {
        JsonStrings.write(field.getKey().getBytes(StandardCharsets.UTF_8), out);
        out.write(':');
        byte[] value = field.getValue().render(values);
        JsonStrings.write(value, out);
        Arrays.fill(value, (byte) 0);
      } else {
        FormEncoding.encode(field.getKey(), out);
        out.write('=');
        field.getValue().renderTo(out, values, true);
      }
    }
    if (body.json()) {
      out.write('}');
    }
    byte[] bytes = out.toByteArray();
    out.reset();
    out.writeBytes(new byte[bytes.length]); // overwrite the stream's own buffer
    return bytes;
  }

  private static String contentType(TokenCall.Body body, byte[] rendered) {
    if (!body.fields().isEmpty()) {
      return body.json() ? "application/json" : "application/x-www-form-urlencoded";
    }
    byte first = rendered.length == 0 ? 0 : rendered[0];
    return first == '{' || first == '[' ? "application/json" : "application/x-www-form-urlencoded";
  }

  private static String errorCode(byte[] body, TokenCall call) {
    if (body.length == 0) {
      return null;
    }
    try {
      TokenResponse r = TokenResponse.parse(body, call.mapping());
      r.wipe();
      return r.errorCode;
    } catch (TokenFetchException e) {
      return null;
    }
  }

  /** scheme://host[:port]/path: never the query, which may carry credentials. */
  static String redacted(URI uri) {
    return uri.getScheme() + "://" + uri.getHost() + (uri.getPort() < 0 ? "" : ":" + uri.getPort())
        + (uri.getRawPath() == null ? "" : uri.getRawPath());
  }

  /**
   * Revokes {@code state}'s refresh token, or its access token when it has none (RFC 7009), at
   * {@code login.revocationUrl} or the issuer's {@code revocation_endpoint}, with the login's client
   * authentication. Bounded by {@code limit} altogether; never throws: a failure is logged (status and
   * endpoint, never a value) and shutdown goes on.
   */
  void revoke(TokenState state, Duration limit) {
    TokenCall call = login.call();
    URI endpoint =
        login.revocationUrl() != null
            ? login.revocationUrl()
            : call.issuer() == null ? null : discoveredRevocation.get(call.issuer());
    if (endpoint == null) {
      log.warn("revokeOnShutdown: no revocation endpoint known (set login.revocationUrl); the token was not revoked");
      return;
    }
    boolean refresh = state.hasRefreshToken();
    byte[] token = refresh ? state.refreshTokenBytes() : state.values(TemplateValues.NONE).value(io.oauth2relay.server.config.Placeholder.ACCESSTOKEN);
    ByteArrayOutputStream form = new ByteArrayOutputStream(token.length + 64);
    field(form, "token", token);
    field(form, "token_type_hint", (refresh ? "refresh_token" : "access_token").getBytes(StandardCharsets.US_ASCII));
    byte[] body = form.toByteArray();
    form.reset();
    form.writeBytes(new byte[body.length]); // overwrite the stream's own buffer
    try {
      HttpRequest.Builder request = HttpRequest.newBuilder(endpoint).timeout(limit);
      body = authenticate(call.clientAuth(), endpoint, request, body);
      request.header("Content-Type", "application/x-www-form-urlencoded");
      request.POST(HttpRequest.BodyPublishers.ofByteArray(body));
      // sendAsync and a bounded get: the request timeout alone does not cover connecting.
      java.util.concurrent.CompletableFuture<HttpResponse<byte[]>> sent =
          http.sendAsync(request.build(), LimitedBody.handler());
      HttpResponse<byte[]> response;
      try {
        response = sent.get(limit.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.TimeoutException e) {
        sent.cancel(true);
        log.warn("revokeOnShutdown: {} did not answer within {} ms; the token was not revoked", redacted(endpoint), limit.toMillis());
        return;
      }
      if (response.body() != null) {
        Arrays.fill(response.body(), (byte) 0);
      }
      if (response.statusCode() == 200) {
        log.info("revoked the {} **** at {}", refresh ? "refresh token" : "access token", redacted(endpoint));
      } else {
        log.warn("revokeOnShutdown: {} answered {}; the token was not revoked", redacted(endpoint), response.statusCode());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      log.warn("revokeOnShutdown: interrupted; the token was not revoked");
    } catch (java.util.concurrent.ExecutionException | TokenFetchException | RuntimeException e) {
      Throwable cause = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null ? e.getCause() : e;
      // The class only: an exception's message is not ours to repeat.
      log.warn("revokeOnShutdown: cannot reach {} ({}); the token was not revoked", redacted(endpoint), cause.getClass().getSimpleName());
    } finally {
      Arrays.fill(body, (byte) 0); // the token itself is the state's: the holder wipes it right after
    }
  }

  /** Zeroes the credentials this fetcher derived. The JDK 17 HttpClient has no close; its threads are daemons. */
  @Override
  public void close() {
    Arrays.fill(authstring, (byte) 0);
    if (initialRefreshToken != null) {
      Arrays.fill(initialRefreshToken, (byte) 0);
    }
  }
}
