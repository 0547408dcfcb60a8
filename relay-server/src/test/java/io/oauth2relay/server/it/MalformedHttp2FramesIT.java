package io.oauth2relay.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.oauth2relay.server.Relay;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Malformed HTTP/2 (h2c with prior knowledge) to the relay, in process: a bad preface, invalid frames,
 * oversize frames, a bounded RST_STREAM flood. The relay must answer with GOAWAY or close that
 * connection, never hang, and keep serving a well-formed h2c request (made by {@code curl
 * --http2-prior-knowledge}) on a fresh one. Same seed and loopback servers as {@link MalformedInputIT}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MalformedHttp2FramesIT {
  private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final int DATA = 0, HEADERS = 1, RST_STREAM = 3, SETTINGS = 4, PING = 6, GOAWAY = 7, WINDOW_UPDATE = 8;

  private MalformedInputIT.Upstream upstream;
  private MalformedInputIT.TokenEndpoint tokens;
  private Relay relay;
  private int port;

  @BeforeAll
  void start() throws Exception {
    upstream = new MalformedInputIT.Upstream();
    tokens = new MalformedInputIT.TokenEndpoint();
    relay = MalformedInputIT.startRelay(tokens, upstream);
    port = relay.start().getPort();
  }

  @AfterAll
  void stop() {
    relay.close();
    upstream.close();
    tokens.close();
  }

  static byte[] frame(int length, int type, int flags, int stream, byte[] payload) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(length >>> 16);
    out.write(length >>> 8);
    out.write(length);
    out.write(type);
    out.write(flags);
    out.write(stream >>> 24);
    out.write(stream >>> 16);
    out.write(stream >>> 8);
    out.write(stream);
    out.writeBytes(payload);
    return out.toByteArray();
  }

  static byte[] frame(int type, int flags, int stream, byte[] payload) {
    return frame(payload.length, type, flags, stream, payload);
  }

  static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  /** The preface and an empty SETTINGS frame: what a client sends before anything else. */
  static byte[] opening() {
    return concat(PREFACE, frame(SETTINGS, 0, 0, new byte[0]));
  }

  /** An HPACK block for GET / on http with static-table entries only (method GET, scheme http, path /). */
  static final byte[] GET_HEADERS = {(byte) 0x82, (byte) 0x86, (byte) 0x84, 0x41, 0x01, 'x'};

  static Stream<Arguments> cases() {
    Random random = new Random(MalformedInputIT.SEED);
    List<Arguments> cases = new ArrayList<>();
    cases.add(Arguments.of("bad preface", "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
    cases.add(Arguments.of("preface then garbage", concat(PREFACE, MalformedInputIT.randomBytes(random, 256))));
    cases.add(Arguments.of("no SETTINGS first", concat(PREFACE, frame(PING, 0, 0, new byte[8]))));
    cases.add(Arguments.of("SETTINGS with a length not a multiple of 6", concat(PREFACE, frame(SETTINGS, 0, 0, new byte[5]))));
    cases.add(Arguments.of("SETTINGS on a stream", concat(PREFACE, frame(SETTINGS, 0, 1, new byte[0]))));
    cases.add(Arguments.of("HEADERS on stream 0", concat(opening(), frame(HEADERS, 0x5, 0, GET_HEADERS))));
    cases.add(Arguments.of("HEADERS on an even stream", concat(opening(), frame(HEADERS, 0x5, 2, GET_HEADERS))));
    cases.add(Arguments.of("HEADERS with a broken HPACK block", concat(opening(), frame(HEADERS, 0x5, 1, new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f}))));
    cases.add(Arguments.of("DATA on an idle stream", concat(opening(), frame(DATA, 0x1, 3, new byte[16]))));
    cases.add(Arguments.of("frame over SETTINGS_MAX_FRAME_SIZE (16 MB length)", concat(opening(), frame(0xffffff, DATA, 0, 1, new byte[1024]))));
    cases.add(Arguments.of("PING of the wrong length", concat(opening(), frame(PING, 0, 0, new byte[7]))));
    cases.add(Arguments.of("WINDOW_UPDATE of zero", concat(opening(), frame(WINDOW_UPDATE, 0, 0, new byte[4]))));
    cases.add(Arguments.of("WINDOW_UPDATE overflowing the window",
        concat(opening(), frame(WINDOW_UPDATE, 0, 0, new byte[] {0x7f, -1, -1, -1}), frame(WINDOW_UPDATE, 0, 0, new byte[] {0x7f, -1, -1, -1}))));
    cases.add(Arguments.of("unknown frame type with garbage", concat(opening(), frame(0x42, 0xff, 1, MalformedInputIT.randomBytes(random, 64)))));
    cases.add(Arguments.of("GOAWAY from the client, then HEADERS", concat(opening(), frame(GOAWAY, 0, 0, new byte[8]), frame(HEADERS, 0x5, 1, GET_HEADERS))));
    // Rapid reset (CVE-2023-44487), bounded: open and reset 1000 streams.
    ByteArrayOutputStream flood = new ByteArrayOutputStream();
    flood.writeBytes(opening());
    for (int stream = 1; stream < 2001; stream += 2) {
      flood.writeBytes(frame(HEADERS, 0x5, stream, GET_HEADERS));
      flood.writeBytes(frame(RST_STREAM, 0, stream, new byte[] {0, 0, 0, 8}));
    }
    cases.add(Arguments.of("1000 HEADERS+RST_STREAM pairs", flood.toByteArray()));
    for (int i = 0; i < MalformedInputIT.GENERATED / 2; i++) {
      byte[] payload = MalformedInputIT.randomBytes(random, random.nextInt(512));
      cases.add(Arguments.of("random frame #" + i,
          concat(opening(), frame(payload.length, random.nextInt(10), random.nextInt(256), random.nextInt(8), payload))));
    }
    return cases.stream();
  }

  private static boolean mayBeIgnored(String name) {
    return name.startsWith("unknown frame type") || name.startsWith("GOAWAY from the client") || name.startsWith("random frame");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void aMalformedHttp2ConnectionEndsAndTheRelayKeepsServingH2c(String name, byte[] bytes) throws Exception {
    if (mayBeIgnored(name)) {
      // RFC 9113 §4.1 and §5.5: unknown frame types (and unknown flags) MUST be ignored, a client's GOAWAY
      // limits only the server's streams, and a random frame can be well formed: a connection kept open
      // is then correct, as long as it still works (answers a PING) rather than hangs.
      assertThat(endsOrAnswersPing(bytes)).as("GOAWAY, a close, or a PING answered (%s)", name).isTrue();
    } else {
      assertThat(goawayOrClose(bytes)).as("GOAWAY or a close, not a hang (%s)", name).isTrue();
    }

    Process curl =
        new ProcessBuilder("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{http_version}", "--max-time", "10",
                "--http2-prior-knowledge", "http://127.0.0.1:" + port + "/well-formed")
            .redirectErrorStream(true)
            .start();
    assertThat(curl.waitFor(20, TimeUnit.SECONDS)).isTrue();
    assertThat(new String(curl.getInputStream().readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("200 2");
  }

  /** True when the relay sent a GOAWAY frame or closed the connection within the read timeout. */
  private boolean goawayOrClose(byte[] bytes) throws IOException {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      try {
        out.write(bytes);
        out.flush();
      } catch (SocketException e) {
        return true; // closed while we were writing
      }
      InputStream in = s.getInputStream();
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      byte[] buf = new byte[8192];
      try {
        for (int n; (n = in.read(buf)) >= 0; ) {
          got.write(buf, 0, n);
          if (containsGoaway(got.toByteArray())) {
            return true;
          }
        }
        return true; // EOF
      } catch (SocketTimeoutException e) {
        return false;
      } catch (SocketException e) {
        return true; // reset
      }
    }
  }

  /** Sends {@code bytes} then a PING: true when the relay ends the connection or answers the PING. */
  private boolean endsOrAnswersPing(byte[] bytes) throws IOException {
    byte[] ping = frame(PING, 0, 0, new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
      s.setSoTimeout(10_000);
      try {
        s.getOutputStream().write(concat(bytes, ping));
        s.getOutputStream().flush();
      } catch (SocketException e) {
        return true;
      }
      InputStream in = s.getInputStream();
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      byte[] buf = new byte[8192];
      try {
        for (int n; (n = in.read(buf)) >= 0; ) {
          got.write(buf, 0, n);
          if (containsGoaway(got.toByteArray()) || containsPingAck(got.toByteArray())) {
            return true;
          }
        }
        return true; // EOF
      } catch (SocketTimeoutException e) {
        return false;
      } catch (SocketException e) {
        return true;
      }
    }
  }

  private static boolean containsPingAck(byte[] b) {
    for (int i = 0; i + 9 <= b.length; ) {
      int length = ((b[i] & 0xff) << 16) | ((b[i + 1] & 0xff) << 8) | (b[i + 2] & 0xff);
      if ((b[i + 3] & 0xff) == PING && (b[i + 4] & 0x1) != 0) {
        return true;
      }
      i += 9 + length;
    }
    return false;
  }

  /** Walks the server's frames (after its SETTINGS) looking for a GOAWAY. */
  private static boolean containsGoaway(byte[] b) {
    int i = 0;
    while (i + 9 <= b.length) {
      int length = ((b[i] & 0xff) << 16) | ((b[i + 1] & 0xff) << 8) | (b[i + 2] & 0xff);
      if ((b[i + 3] & 0xff) == GOAWAY) {
        return true;
      }
      i += 9 + length;
    }
    return false;
  }
}
