package io.oauth2relay.server.proxy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.oauth2relay.server.config.ConfigLoader;
import io.oauth2relay.server.config.RelayConfig;
import io.oauth2relay.server.config.TemplateValues;
import io.oauth2relay.server.token.FixedTokenSource;
import io.oauth2relay.server.token.TokenSource;
import io.oauth2relay.server.token.TokenState;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * Rewriting one caller request head into the origin request with the token injected
 * ({@code RelayRoute.outbound}), which rewrites the caller's head in place: target and query rewrite, the
 * caller's {@code Authorization} and hop-by-hop headers dropped, {@code Host}, and the token headers, which
 * are rendered once per token and reused. As the rewrite consumes its input, each invocation first copies
 * a pristine head (as the codec would have decoded it): {@code copyCallerHead} measures that copy alone,
 * to subtract.
 *
 * <ul>
 *   <li>{@code rfc6750}: no templates; the relay adds {@code Authorization: Bearer <token>}.
 *   <li>{@code templates}: the seed's style, {@code relay.headers} with {@code Bearer ${ACCESSTOKEN}} and a
 *       constant header, plus a {@code relay.parameters} entry merged into the caller's query.
 * </ul>
 *
 * <p>This class sits in the relay's {@code proxy} package (in the benchmarks jar) because
 * {@code RelayRoute.outbound} is package-private: the data path's internals stay unexported.
 *
 * <p>Run: {@code java -jar relay-benchmarks/target/benchmarks.jar HeaderInjectionBenchmark -prof gc}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class HeaderInjectionBenchmark {
  private static final String TOKEN = "eyJhbGciOiJSUzI1NiJ9.bench-token-64-characters-long-xxxxxxxxxxxxxxxxxxxxxxxxxxxx";

  @Param({"rfc6750", "templates"})
  public String config;

  private RelayRoute route;
  private TokenState token;
  private HttpRequest callerRequest;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    String relay =
        config.equals("templates")
            ? """
              { "url": "http://api.example.test/v2/", "fixedtoken": "%s",
                "headers": { "Authorization": "Bearer ${ACCESSTOKEN}", "X-Api-Version": "2" },
                "parameters": { "country_code": "US" } }
              """
            : """
              { "url": "http://api.example.test/v2/", "fixedtoken": "%s" }
              """;
    String json = "{ \"relay\": " + relay.formatted(TOKEN) + " }";
    RelayConfig c = new ConfigLoader(Map.<String, String>of()::get).parse(new ObjectMapper().readTree(json), "bench");
    TokenSource tokens = new FixedTokenSource(c.relay().fixedToken().render(TemplateValues.NONE));
    route = new RelayRoute(c.relay(), tokens, null, 0);
    token = tokens.current();
    // A typical API client's request: a caller Authorization (dropped), hop-by-hop Connection (dropped).
    callerRequest = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/orders?id=7&page=2");
    callerRequest
        .headers()
        .set("Host", "127.0.0.1:8080")
        .set("User-Agent", "bench-client/1.0")
        .set("Accept", "application/json")
        .set("Accept-Encoding", "gzip")
        .set("Authorization", "Bearer caller-credential-never-forwarded")
        .set("X-Request-Id", "4f6c2a9e-1b7d-4c1e-9a53-0d2e8f7b6a11")
        .set("Connection", "keep-alive");
    route.outbound(copy(callerRequest), token); // renders the token headers once, as the first request does
  }

  private static HttpRequest copy(HttpRequest r) {
    return new DefaultHttpRequest(r.protocolVersion(), r.method(), r.uri(), r.headers().copy());
  }

  /** The copy each {@link #injectIntoRequest} makes first: subtract it (time and bytes). */
  @Benchmark
  public HttpRequest copyCallerHead() {
    return copy(callerRequest);
  }

  @Benchmark
  public HttpRequest injectIntoRequest() {
    return route.outbound(copy(callerRequest), token).head();
  }
}
