package io.oauth2relay.server.proxy;

import io.netty.handler.codec.http.QueryStringDecoder;
import java.util.Locale;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One log line per request: method, path, query with sensitive values masked, status, duration, response
 * bytes, route. Never a header, never a body. A target that is not a path (absolute-form, which could
 * carry user-info) is logged as {@code -}; control characters are replaced so a caller cannot forge lines.
 */
public final class AccessLog implements TrafficListener {
  private static final Logger log = LoggerFactory.getLogger(AccessLog.class);
  static final int MAX_TARGET = 512;

  private final Set<String> sensitive;

  /** @param sensitive lower-case query parameter names whose values are masked */
  public AccessLog(Set<String> sensitive) {
    this.sensitive = Set.copyOf(sensitive);
  }

  @Override
  public void exchangeFinished(String route, String method, String target, int status, long nanos, long bytes) {
    if (log.isInfoEnabled()) {
      log.info("{} {} {} {} ms {} B route={}", safe(method), redact(target), status == 0 ? "-" : status,
          nanos / 1_000_000, bytes, routeName(route));
    }
  }

  private static String routeName(String route) {
    return route == null ? "-" : safe(route);
  }

  /** The target with every value of a sensitive query parameter replaced by {@code ****}. */
  String redact(String target) {
    if (target == null || target.isEmpty() || target.charAt(0) != '/') {
      return "-";
    }
    int q = target.indexOf('?');
    if (q < 0) {
      return safe(target);
    }
    StringBuilder out = new StringBuilder(target.length());
    out.append(target, 0, q + 1);
    String query = target.substring(q + 1);
    int fragment = query.indexOf('#');
    if (fragment >= 0) {
      query = query.substring(0, fragment);
    }
    // A hand-written split on & and ; (String.split with a character class compiles a Pattern each call).
    for (int start = 0, i = 0; start <= query.length(); i++) {
      int end = start;
      while (end < query.length() && query.charAt(end) != '&' && query.charAt(end) != ';') {
        end++;
      }
      if (i > 0) {
        out.append('&');
      }
      String pair = query.substring(start, end);
      start = end + 1;
      int eq = pair.indexOf('=');
      String rawName = eq < 0 ? pair : pair.substring(0, eq);
      String name = decode(rawName).toLowerCase(Locale.ROOT).trim();
      if (eq >= 0 && sensitive.contains(name)) {
        out.append(rawName).append("=****");
      } else {
        out.append(pair);
      }
    }
    return safe(out.toString());
  }

  private static String decode(String raw) {
    try {
      return QueryStringDecoder.decodeComponent(raw);
    } catch (IllegalArgumentException e) {
      return raw;
    }
  }

  private static String safe(String s) {
    if (s.length() <= MAX_TARGET && isSafe(s)) {
      return s; // the common case: nothing to replace, nothing to copy (this runs for every request)
    }
    StringBuilder out = new StringBuilder(Math.min(s.length(), MAX_TARGET + 3));
    for (int i = 0; i < s.length() && i < MAX_TARGET; i++) {
      char c = s.charAt(i);
      out.append(c < 0x20 || c == 0x7f || c == '"' ? '?' : c);
    }
    if (s.length() > MAX_TARGET) {
      out.append("...");
    }
    return out.toString();
  }

  private static boolean isSafe(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c == 0x7f || c == '"') {
        return false;
      }
    }
    return true;
  }
}
