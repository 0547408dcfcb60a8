package io.oauth2relay.server.admin;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin port, apart from the relay's own so it can stay on loopback (or a pod-internal address) while
 * the relay port is exposed, and so probes and scrapes never compete with relayed traffic:
 *
 * <pre>
 *   GET /healthz  200 {"status":"ok"}                        the process is alive and serving
 *   GET /readyz   200 {"status":"ready"}                     every route holds a valid token
 *                 503 {"status":"not ready","routes":[...]}  the routes that do not, with the reason
 *   GET /metrics  Prometheus text format (RelayMetrics)
 * </pre>
 *
 * <p>The JDK's small HTTP server on one thread of its own: admin traffic is a probe every few seconds,
 * and keeping it off the relay's event loops means a stuck probe can never delay a relayed request. No
 * response carries a token, a credential or a configured value.
 */
public final class AdminServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AdminServer.class);

  /** One route's readiness: {@code null} when ready, else why not (a message that holds no secret). */
  public interface Readiness {
    String notReadyReason();
  }

  private final RelayMetrics metrics;
  private final List<Route> routes;
  private final ExecutorService executor;
  private HttpServer server;

  /** A route name and how to tell whether it is ready. */
  public record Route(String name, Readiness readiness) {}

  public AdminServer(RelayMetrics metrics, List<Route> routes) {
    this.metrics = metrics;
    this.routes = List.copyOf(routes);
    this.executor =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "admin");
              t.setDaemon(true);
              return t;
            });
  }

  /** Binds {@code host:port} (0: a free port) and returns the bound address. */
  public InetSocketAddress start(String host, int port) throws IOException {
    server = HttpServer.create(new InetSocketAddress(host, port), 16);
    server.createContext("/healthz", ex -> answer(ex, 200, "application/json", () -> "{\"status\":\"ok\"}\n"));
    server.createContext("/readyz", this::readyz);
    server.createContext(
        "/metrics", ex -> answer(ex, 200, "text/plain; version=0.0.4; charset=utf-8", metrics::scrape));
    server.setExecutor(executor);
    server.start();
    InetSocketAddress bound = server.getAddress();
    log.info("admin listening on {}:{} (/healthz, /readyz, /metrics)", host, bound.getPort());
    return bound;
  }

  private void readyz(HttpExchange ex) throws IOException {
    StringBuilder notReady = new StringBuilder();
    for (Route r : routes) {
      String reason = r.readiness().notReadyReason();
      if (reason != null) {
        notReady.append(notReady.length() == 0 ? "" : ",")
            .append("{\"route\":\"").append(json(r.name())).append("\",\"reason\":\"").append(json(reason)).append("\"}");
      }
    }
    if (notReady.length() == 0) {
      answer(ex, 200, "application/json", () -> "{\"status\":\"ready\"}\n");
    } else {
      answer(ex, 503, "application/json", () -> "{\"status\":\"not ready\",\"routes\":[" + notReady + "]}\n");
    }
  }

  private static String json(String s) {
    StringBuilder out = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        out.append('\\').append(c);
      } else {
        out.append(c < 0x20 ? ' ' : c);
      }
    }
    return out.toString();
  }

  private static void answer(HttpExchange ex, int status, String type, Supplier<String> body) throws IOException {
    try (ex) {
      ex.getRequestBody().readAllBytes();
      if (!ex.getRequestMethod().equals("GET") && !ex.getRequestMethod().equals("HEAD")) {
        ex.getResponseHeaders().set("Allow", "GET, HEAD");
        ex.sendResponseHeaders(405, -1);
        return;
      }
      byte[] bytes = body.get().getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().set("Content-Type", type);
      ex.getResponseHeaders().set("Cache-Control", "no-store");
      boolean head = ex.getRequestMethod().equals("HEAD");
      ex.sendResponseHeaders(status, head ? -1 : bytes.length);
      if (!head) {
        try (OutputStream out = ex.getResponseBody()) {
          out.write(bytes);
        }
      }
    }
  }

  @Override
  public void close() {
    if (server != null) {
      server.stop(0);
    }
    executor.shutdownNow();
  }
}
