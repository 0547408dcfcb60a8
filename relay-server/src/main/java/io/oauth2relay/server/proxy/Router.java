package io.oauth2relay.server.proxy;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * Picks the route for a caller request: among the routes whose {@code host} (if any) equals the
 * request's {@code Host} without its port, the one with the longest path prefix that matches whole
 * segments. Routes with a host come before routes without one for the same prefix length.
 */
public final class Router {
  private final List<RelayRoute> routes;
  /** The one route when it takes every request, else {@code null}. */
  private final RelayRoute catchAll;

  public Router(List<RelayRoute> routes) {
    if (routes.isEmpty()) {
      throw new IllegalArgumentException("routes: empty (expected at least one)");
    }
    List<RelayRoute> sorted = new ArrayList<>(routes);
    sorted.sort(
        Comparator.comparingInt((RelayRoute r) -> r.pathPrefix().length())
            .reversed()
            .thenComparing(r -> r.hostMatch() == null));
    this.routes = List.copyOf(sorted);
    RelayRoute only = routes.size() == 1 ? routes.get(0) : null;
    this.catchAll = only != null && only.pathPrefix().isEmpty() && only.hostMatch() == null ? only : null;
  }

  /** A router with one route. */
  public static Router of(RelayRoute route) {
    return new Router(List.of(route));
  }

  /** Every route, longest prefix first. */
  public List<RelayRoute> routes() {
    return routes;
  }

  /** The route for {@code request}, or {@code null} when none takes it. */
  RelayRoute select(HttpRequest request) {
    if (catchAll != null) {
      return catchAll; // the seed's single relay: every request, nothing to look at
    }
    String uri = request.uri();
    int q = uri.indexOf('?');
    String path = q < 0 ? uri : uri.substring(0, q);
    String host = null;
    for (RelayRoute r : routes) {
      if (r.hostMatch() != null) {
        if (host == null) {
          host = hostOf(request);
        }
        if (!r.hostMatch().equals(host)) {
          continue;
        }
      }
      if (matches(r.pathPrefix(), path)) {
        return r;
      }
    }
    return null;
  }

  /** Whether {@code prefix} ({@code ""} for all, else {@code /seg...} without a trailing slash) takes {@code path}. */
  static boolean matches(String prefix, String path) {
    if (prefix.isEmpty()) {
      return true;
    }
    return path.startsWith(prefix)
        && (path.length() == prefix.length() || path.charAt(prefix.length()) == '/');
  }

  private static String hostOf(HttpRequest request) {
    String host = request.headers().get(HttpHeaderNames.HOST);
    if (host == null) {
      return "";
    }
    host = host.trim().toLowerCase(Locale.ROOT);
    if (host.startsWith("[")) {
      int end = host.indexOf(']');
      return end < 0 ? host : host.substring(0, end + 1);
    }
    int colon = host.indexOf(':');
    return colon < 0 ? host : host.substring(0, colon);
  }
}
