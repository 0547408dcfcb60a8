package io.oauth2relay.server.proxy;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.util.AsciiString;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** Hop-by-hop header handling (RFC 9110 §7.6.1). */
final class Headers {
  /** Never forwarded in either direction; Connection may name more. */
  private static final AsciiString[] HOP_BY_HOP = {
          HttpHeaderNames.CONNECTION,
          HttpHeaderNames.KEEP_ALIVE,
          AsciiString.cached("proxy-connection"),
          HttpHeaderNames.PROXY_AUTHENTICATE,
          HttpHeaderNames.PROXY_AUTHORIZATION,
          HttpHeaderNames.TE,
          HttpHeaderNames.TRAILER,
          HttpHeaderNames.TRANSFER_ENCODING,
          HttpHeaderNames.UPGRADE,
          // The relay answers Expect itself (HttpServerExpectContinueHandler) before forwarding.
          HttpHeaderNames.EXPECT,
          HttpHeaderNames.HOST,
          // What Netty's HTTP/2-to-HTTP/1.1 conversion adds about the caller's stream: never forwarded.
          HttpConversionUtil.ExtensionHeaderNames.STREAM_ID.text(),
          HttpConversionUtil.ExtensionHeaderNames.SCHEME.text(),
          HttpConversionUtil.ExtensionHeaderNames.PATH.text(),
          HttpConversionUtil.ExtensionHeaderNames.STREAM_PROMISE_ID.text(),
          HttpConversionUtil.ExtensionHeaderNames.STREAM_DEPENDENCY_ID.text(),
          HttpConversionUtil.ExtensionHeaderNames.STREAM_WEIGHT.text()
  };

  private Headers() {}

  /**
   * Copies end-to-end headers from {@code in} to {@code out}: drops hop-by-hop headers, those the
   * {@code Connection} header names, and those in {@code replaced} (lower-case names the relay sets).
   */
  static void copyEndToEnd(HttpHeaders in, HttpHeaders out, String[] replaced) {
    Set<String> named = connectionNamed(in);
    for (Iterator<Map.Entry<CharSequence, CharSequence>> it = in.iteratorCharSequence(); it.hasNext(); ) {
      Map.Entry<CharSequence, CharSequence> h = it.next();
      CharSequence name = h.getKey();
      // Compared without lower-case copies: this runs for every header of every request.
      if (isHopByHop(name) || containsIgnoreCase(replaced, name) || (named != null && containsIgnoreCase(named, name))) {
        continue;
      }
      out.add(name, h.getValue());
    }
  }

  private static boolean isHopByHop(CharSequence name) {
    for (AsciiString h : HOP_BY_HOP) {
      if (h.contentEqualsIgnoreCase(name)) {
        return true;
      }
    }
    return false;
  }

  private static boolean containsIgnoreCase(String[] lowerCase, CharSequence name) {
    for (String s : lowerCase) {
      if (AsciiString.contentEqualsIgnoreCase(s, name)) {
        return true;
      }
    }
    return false;
  }

  private static boolean containsIgnoreCase(Set<String> lowerCase, CharSequence name) {
    for (String s : lowerCase) {
      if (AsciiString.contentEqualsIgnoreCase(s, name)) {
        return true;
      }
    }
    return false;
  }

  /** Removes hop-by-hop headers from a message in place (for responses). */
  static void stripHopByHop(HttpHeaders headers) {
    Set<String> named = connectionNamed(headers);
    if (named != null) {
      for (String name : named) {
        headers.remove(name);
      }
    }
    for (AsciiString name : HOP_BY_HOP) {
      if (name != HttpHeaderNames.HOST && name != HttpHeaderNames.EXPECT) {
        headers.remove(name);
      }
    }
  }

  private static Set<String> connectionNamed(HttpHeaders headers) {
    if (!headers.contains(HttpHeaderNames.CONNECTION)) {
      return null;
    }
    Set<String> named = new HashSet<>();
    for (String value : headers.getAll(HttpHeaderNames.CONNECTION)) {
      for (String token : value.split(",")) {
        String t = token.trim().toLowerCase(Locale.ROOT);
        if (!t.isEmpty()) {
          named.add(t);
        }
      }
    }
    return named;
  }
}
