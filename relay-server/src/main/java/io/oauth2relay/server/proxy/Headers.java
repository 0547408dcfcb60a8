package io.oauth2relay.server.proxy;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValidationUtil;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.util.AsciiString;
import io.netty.util.concurrent.FastThreadLocal;
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

  /** {@link #HOP_BY_HOP} by name length: most names have a length no hop-by-hop name has. */
  private static final AsciiString[][] HOP_BY_HOP_BY_LENGTH = byLength(HOP_BY_HOP);

  private Headers() {}

  private static AsciiString[][] byLength(AsciiString[] names) {
    int max = 0;
    for (AsciiString n : names) {
      max = Math.max(max, n.length());
    }
    AsciiString[][] table = new AsciiString[max + 1][0];
    for (AsciiString n : names) {
      AsciiString[] row = Arrays.copyOf(table[n.length()], table[n.length()].length + 1);
      row[row.length - 1] = n;
      table[n.length()] = row;
    }
    return table;
  }

  /**
   * Whether a caller's head has a header whose name is not a token (RFC 9110 §5.1) or whose value has a
   * character no field value may have (controls other than HTAB, and DEL: §5.5). A bare CR or NUL
   * forwarded in a value would let a caller split or confuse the upstream's parse of the request; a
   * space in a name is how several smuggling tricks start.
   */
  static boolean hasInvalidField(HttpHeaders headers) {
    for (Iterator<Map.Entry<CharSequence, CharSequence>> it = headers.iteratorCharSequence(); it.hasNext(); ) {
      Map.Entry<CharSequence, CharSequence> h = it.next();
      if (h.getKey().length() == 0
          || HttpHeaderValidationUtil.validateToken(h.getKey()) >= 0
          || HttpHeaderValidationUtil.validateValidHeaderValue(h.getValue()) >= 0) {
        return true;
      }
    }
    return false;
  }

  /**
   * Removes, in place, what a request head must not carry upstream: hop-by-hop headers, those the
   * {@code Connection} header names, {@code Expect}, and those in {@code replaced} (lower-case names the
   * relay sets). {@code Host} stays for the caller to read and set.
   */
  static void stripForUpstream(HttpHeaders headers, String[] replaced) {
    strip(headers, replaced);
  }

  /** Removes hop-by-hop headers, and those the {@code Connection} header names, in place (responses). */
  static void stripHopByHop(HttpHeaders headers) {
    strip(headers, null);
  }

  /**
   * One pass finds what goes (usually just {@code Connection}, and {@code Keep-Alive} on responses), then
   * each name found is removed: cheaper than a removal per hop-by-hop name, each a hash and a bucket walk.
   *
   * @param replaced names to drop besides, and {@code Expect}, for a request; {@code null} for a response
   */
  private static void strip(HttpHeaders headers, String[] replaced) {
    Names drop = SCRATCH.get();
    drop.count = 0;
    try {
      collect(headers, replaced, drop);
      for (int i = 0; i < drop.count; i++) {
        headers.remove(drop.names[i]);
      }
    } finally {
      Arrays.fill(drop.names, 0, drop.count, null); // the scratch list keeps no header of a finished exchange
      drop.count = 0;
    }
  }

  private static void collect(HttpHeaders headers, String[] replaced, Names drop) {
    for (Iterator<Map.Entry<CharSequence, CharSequence>> it = headers.iteratorCharSequence(); it.hasNext(); ) {
      Map.Entry<CharSequence, CharSequence> h = it.next();
      CharSequence name = h.getKey();
      if (isHopByHop(name)) {
        drop = Names.add(drop, name);
        if (AsciiString.contentEqualsIgnoreCase(name, HttpHeaderNames.CONNECTION)) {
          drop = addConnectionNamed(h.getValue(), drop);
        }
      } else if (replaced != null
          && (AsciiString.contentEqualsIgnoreCase(name, HttpHeaderNames.EXPECT) || contains(replaced, name))) {
        drop = Names.add(drop, name);
      }
    }
  }

  /**
   * The names to drop, one list per thread, reused: nearly every response carries a {@code Connection}
   * to drop, and a list and its array per message were 2 % of what a relayed request allocated.
   */
  private static final FastThreadLocal<Names> SCRATCH =
      new FastThreadLocal<>() {
        @Override
        protected Names initialValue() {
          return new Names();
        }
      };

  /** A small growable list of names. */
  private static final class Names {
    CharSequence[] names = new CharSequence[4];
    int count;

    static Names add(Names list, CharSequence name) {
      if (list.count == list.names.length) {
        list.names = Arrays.copyOf(list.names, list.count * 2);
      }
      list.names[list.count++] = name;
      return list;
    }
  }

  private static boolean isHopByHop(CharSequence name) {
    return name.length() < HOP_BY_HOP_BY_LENGTH.length && contains(HOP_BY_HOP_BY_LENGTH[name.length()], name);
  }

  private static boolean contains(CharSequence[] names, CharSequence name) {
    for (CharSequence s : names) {
      if (AsciiString.contentEqualsIgnoreCase(s, name)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Adds the extension headers a {@code Connection} value names (RFC 9110 §7.6.1) to {@code drop}: its
   * options {@code close} and {@code keep-alive}, and hop-by-hop names (dropped anyway), are not added.
   */
  private static Names addConnectionNamed(CharSequence value, Names drop) {
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
        if (!AsciiString.contentEqualsIgnoreCase(token, HttpHeaderValues.CLOSE) && !isHopByHop(token)) {
          drop = Names.add(drop, token);
        }
      }
      if (comma < 0) {
        break;
      }
      start = comma + 1;
    }
    return drop;
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
