package io.oauth2relay.benchmarks;

import io.oauth2relay.server.internal.CoarseClock;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.oauth2relay.server.config.ConfigLoader;
import io.oauth2relay.server.config.RelayConfig;
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
 * The data path's question to the token holder, "a usable token, please", with a valid token held: the
 * hot path every relayed request takes. Target: under 10 ns/op and 0 B/op ({@code -prof gc}), with one
 * thread and with two.
 *
 * <p>Run: {@code java -jar relay-benchmarks/target/benchmarks.jar TokenHolderBenchmark -prof gc}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class TokenHolderBenchmark {
  private HttpServer tokenEndpoint;
  private TokenHolder holder;

  @Setup(Level.Trial)
  public void start() throws Exception {
    // A loopback token endpoint: the holder gets one real, long-lived token before measuring starts.
    tokenEndpoint = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    tokenEndpoint.createContext("/login", ex -> {
      byte[] body = "{\"AccessToken\":\"bench-token\",\"ExpiresIn\":86400}".getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(200, body.length);
      ex.getResponseBody().write(body);
      ex.close();
    });
    tokenEndpoint.start();
    String json =
        """
        { "token": { "refreshAhead": false },
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
  }

  @TearDown(Level.Trial)
  public void stop() {
    holder.close();
    tokenEndpoint.stop(0);
  }

  @Benchmark
  @Threads(1)
  public TokenState validTokenRead() {
    return holder.current();
  }

  @Benchmark
  @Threads(2)
  public TokenState validTokenReadTwoThreads() {
    return holder.current();
  }
}
