package io.oauth2relay.server.token;

import java.io.ByteArrayOutputStream;

/** Writes UTF-8 bytes as a JSON string literal without an intermediate {@code String}. */
final class JsonStrings {
  private static final byte[] HEX = "0123456789abcdef".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  private JsonStrings() {}

  static void write(byte[] utf8, ByteArrayOutputStream out) {
    out.write('"');
    for (byte b : utf8) {
      int c = b & 0xff;
      if (c == '"' || c == '\\') {
        out.write('\\');
        out.write(c);
      } else if (c < 0x20) {
        out.write('\\');
        out.write('u');
        out.write('0');
        out.write('0');
        out.write(HEX[c >> 4]);
        out.write(HEX[c & 0xf]);
      } else {
        out.write(c);
      }
    }
    out.write('"');
  }
}
