package io.oauth2relay.server.config;

import java.io.ByteArrayOutputStream;

/**
 * Percent-encoding for {@code application/x-www-form-urlencoded} (and query components), working on
 * UTF-8 bytes so that secrets are encoded without an intermediate {@code String}.
 */
public final class FormEncoding {
  private static final byte[] HEX = "0123456789ABCDEF".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  private FormEncoding() {}

  /** Appends the form encoding of {@code utf8} to {@code out}. */
  public static void encode(byte[] utf8, ByteArrayOutputStream out) {
    for (byte b : utf8) {
      int c = b & 0xff;
      if ((c >= 'a' && c <= 'z')
          || (c >= 'A' && c <= 'Z')
          || (c >= '0' && c <= '9')
          || c == '-'
          || c == '.'
          || c == '_'
          || c == '*') {
        out.write(c);
      } else if (c == ' ') {
        out.write('+');
      } else {
        out.write('%');
        out.write(HEX[c >> 4]);
        out.write(HEX[c & 0xf]);
      }
    }
  }

  /** Appends the form encoding of {@code text} to {@code out}. */
  public static void encode(String text, ByteArrayOutputStream out) {
    encode(text.getBytes(java.nio.charset.StandardCharsets.UTF_8), out);
  }
}
