package io.oauth2relay.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.oauth2relay.server.config.ConfigLoader;
import io.oauth2relay.server.config.RelayConfig;
import io.oauth2relay.server.config.Template;
import io.oauth2relay.server.config.TemplateValues;
import io.oauth2relay.server.token.TokenState;
import java.io.ByteArrayOutputStream;
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
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The config's placeholder expansion, in its two phases:
 *
 * <ul>
 *   <li>at run time, {@link Template} rendering with a token: {@code Bearer ${ACCESSTOKEN}} to bytes (done
 *       once per token by the data path, and for every login/refresh call), a JSON body with two
 *       placeholders, and form-encoded query parameters;
 *   <li>at start-up, {@code ConfigLoader.parse} of the README's sample config: validation plus every
 *       {@code ${ENV}} reference resolved (a one-off cost, measured so that it stays small).
 * </ul>
 *
 * <p>Run: {@code java -jar relay-benchmarks/target/benchmarks.jar TemplateBenchmark -prof gc}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class TemplateBenchmark {
  private static final String SAMPLE =
      """
      { "port": 8080, "host": "127.0.0.1",
        "login": { "user": "${ENV_API_USER}", "password": "${ENV_API_PASSWORD}", "method": "GET",
                   "url": "https://saas.example.com/login",
                   "headers": { "Authorization": "Basic ${AUTHSTRING}" },
                   "parameters": { "AccessToken": "AccessToken", "ExpiresIn": "ExpiresIn", "ExpiresAt": "ExpiresAt",
                                   "TokenType": "TokenType", "RefreshToken": "RefreshToken" } },
        "refresh": { "method": "POST", "data": "{\\"token\\": \\"${REFRESHTOKEN}\\"}",
                     "url": "https://saas.example.com/refresh", "headers": { "Authorization": "${REFRESHTOKEN}" } },
        "relay": { "url": "https://saas.example.com/", "method": "GET", "parameters": { "country_code": "US",
                     "key": "${ACCESSTOKEN}" },
                   "data": "{\\"token\\": \\"${ACCESSTOKEN}\\", \\"type\\": \\"${TOKENTYPE}\\", \\"region\\": \\"${ENV_REGION}\\"}",
                   "headers": { "Authorization": "Bearer ${ACCESSTOKEN}", "Content-Type": "application/json" } } }
      """;
  private static final Map<String, String> ENV =
      Map.of("ENV_API_USER", "client_123", "ENV_API_PASSWORD", "s3cr3t!&=", "ENV_REGION", "eu-west-1");

  private JsonNode sampleTree;
  private ConfigLoader loader;
  private Template header;
  private Template body;
  private Template parameter;
  private TemplateValues values;
  private final ByteArrayOutputStream query = new ByteArrayOutputStream(256);

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    sampleTree = new ObjectMapper().readTree(SAMPLE);
    loader = new ConfigLoader(ENV::get);
    RelayConfig c = loader.parse(sampleTree, "bench");
    header = c.relay().headers().get("Authorization");
    body = c.relay().data();
    parameter = c.relay().parameters().get("key");
    TokenState token =
        TokenState.fixed(
            "eyJhbGciOiJSUzI1NiJ9.bench-token-64-characters-long-xxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                .getBytes(StandardCharsets.US_ASCII));
    values = token.values(TemplateValues.NONE);
  }

  @Benchmark
  public byte[] renderBearerHeader() {
    return header.render(values);
  }

  @Benchmark
  public byte[] renderJsonBody() {
    return body.render(values);
  }

  @Benchmark
  public int renderFormEncodedParameter() {
    query.reset();
    parameter.renderTo(query, values, true);
    return query.size();
  }

  @Benchmark
  public RelayConfig parseSampleConfigAtStartup() throws Exception {
    RelayConfig c = loader.parse(sampleTree, "bench");
    c.closeSecrets(); // as CheckCommand does for a config it does not run
    return c;
  }
}
