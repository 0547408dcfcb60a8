package io.oauth2relay.server.config;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.regex.Pattern;

/**
 * A source network in CIDR notation ({@code 10.0.0.0/8}, {@code fd00::/8}); a plain address is a single
 * host. Parsed from literals only: no name is ever looked up.
 */
public record Cidr(byte[] network, int prefix) {
  private static final Pattern LITERAL = Pattern.compile("[0-9A-Fa-f:.]+");

  /** Parses {@code text}, or returns {@code null} when it is not an IPv4/IPv6 address or CIDR block. */
  public static Cidr parse(String text) {
    String t = text.trim();
    int slash = t.indexOf('/');
    String address = slash < 0 ? t : t.substring(0, slash);
    if (address.startsWith("[") && address.endsWith("]")) {
      address = address.substring(1, address.length() - 1);
    }
    if (!LITERAL.matcher(address).matches() || (address.indexOf(':') < 0 && address.indexOf('.') < 0)) {
      return null; // a name: InetAddress would resolve it through DNS
    }
    byte[] bytes;
    try {
      bytes = InetAddress.getByName(address).getAddress();
    } catch (UnknownHostException e) {
      return null;
    }
    int max = bytes.length * 8;
    int prefix;
    try {
      prefix = slash < 0 ? max : Integer.parseInt(t.substring(slash + 1));
    } catch (NumberFormatException e) {
      return null;
    }
    if (prefix < 0 || prefix > max) {
      return null;
    }
    return new Cidr(mask(bytes, prefix), prefix);
  }

  /** Whether {@code address} is inside this network (an IPv4-mapped IPv6 address counts as IPv4). */
  public boolean contains(InetAddress address) {
    byte[] a = address.getAddress();
    if (a.length == 16 && network.length == 4 && isV4Mapped(a)) {
      a = java.util.Arrays.copyOfRange(a, 12, 16);
    }
    if (a.length != network.length) {
      return false;
    }
    return java.util.Arrays.equals(mask(a, prefix), network);
  }

  private static boolean isV4Mapped(byte[] a) {
    for (int i = 0; i < 10; i++) {
      if (a[i] != 0) {
        return false;
      }
    }
    return a[10] == (byte) 0xff && a[11] == (byte) 0xff;
  }

  private static byte[] mask(byte[] bytes, int prefix) {
    byte[] out = bytes.clone();
    for (int i = 0; i < out.length; i++) {
      int bits = Math.max(0, Math.min(8, prefix - i * 8));
      out[i] &= (byte) (0xff00 >> bits);
    }
    return out;
  }

  @Override
  public String toString() {
    try {
      return InetAddress.getByAddress(network).getHostAddress() + "/" + prefix;
    } catch (UnknownHostException e) {
      return "?/" + prefix;
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Cidr c && c.prefix == prefix && java.util.Arrays.equals(c.network, network);
  }

  @Override
  public int hashCode() {
    return java.util.Arrays.hashCode(network) * 31 + prefix;
  }
}
