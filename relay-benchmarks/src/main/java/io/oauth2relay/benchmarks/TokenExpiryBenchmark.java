package io.oauth2relay.benchmarks;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.oauth2relay.server.config.ConfigLoader;
import io.oauth2relay.server.config.RelayConfig;
import io.oauth2relay.server.internal.CoarseClock;
import io.oauth2relay.server.token.TokenFetcher;
import io.oauth2relay.server.token.TokenHolder;
import io.oauth2relay.server.token.TokenState;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What the data path pays when the token runs out under it: 16 threads ask the holder for a token in a
 * tight loop, exactly as {@code CallerHandler} does ({@code current()}, and {@code obtain()} when that
 * says the token is due). The loopback token endpoint issues 200 ms tokens (withheld for the last tenth
 * of their lifetime), and background refresh is off, so every 180 ms all 16 threads find the token due at
 * once and wait on one shared renewal.
 *
 * <p>Read the sampled percentiles: the median is the plain read, the top percentiles and the maximum are
 * what a waiter pays at the moment of expiry (one login on loopback plus waking every waiter). The tear
 * down prints how many logins ran and how many at most ran at once: 1 means single-flight held.
 *
 * <p>Run: {@code java -jar relay-benchmarks/target/benchmarks.jar TokenExpiryBenchmark}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class TokenExpiryBenchmark {
  /** Token lifetime issued by the endpoint, in milliseconds. */
  static final int LIFETIME_MILLIS = 200;

  private HttpServer tokenEndpoint;
  private TokenHolder holder;
  private final AtomicLong logins = new AtomicLong();
  private final AtomicInteger loginsRunning = new AtomicInteger();
  private final AtomicInteger mostAtOnce = new AtomicInteger();
  private long startedNanos;

  @Setup(Level.Trial)
  public void start() throws Exception {
    tokenEndpoint = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    tokenEndpoint.createContext("/login", ex -> {
      long n = logins.incrementAndGet();
      mostAtOnce.accumulateAndGet(loginsRunning.incrementAndGet(), Math::max);
      byte[] body =
          ("{\"AccessToken\":\"bench-token-" + n + "\",\"ExpiresIn\":" + LIFETIME_MILLIS + "}")
              .getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(200, body.length);
      ex.getResponseBody().write(body);
      ex.close();
      loginsRunning.decrementAndGet();
    });
    tokenEndpoint.start();
    String json =
        """
        { "token": { "refreshAhead": false, "expiresInUnit": "milliseconds" },
          "login": { "url": "http://127.0.0.1:%d/login" }, "relay": { "url": "http://127.0.0.1:9/" } }
        """
            .formatted(tokenEndpoint.getAddress().getPort());
    RelayConfig config = new ConfigLoader(Map.<String, String>of()::get).parse(new ObjectMapper().readTree(json), "bench");
    Clock clock = CoarseClock.systemUTC();
    holder =
        new TokenHolder(
            new TokenFetcher(config.login(), config.refresh(), config.policy(), clock, Duration.ofSeconds(5)),
            config.policy(),
            clock);
    holder.obtain().get(10, TimeUnit.SECONDS);
    startedNanos = System.nanoTime();
    logins.set(0);
  }

  @TearDown(Level.Trial)
  public void stop() {
    double seconds = (System.nanoTime() - startedNanos) / 1e9;
    System.out.printf(
        "%n[TokenExpiryBenchmark] %d expiries and logins in %.1f s; at most %d login(s) at once (1: single flight)%n",
        logins.get(), seconds, mostAtOnce.get());
    holder.close();
    tokenEndpoint.stop(0);
  }

  @Benchmark
  @Threads(16)
  public TokenState readAcrossExpiry16Threads() throws Exception {
    TokenState s = holder.current();
    return s != null ? s : holder.obtain().get(5, TimeUnit.SECONDS);
  }
}
