package io.oauth2relay.server.proxy;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.util.AsciiString;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Map;

/**
 * Hop-by-hop header handling (RFC 9110 §7.6.1). Runs for every request and response, so it compares names
 * in place (no lower-case copies) and allocates nothing unless a {@code Connection} header names an
 * extension header, which real traffic almost never does ({@code keep-alive} and {@code close} name
 * nothing that is not already hop-by-hop).
 */
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
          // What Netty's HTTP/2-to-HTTP/1.1 conversion adds about the caller's stream: never forwarded.
          HttpConversionUtil.ExtensionHeaderNames.STREAM_ID.text(),
          HttpConversionUtil.ExtensionHeaderNames.SCHEME.text(),
          HttpConversionUtil.ExtensionHeaderNames.PATH.text(),
          HttpConversionUtil.ExtensionHeaderNames.STREAM_PROMISE_ID.text(),
          HttpConversionUtil.ExtensionHeaderNames.STREAM_DEPENDENCY_ID.text(),
          HttpConversionUtil.ExtensionHeaderNames.STREAM_WEIGHT.text()
  };
  /**
   * Request headers the relay never copies besides {@link #HOP_BY_HOP}: it answers {@code Expect} itself
   * before forwarding, and sets {@code Host} to the upstream's.
   */
  private static final AsciiString[] REQUEST_ONLY = {HttpHeaderNames.EXPECT, HttpHeaderNames.HOST};

  private Headers() {}

  /**
   * Copies end-to-end headers from {@code in} to {@code out}: drops hop-by-hop headers, those the
   * {@code Connection} header names, and those in {@code replaced} (lower-case names the relay sets).
   */
  static void copyEndToEnd(HttpHeaders in, HttpHeaders out, String[] replaced) {
    CharSequence[] named = connectionNamed(in);
    for (Iterator<Map.Entry<CharSequence, CharSequence>> it = in.iteratorCharSequence(); it.hasNext(); ) {
      Map.Entry<CharSequence, CharSequence> h = it.next();
      CharSequence name = h.getKey();
      if (isHopByHop(name) || contains(REQUEST_ONLY, name) || contains(replaced, name) || contains(named, name)) {
        continue;
      }
      out.add(name, h.getValue());
    }
  }

  /** Removes hop-by-hop headers from a message in place (for responses). */
  static void stripHopByHop(HttpHeaders headers) {
    CharSequence[] named = connectionNamed(headers);
    if (named != null) {
      for (CharSequence name : named) {
        headers.remove(name);
      }
    }
    // One pass to find them (usually just Connection and Keep-Alive) instead of a removal per name.
    CharSequence first = null;
    CharSequence second = null;
    boolean more = false;
    for (Iterator<Map.Entry<CharSequence, CharSequence>> it = headers.iteratorCharSequence(); it.hasNext(); ) {
      CharSequence name = it.next().getKey();
      if (isHopByHop(name)) {
        if (first == null) {
          first = name;
        } else if (second == null) {
          second = name;
        } else {
          more = true;
        }
      }
    }
    if (more) {
      for (AsciiString name : HOP_BY_HOP) {
        headers.remove(name);
      }
      return;
    }
    if (first != null) {
      headers.remove(first);
    }
    if (second != null) {
      headers.remove(second);
    }
  }

  private static boolean isHopByHop(CharSequence name) {
    return contains(HOP_BY_HOP, name);
  }

  private static boolean contains(CharSequence[] names, CharSequence name) {
    if (names != null) {
      for (CharSequence s : names) {
        if (AsciiString.contentEqualsIgnoreCase(s, name)) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * The extension headers the {@code Connection} header names (RFC 9110 §7.6.1), or {@code null} when it
   * names none: its options {@code close} and {@code keep-alive}, and the hop-by-hop names, are not counted.
   */
  private static CharSequence[] connectionNamed(HttpHeaders headers) {
    CharSequence[] named = null;
    int count = 0;
    for (Iterator<? extends CharSequence> values = headers.valueCharSequenceIterator(HttpHeaderNames.CONNECTION);
        values.hasNext(); ) {
      CharSequence value = values.next();
      int start = 0;
      while (start <= value.length()) {
        int comma = indexOf(value, ',', start);
        int end = comma < 0 ? value.length() : comma;
        int from = start;
        int to = end;
        while (from < to && isSpace(value.charAt(from))) {
          from++;
        }
        while (to > from && isSpace(value.charAt(to - 1))) {
          to--;
        }
        if (to > from) {
          CharSequence token = value.subSequence(from, to);
          if (!AsciiString.contentEqualsIgnoreCase(token, HttpHeaderValues.CLOSE)
              && !isHopByHop(token)) {
            if (named == null) {
              named = new CharSequence[4];
            } else if (count == named.length) {
              named = Arrays.copyOf(named, count * 2);
            }
            named[count++] = token;
          }
        }
        if (comma < 0) {
          break;
        }
        start = comma + 1;
      }
    }
    return named == null || count == named.length ? named : Arrays.copyOf(named, count);
  }

  private static int indexOf(CharSequence s, char c, int from) {
    for (int i = from; i < s.length(); i++) {
      if (s.charAt(i) == c) {
        return i;
      }
    }
    return -1;
  }

  private static boolean isSpace(char c) {
    return c == ' ' || c == '\t';
  }
}
