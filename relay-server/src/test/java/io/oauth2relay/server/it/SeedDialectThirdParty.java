package io.oauth2relay.server.it;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;

/**
 * A hand-written third party speaking the seed's own token dialect, because no public identity provider
 * speaks it: {@code GET /login} with {@code Authorization: Basic <authstring>} returns
 * {@code {"AccessToken","ExpiresIn","TokenType","RefreshToken"}}; {@code POST /refresh} with
 * {@code Authorization: <refresh token>} and {@code {"token": "<refresh token>"}} returns new tokens
 * (rotating the refresh token). Its API on the same server under {@code /api/} answers 200 only to a
 * bearer token it issued and that has not expired, echoing what it received (never the token itself).
 *
 * <p>Knobs let a test break it: status codes for login and refresh, a delay for refresh, token prefix.
 */
final class SeedDialectThirdParty implements AutoCloseable {
  final AtomicInteger logins = new AtomicInteger();
  final AtomicInteger refreshes = new AtomicInteger();
  final AtomicInteger apiCalls = new AtomicInteger();
  final AtomicInteger rejectedApiCalls = new AtomicInteger();
  /** Every Authorization header value the API received, rejected ones included. */
  final List<String> apiAuthorizations = new CopyOnWriteArrayList<>();
  /** Every access token issued, in order: tests compare what reached an upstream with these (never print them). */
  final List<String> issuedAccessTokens = new CopyOnWriteArrayList<>();

  volatile int loginStatus = 200;
  volatile int refreshStatus = 200;
  volatile long refreshDelayMillis;
  /** The request headers of the API's latest call. */
  volatile com.sun.net.httpserver.Headers lastApiHeaders;
  /** Added to error responses as {@code error_description} (say, echoing what the caller sent). */
  volatile String errorDescription;
  /** How long the API takes to answer (a slow request in flight). */
  volatile long apiDelayMillis;
  volatile long lifetimeSeconds = 60;
  volatile String tokenPrefix = "tok";

  /** The only authstring a login is accepted with; a test changes it to rotate the credential. */
  volatile String expectedAuthstring;
  private final Map<String, Long> accessExpiry = new ConcurrentHashMap<>();
  private final Map<String, Boolean> liveRefreshTokens = new ConcurrentHashMap<>();
  private final AtomicInteger serial = new AtomicInteger();
  private final HttpServer server;

  SeedDialectThirdParty(String expectedAuthstring) throws IOException {
    this(expectedAuthstring, null);
  }

  /** Serves HTTPS with {@code tls} when it is not {@code null}. */
  SeedDialectThirdParty(String expectedAuthstring, SSLContext tls) throws IOException {
    this.expectedAuthstring = expectedAuthstring;
    InetSocketAddress loopback = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
    if (tls == null) {
      server = HttpServer.create(loopback, 0);
    } else {
      HttpsServer https = HttpsServer.create(loopback, 0);
      https.setHttpsConfigurator(new HttpsConfigurator(tls));
      server = https;
    }
    server.createContext("/login", this::login);
    server.createContext("/refresh", this::refresh);
    server.createContext("/api/", this::api);
    server.setExecutor(Executors.newFixedThreadPool(16));
    server.start();
  }

  /** Revokes every access token issued so far: the API answers 401 to them from now on. */
  void revokeAccessTokens() {
    accessExpiry.clear();
  }

  /** Whether {@code accessToken} was issued here and has neither expired nor been revoked: an API's check. */
  boolean accepts(String accessToken) {
    Long expiry = accessToken == null ? null : accessExpiry.get(accessToken);
    return expiry != null && expiry >= System.currentTimeMillis();
  }

  String url() {
    return (server instanceof HttpsServer ? "https" : "http") + "://127.0.0.1:" + server.getAddress().getPort();
  }

  private void login(HttpExchange ex) throws IOException {
    logins.incrementAndGet();
    drain(ex);
    String auth = ex.getRequestHeaders().getFirst("Authorization");
    if (loginStatus != 200) {
      send(ex, loginStatus, error("temporarily_unavailable"));
    } else if (!ex.getRequestMethod().equals("GET") || !("Basic " + expectedAuthstring).equals(auth)) {
      send(ex, 401, error("invalid_client"));
    } else {
      issue(ex);
    }
  }

  private void refresh(HttpExchange ex) throws IOException {
    refreshes.incrementAndGet();
    byte[] body = drain(ex);
    sleep(refreshDelayMillis);
    String token = ex.getRequestHeaders().getFirst("Authorization");
    String json = new String(body, StandardCharsets.UTF_8);
    if (refreshStatus != 200) {
      send(ex, refreshStatus, error("invalid_grant"));
    } else if (token == null
        || !json.equals("{\"token\": \"" + token + "\"}")
        || liveRefreshTokens.remove(token) == null) {
      send(ex, 400, error("invalid_grant"));
    } else {
      issue(ex);
    }
  }

  private void issue(HttpExchange ex) throws IOException {
    int n = serial.incrementAndGet();
    String access = tokenPrefix + "-access-" + n + "-" + System.nanoTime();
    String refresh = tokenPrefix + "-refresh-" + n + "-" + System.nanoTime();
    accessExpiry.put(access, System.currentTimeMillis() + lifetimeSeconds * 1000);
    issuedAccessTokens.add(access);
    liveRefreshTokens.put(refresh, Boolean.TRUE);
    send(ex, 200, "{\"AccessToken\":\"" + access + "\",\"ExpiresIn\":" + lifetimeSeconds
        + ",\"TokenType\":\"Bearer\",\"RefreshToken\":\"" + refresh + "\"}");
  }

  private void api(HttpExchange ex) throws IOException {
    apiCalls.incrementAndGet();
    lastApiHeaders = ex.getRequestHeaders();
    byte[] body = drain(ex);
    sleep(apiDelayMillis);
    String auth = ex.getRequestHeaders().getFirst("Authorization");
    apiAuthorizations.add(String.valueOf(auth));
    if (auth == null || !auth.startsWith("Bearer ") || !accepts(auth.substring(7))) {
      rejectedApiCalls.incrementAndGet();
      ex.getResponseHeaders().set("WWW-Authenticate", "Bearer error=\"invalid_token\"");
      send(ex, 401, error("invalid_token"));
      return;
    }
    String query = ex.getRequestURI().getRawQuery();
    String contentType = ex.getRequestHeaders().getFirst("Content-Type");
    send(ex, 200, "{\"method\":\"" + ex.getRequestMethod()
        + "\",\"path\":\"" + ex.getRequestURI().getRawPath()
        + "\",\"query\":\"" + (query == null ? "" : query)
        + "\",\"host\":\"" + ex.getRequestHeaders().getFirst("Host")
        + "\",\"contentType\":\"" + contentType
        + "\",\"bodyLength\":" + body.length
        + ",\"bodySha256\":\"" + sha256(body) + "\"}");
  }

  private String error(String code) {
    String description = errorDescription;
    return "{\"error\":\"" + code + "\"" + (description == null ? "" : ",\"error_description\":\"" + description + "\"") + "}";
  }

  private static byte[] drain(HttpExchange ex) throws IOException {
    try (InputStream in = ex.getRequestBody()) {
      return in.readAllBytes();
    }
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  private static void sleep(long millis) {
    if (millis > 0) {
      try {
        Thread.sleep(millis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static void send(HttpExchange ex, int status, String json) throws IOException {
    byte[] body = json.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(status, body.length);
    ex.getResponseBody().write(body);
    ex.close();
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
