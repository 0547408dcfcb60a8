package io.oauth2relay.server.token;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.oauth2relay.server.config.ResponseMapping;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Base64;
import java.util.Deque;

/**
 * The values read from a token endpoint's JSON response through a {@link ResponseMapping}.
 *
 * <p>Parsed with Jackson's streaming parser, copying token text straight from the parser's character
 * buffer into byte arrays, so no token ever becomes a {@code String} (Jackson's own reusable buffers are
 * beyond our reach; they are overwritten by later parses).
 */
final class TokenResponse {
  private static final JsonFactory JSON = new JsonFactory();

  byte[] accessToken;
  byte[] refreshToken;
  byte[] tokenType;
  /** Lifetime in seconds from {@code ExpiresIn}, or -1. */
  long expiresInSeconds = -1;
  /** Absolute expiry in epoch millis from {@code ExpiresAt}, or -1. */
  long expiresAtMillis = -1;
  /** The OAuth2 {@code error} code of an error response, when it looks like one. */
  String errorCode;

  /** Parses {@code body}; throws with a message naming the problem, never the content. */
  static TokenResponse parse(byte[] body, ResponseMapping mapping) throws TokenFetchException {
    TokenResponse r = new TokenResponse();
    try (JsonParser p = JSON.createParser(body)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new TokenFetchException("response is not a JSON object");
      }
      Deque<String> path = new ArrayDeque<>();
      String field = null;
      JsonToken t;
      int depth = 1;
      while (depth > 0 && (t = p.nextToken()) != null) {
        switch (t) {
          case FIELD_NAME -> field = p.currentName();
          case START_OBJECT -> {
            depth++;
            path.addLast(field == null ? "" : field);
            field = null;
          }
          case END_OBJECT -> {
            depth--;
            if (!path.isEmpty()) {
              path.removeLast();
            }
          }
          case START_ARRAY -> {
            p.skipChildren();
            field = null;
          }
          default -> {
            r.accept(join(path, field), p, t, mapping);
            field = null;
          }
        }
      }
    } catch (IOException e) {
      r.wipe();
      throw new TokenFetchException("response is not valid JSON");
    } catch (TokenFetchException e) {
      r.wipe(); // a token read before the field that failed must not outlive the failure
      throw e;
    }
    return r;
  }

  /** A copy of the JWT {@code exp} claim of {@code token} in epoch millis, or -1 when it is no JWT. */
  static long jwtExpiryMillis(byte[] token) {
    int first = indexOf(token, (byte) '.', 0);
    int second = first < 0 ? -1 : indexOf(token, (byte) '.', first + 1);
    if (second < 0) {
      return -1;
    }
    byte[] payload;
    try {
      ByteBuffer decoded =
          Base64.getUrlDecoder().decode(ByteBuffer.wrap(token, first + 1, second - first - 1));
      payload = new byte[decoded.remaining()];
      decoded.get(payload);
      Arrays.fill(decoded.array(), (byte) 0);
    } catch (IllegalArgumentException e) {
      return -1;
    }
    try (JsonParser p = JSON.createParser(payload)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return -1;
      }
      JsonToken t;
      while ((t = p.nextToken()) != null && t != JsonToken.END_OBJECT) {
        if (t == JsonToken.FIELD_NAME && "exp".equals(p.currentName())) {
          JsonToken v = p.nextToken();
          return v.isNumeric() ? p.getLongValue() * 1000 : -1;
        }
        if (t == JsonToken.FIELD_NAME) {
          p.nextToken();
          p.skipChildren();
        }
      }
      return -1;
    } catch (IOException e) {
      return -1;
    } finally {
      Arrays.fill(payload, (byte) 0);
    }
  }

  private void accept(String path, JsonParser p, JsonToken t, ResponseMapping m)
      throws IOException, TokenFetchException {
    if (path.equals(m.accessToken())) {
      accessToken = textBytes(p, t, "AccessToken");
    } else if (path.equals(m.refreshToken())) {
      refreshToken = t == JsonToken.VALUE_NULL ? null : textBytes(p, t, "RefreshToken");
    } else if (path.equals(m.tokenType())) {
      tokenType = t == JsonToken.VALUE_NULL ? null : textBytes(p, t, "TokenType");
    } else if (path.equals(m.expiresIn())) {
      expiresInSeconds = number(p, t, "ExpiresIn");
      if (expiresInSeconds < 0 && t != JsonToken.VALUE_NULL) {
        // -1 is "absent" here; a provider's negative lifetime is garbage, not a default.
        throw new TokenFetchException("response field mapped to ExpiresIn is negative");
      }
    } else if (path.equals(m.expiresAt())) {
      expiresAtMillis = instantMillis(p, t);
    } else if (path.equals("error") && t == JsonToken.VALUE_STRING) {
      String code = p.getText();
      // Only RFC 6749-shaped codes are kept: anything else might echo request content.
      errorCode = code.matches("[a-z_]{1,64}") ? code : null;
    }
  }

  private static byte[] textBytes(JsonParser p, JsonToken t, String what)
      throws IOException, TokenFetchException {
    if (t != JsonToken.VALUE_STRING) {
      throw new TokenFetchException("response field mapped to " + what + " is not a string");
    }
    CharBuffer chars = CharBuffer.wrap(p.getTextCharacters(), p.getTextOffset(), p.getTextLength());
    ByteBuffer encoded;
    try {
      encoded = StandardCharsets.UTF_8.newEncoder().encode(chars);
    } catch (CharacterCodingException e) {
      throw new TokenFetchException("response field mapped to " + what + " is not valid text");
    }
    byte[] out = new byte[encoded.remaining()];
    encoded.get(out);
    Arrays.fill(encoded.array(), (byte) 0);
    for (byte b : out) {
      if ((b >= 0 && b < 0x20) || b == 0x7f) {
        // These values go into request headers and bodies: a CR or LF from a hostile or broken provider
        // would split the upstream request (header injection). No token format has control characters.
        Arrays.fill(out, (byte) 0);
        throw new TokenFetchException("response field mapped to " + what + " contains control characters");
      }
    }
    return out;
  }

  private static long number(JsonParser p, JsonToken t, String what) throws IOException, TokenFetchException {
    if (t == JsonToken.VALUE_NUMBER_INT || t == JsonToken.VALUE_NUMBER_FLOAT) {
      return (long) p.getDoubleValue();
    }
    if (t == JsonToken.VALUE_STRING) {
      try {
        return (long) Double.parseDouble(p.getText().trim());
      } catch (NumberFormatException e) {
        throw new TokenFetchException("response field mapped to " + what + " is not a number");
      }
    }
    if (t == JsonToken.VALUE_NULL) {
      return -1;
    }
    throw new TokenFetchException("response field mapped to " + what + " is not a number");
  }

  /** Epoch seconds, epoch millis (values past year 5138 in seconds) or an ISO-8601 instant. */
  private static long instantMillis(JsonParser p, JsonToken t) throws IOException, TokenFetchException {
    if (t == JsonToken.VALUE_STRING) {
      return instantMillis(p.getText());
    }
    long n = number(p, t, "ExpiresAt");
    return n < 0 ? -1 : epochMillis(n);
  }

  /** The text form of an {@code ExpiresAt} value (from a JSON string or a response header). */
  static long instantMillis(String value) throws TokenFetchException {
    String text = value.trim();
    if (!text.isEmpty() && text.chars().allMatch(Character::isDigit)) {
      return epochMillis(Long.parseLong(text));
    }
    try {
      return OffsetDateTime.parse(text).toInstant().toEpochMilli();
    } catch (DateTimeParseException e) {
      try {
        return Instant.parse(text).toEpochMilli();
      } catch (DateTimeParseException e2) {
        throw new TokenFetchException(
            "response field mapped to ExpiresAt is neither epoch seconds, epoch millis nor ISO-8601");
      }
    }
  }

  private static long epochMillis(long n) {
    return n > 100_000_000_000L ? n : n * 1000;
  }

  private static String join(Deque<String> path, String field) {
    if (path.isEmpty()) {
      return field == null ? "" : field;
    }
    StringBuilder sb = new StringBuilder();
    for (String segment : path) {
      sb.append(segment).append('.');
    }
    return sb.append(field == null ? "" : field).toString();
  }

  private static int indexOf(byte[] a, byte b, int from) {
    for (int i = from; i < a.length; i++) {
      if (a[i] == b) {
        return i;
      }
    }
    return -1;
  }

  /** Zeroes the token arrays not handed over to a {@link TokenState}. */
  void wipe() {
    for (byte[] a : new byte[][] {accessToken, refreshToken, tokenType}) {
      if (a != null) {
        Arrays.fill(a, (byte) 0);
      }
    }
  }
}
