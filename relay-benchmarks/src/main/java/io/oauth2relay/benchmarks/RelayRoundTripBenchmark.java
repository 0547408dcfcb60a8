package io.oauth2relay.benchmarks;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.oauth2relay.server.Relay;
import io.oauth2relay.server.config.ConfigLoader;
import io.oauth2relay.server.config.RelayConfig;
import io.oauth2relay.server.internal.CoarseClock;
import io.oauth2relay.server.internal.Transports;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A whole relayed round trip on loopback, through the real {@link Relay} (listener, caller handler, route,
 * token holder, origin pool):
 *
 * <pre>
 *   JMH thread: blocking socket, pre-built request --> Relay (Netty, token from a loopback endpoint)
 *                                                       --> canned-response origin (Netty, same JVM)
 *   response read by Content-Length into a reused array
 * </pre>
 *
 * <p>{@code -prof gc} measures the whole JVM, so client and origin are kept lean on purpose: the client is
 * a plain socket writing one pre-built request and reading into a reused {@code byte[]}; the origin does
 * not parse HTTP, it counts request heads (each ends in CRLF CRLF, none has a body) and answers each with a
 * retained slice of one pre-built response. {@code direct} is the same client straight to the origin: the
 * difference between {@code relayed} and {@code direct} is the relay's share, in time and in bytes.
 *
 * <p>The token comes from a loopback token endpoint through the production {@code TokenHolder} (one login
 * at set-up; the lifetime is a day, so no renewal happens while measuring).
 *
 * <p>Run: {@code java -jar relay-benchmarks/target/benchmarks.jar RelayRoundTripBenchmark -prof gc}
 * ({@code -p responseBytes=16384} for a larger response).
 */
@State(Scope.Benchmark)
@BenchmarkMode({Mode.AverageTime, Mode.SampleTime})
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 4, time = 2)
@Measurement(iterations = 5, time = 2)
// Leak detection off, as the launcher runs the relay (its sampled stack traces are allocation too).
@Fork(value = 1, jvmArgsAppend = {"-Xms256m", "-Xmx256m", "-Dio.netty.leakDetection.level=disabled"})
public class RelayRoundTripBenchmark {
  private static final String TOKEN = "bench-token-" + "x".repeat(52); // 64 characters, like a real one

  /** Response body size from the origin. */
  @Param({"13"})
  public int responseBytes;

  /**
   * The relay's access log ({@code accessLog}, on by default: one line per request to standard output,
   * which JMH forwards from the fork). {@code false} shows the data path alone.
   */
  @Param({"true", "false"})
  public boolean accessLog;

  private HttpServer tokenEndpoint;
  private EventLoopGroup originLoop;
  private Channel origin;
  private Relay relay;
  InetSocketAddress relayAddress;
  InetSocketAddress originAddress;

  @Setup(Level.Trial)
  public void start() throws Exception {
    tokenEndpoint = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    tokenEndpoint.createContext("/token", ex -> {
      byte[] body = ("{\"AccessToken\":\"" + TOKEN + "\",\"ExpiresIn\":86400}").getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(200, body.length);
      ex.getResponseBody().write(body);
      ex.close();
    });
    tokenEndpoint.start();

    byte[] response = cannedResponse(responseBytes);
    ByteBuf canned = Unpooled.unreleasableBuffer(Unpooled.directBuffer(response.length).writeBytes(response));
    Transports transport = Transports.best();
    originLoop = transport.newGroup(1, new DefaultThreadFactory("bench-origin", true));
    origin =
        new ServerBootstrap()
            .group(originLoop)
            .channel(transport.serverChannel())
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childHandler(
                new ChannelInitializer<>() {
                  @Override
                  protected void initChannel(Channel ch) {
                    ch.pipeline().addLast(new CannedOrigin(canned));
                  }
                })
            .bind(InetAddress.getLoopbackAddress(), 0)
            .sync()
            .channel();
    originAddress = (InetSocketAddress) origin.localAddress();

    String json =
        """
        { "host": "127.0.0.1", "port": 0, "accessLog": %b,
          "login": { "url": "http://127.0.0.1:%d/token" },
          "relay": { "url": "http://127.0.0.1:%d/api/" } }
        """
            .formatted(accessLog, tokenEndpoint.getAddress().getPort(), originAddress.getPort());
    RelayConfig config = new ConfigLoader(Map.<String, String>of()::get).parse(new ObjectMapper().readTree(json), "bench");
    relay = new Relay(config, CoarseClock.systemUTC());
    relayAddress = relay.start();
    // One request before measuring: the login has happened and the route's token headers are rendered.
    try (Caller warm = new Caller()) {
      warm.connect(relayAddress);
      int status = warm.roundTrip();
      if (status != 200) {
        throw new IllegalStateException("relay answered " + status + " to the first request");
      }
    }
  }

  @TearDown(Level.Trial)
  public void stop() throws Exception {
    relay.close();
    origin.close().sync();
    originLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    tokenEndpoint.stop(0);
  }

  static byte[] cannedResponse(int bodyBytes) {
    String head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + bodyBytes + "\r\n\r\n";
    byte[] h = head.getBytes(StandardCharsets.US_ASCII);
    byte[] r = new byte[h.length + bodyBytes];
    System.arraycopy(h, 0, r, 0, h.length);
    for (int i = h.length; i < r.length; i++) {
      r[i] = (byte) ('a' + (i % 26));
    }
    return r;
  }

