package io.oauth2relay.server.demo;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A pretend third party for {@code oauth2relay demo}, on loopback: a token endpoint that speaks the seed's
 * dialect (GET {@code /login} with Basic auth; POST {@code /refresh} with {@code {"token": ...}}) and an API
 * that only answers requests carrying an access token it issued. It exists so a newcomer can watch the
 * relay work in one command; the tests of the real flow use Keycloak and their own fixtures instead.
 */
public final class DemoThirdParty implements AutoCloseable {
  private final SecureRandom random = new SecureRandom();
  private final byte[] expectedBasic;
  private final long lifetimeSeconds;
  /** Access token to its expiry (epoch millis) and its generation number. */
  private final Map<String, long[]> accessTokens = new ConcurrentHashMap<>();
  private final Map<String, Boolean> refreshTokens = new ConcurrentHashMap<>();
  private final AtomicInteger generation = new AtomicInteger();
  private final HttpServer identity;
  private final HttpServer api;

  public DemoThirdParty(String user, String password, long lifetimeSeconds) throws IOException {
    this.expectedBasic =
        ("Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8)))
            .getBytes(StandardCharsets.UTF_8);
    this.lifetimeSeconds = lifetimeSeconds;
    InetSocketAddress loopback = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
    identity = HttpServer.create(loopback, 0);
    identity.createContext("/login", this::login);
    identity.createContext("/refresh", this::refresh);
    api = HttpServer.create(loopback, 0);
    api.createContext("/", this::api);
    identity.setExecutor(Executors.newFixedThreadPool(2, daemon("demo-idp")));
    api.setExecutor(Executors.newFixedThreadPool(4, daemon("demo-api")));
    identity.start();
    api.start();
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }

  public String identityUrl() {
    return "http://127.0.0.1:" + identity.getAddress().getPort();
  }

  public String apiUrl() {
    return "http://127.0.0.1:" + api.getAddress().getPort();
  }

  private void login(HttpExchange ex) throws IOException {
    String auth = ex.getRequestHeaders().getFirst("Authorization");
    if (!ex.getRequestMethod().equals("GET")
        || auth == null
        || !MessageDigest.isEqual(auth.getBytes(StandardCharsets.UTF_8), expectedBasic)) {
      send(ex, 401, "{\"error\":\"invalid_client\"}");
      return;
    }
    issue(ex);
  }

  private void refresh(HttpExchange ex) throws IOException {
    String header = ex.getRequestHeaders().getFirst("Authorization");
    String body;
    try (InputStream in = ex.getRequestBody()) {
      body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    if (!ex.getRequestMethod().equals("POST")
        || header == null
        || refreshTokens.remove(header) == null // rotating: each refresh token works once
        || !body.contains("\"" + header + "\"")) {
      send(ex, 401, "{\"error\":\"invalid_grant\"}");
      return;
    }
    issue(ex);
  }

  private void issue(HttpExchange ex) throws IOException {
    String access = token();
    String refresh = token();
    accessTokens.put(
        access, new long[] {System.currentTimeMillis() + lifetimeSeconds * 1000, generation.incrementAndGet()});
    refreshTokens.put(refresh, Boolean.TRUE);
    send(
        ex,
        200,
        "{\"AccessToken\":\"" + access + "\",\"ExpiresIn\":" + lifetimeSeconds
            + ",\"TokenType\":\"Bearer\",\"RefreshToken\":\"" + refresh + "\"}");
  }

  private void api(HttpExchange ex) throws IOException {
    try (InputStream in = ex.getRequestBody()) {
      in.readAllBytes();
    }
    String auth = ex.getRequestHeaders().getFirst("Authorization");
    long[] issued = auth != null && auth.startsWith("Bearer ") ? accessTokens.get(auth.substring(7)) : null;
    if (issued == null || issued[0] < System.currentTimeMillis()) {
      ex.getResponseHeaders().set("WWW-Authenticate", "Bearer error=\"invalid_token\"");
      send(ex, 401, "{\"error\":\"invalid_token\",\"message\":\"send a token issued by the demo token endpoint\"}");
      return;
    }
    String query = ex.getRequestURI().getRawQuery();
    send(
        ex,
        200,
        "{\"message\":\"hello from the demo third-party API\",\"method\":\"" + ex.getRequestMethod()
            + "\",\"path\":\"" + jsonSafe(ex.getRequestURI().getRawPath()) + "\",\"query\":\""
            + jsonSafe(query == null ? "" : query) + "\",\"token\":\"valid (generation " + issued[1]
            + ", renewed every " + lifetimeSeconds + " s)\"}");
  }

  private static String jsonSafe(String s) {
    return s.replace("\\", "\\\\").replace("\"", "\\\"");
  }

  private String token() {
    byte[] b = new byte[24];
    random.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  private static void send(HttpExchange ex, int status, String json) throws IOException {
    byte[] body = (json + "\n").getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(status, body.length);
    ex.getResponseBody().write(body);
    ex.close();
  }

  @Override
  public void close() {
    identity.stop(0);
    api.stop(0);
  }
}