  /** A keep-alive connection per JMH thread: to the relay for {@code relayed*}, to the origin for {@code direct}. */
  @State(Scope.Thread)
  public static class Caller implements AutoCloseable {
    private static final byte[] REQUEST =
        ("GET /orders?id=7 HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: jmh\r\nAccept: */*\r\n"
                + "Authorization: Bearer caller-credential-never-forwarded\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII);

    private Socket relaySocket;
    private Socket originSocket;
    private Socket socket;
    private InputStream in;
    private OutputStream out;
    private final byte[] buf = new byte[64 * 1024];

    @Setup(Level.Trial)
    public void open(RelayRoundTripBenchmark bench) throws IOException {
      relaySocket = open(bench.relayAddress);
      originSocket = open(bench.originAddress);
    }

    private static Socket open(InetSocketAddress to) throws IOException {
      Socket s = new Socket();
      s.setTcpNoDelay(true);
      s.connect(to, 5000);
      s.setSoTimeout(10_000);
      return s;
    }

    void connect(InetSocketAddress to) throws IOException {
      use(open(to));
    }

    Caller use(Socket s) throws IOException {
      if (socket != s) {
        socket = s;
        in = s.getInputStream();
        out = s.getOutputStream();
      }
      return this;
    }

    /** Sends the request and reads one whole response; returns its status. Allocates nothing. */
    int roundTrip() throws IOException {
      out.write(REQUEST);
      int filled = 0;
      int headEnd = -1;
      while (headEnd < 0) {
        int n = in.read(buf, filled, buf.length - filled);
        if (n < 0) {
          throw new IOException("connection closed before the response head");
        }
        filled += n;
        headEnd = headEnd(buf, filled);
      }
      long remaining = headEnd + contentLength(buf, headEnd) - filled;
      while (remaining > 0) {
        int n = in.read(buf, 0, (int) Math.min(buf.length, remaining));
        if (n < 0) {
          throw new IOException("connection closed inside the response body");
        }
        remaining -= n;
      }
      return (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    }

    /** Index just past CRLF CRLF, or -1. */
    private static int headEnd(byte[] b, int len) {
      for (int i = 3; i < len; i++) {
        if (b[i] == '\n' && b[i - 1] == '\r' && b[i - 2] == '\n' && b[i - 3] == '\r') {
          return i + 1;
        }
      }
      return -1;
    }

    /** The Content-Length of the head in {@code b[0, end)}, matched case-insensitively. */
    private static long contentLength(byte[] b, int end) {
      byte[] name = CONTENT_LENGTH;
      for (int i = 0; i + name.length < end; i++) {
        if ((i == 0 || b[i - 1] == '\n') && matches(b, i, name)) {
          int j = i + name.length;
          while (b[j] == ' ') {
            j++;
          }
          long v = 0;
          while (b[j] >= '0' && b[j] <= '9') {
            v = v * 10 + (b[j++] - '0');
          }
          return v;
        }
      }
      throw new IllegalStateException("response without Content-Length");
    }

    private static final byte[] CONTENT_LENGTH = "content-length:".getBytes(StandardCharsets.US_ASCII);

    private static boolean matches(byte[] b, int at, byte[] lowerName) {
      for (int k = 0; k < lowerName.length; k++) {
        int c = b[at + k];
        if (c >= 'A' && c <= 'Z') {
          c += 32;
        }
        if (c != lowerName[k]) {
          return false;
        }
      }
      return true;
    }

    @TearDown(Level.Trial)
    @Override
    public void close() throws IOException {
      for (Socket s : new Socket[] {relaySocket, originSocket, socket}) {
        if (s != null) {
          s.close();
        }
      }
    }
  }

  /**
   * The origin: answers every request head with the canned response. Not an HTTP parser, on purpose (see
   * the class comment); the benchmark only sends GETs without bodies, each head ending in CRLF CRLF.
   */
  static final class CannedOrigin extends ChannelInboundHandlerAdapter {
    private final ByteBuf canned;
    /** How much of CRLF CRLF the bytes so far ended with (0..3), carried across reads. */
    private int matched;

    CannedOrigin(ByteBuf canned) {
      this.canned = canned;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf in = (ByteBuf) msg;
      try {
        int answers = 0;
        for (int i = in.readerIndex(), end = in.writerIndex(); i < end; i++) {
          byte c = in.getByte(i);
          boolean expected = (matched & 1) == 0 ? c == '\r' : c == '\n';
          matched = expected ? matched + 1 : (c == '\r' ? 1 : 0);
          if (matched == 4) {
            answers++;
            matched = 0;
          }
        }
        for (int k = 0; k < answers; k++) {
          ctx.write(canned.duplicate(), ctx.voidPromise());
        }
        if (answers > 0) {
          ctx.flush();
        }
      } finally {
        in.release();
      }
    }
  }

  @Benchmark
  @Threads(1)
  public int relayed(Caller caller) throws IOException {
    return caller.use(caller.relaySocket).roundTrip();
  }

  @Benchmark
  @Threads(4)
  public int relayedFourCallers(Caller caller) throws IOException {
    return caller.use(caller.relaySocket).roundTrip();
  }

  @Benchmark
  @Threads(1)
  public int direct(Caller caller) throws IOException {
    return caller.use(caller.originSocket).roundTrip();
  }
}
