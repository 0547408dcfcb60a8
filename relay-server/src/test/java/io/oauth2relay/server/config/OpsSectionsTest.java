package io.oauth2relay.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.json.JsonMapper;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Specifies the operational fields: {@code admin}, {@code inbound}, {@code requireCallerAuth},
 * {@code shutdownGraceSeconds}, {@code logFormat}, {@code accessLog}, {@code sensitiveQueryParams}.
 */
class OpsSectionsTest {
  private static final String KEY = "canary-api-key-value";
  private static final Map<String, String> ENV = Map.of("RELAY_API_KEY", KEY, "EMPTY", "");

  private static RelayConfig load(String fields) throws Exception {
    String json = "{ \"relay\": {\"url\": \"http://127.0.0.1:9/\", \"fixedtoken\": \"x\"}" + (fields.isEmpty() ? "" : ", " + fields) + " }";
    return new ConfigLoader(ENV::get).parse(JsonMapper.builder().build().readTree(json), "ops.json");
  }

  private static String problems(String fields) {
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> load(fields));
    assertThat(e).as("a config error").isNotNull();
    return String.join("\n", e.problems());
  }

  @Test
  void withoutTheFieldsThereIsNoAdminPortNoCallerAuthAndTwentySecondsOfGrace() throws Exception {
    OpsSpec ops = load("").ops();

    assertThat(ops.admin()).isNull();
    assertThat(ops.inbound().authenticates()).isFalse();
    assertThat(ops.shutdownGrace()).isEqualTo(Duration.ofSeconds(20));
    assertThat(ops.jsonLogs()).isFalse();
    assertThat(ops.accessLog()).isTrue();
    assertThat(ops.sensitiveQueryParams()).contains("access_token", "api_key");
  }

  @Test
  void theAdminPortListensOnLoopbackUnlessAHostIsGiven() throws Exception {
    assertThat(load("\"admin\": {\"port\": 9090}").ops().admin()).isEqualTo(new OpsSpec.Admin("127.0.0.1", 9090));
    assertThat(load("\"admin\": {\"port\": 0, \"host\": \"0.0.0.0\"}").ops().admin().host()).isEqualTo("0.0.0.0");
    assertThat(problems("\"admin\": {}")).contains("admin.port: missing");
    assertThat(problems("\"admin\": {\"port\": 70000}")).contains("admin.port: expected a whole number from 0 to 65535");
  }

  @Test
  void apiKeysComeFromSecretReferencesAndAreNeverQuoted() throws Exception {
    OpsSpec.Inbound inbound = load("\"inbound\": {\"apiKeys\": [\"${RELAY_API_KEY}\"]}").ops().inbound();
    assertThat(inbound.apiKeys()).hasSize(1);
    assertThat(inbound.header()).isEqualTo("X-Api-Key");
    assertThat(inbound.toString()).doesNotContain(KEY);

    String literal = problems("\"inbound\": {\"apiKeys\": [\"" + KEY + "\"]}");
    assertThat(literal).contains("inbound.apiKeys[0]: expected a secret reference").doesNotContain(KEY);
    assertThat(problems("\"inbound\": {\"apiKeys\": [\"${NOT_SET_ANYWHERE}\"]}")).contains("inbound.apiKeys[0]", "NOT_SET_ANYWHERE");
    assertThat(problems("\"inbound\": {\"apiKeys\": [\"${EMPTY}\"]}")).contains("inbound.apiKeys[0]: the referenced value is empty");
  }

  @Test
  void theKeyHeaderIsConfigurableButNotAuthorization() throws Exception {
    assertThat(load("\"inbound\": {\"header\": \"X-Relay-Key\", \"apiKeys\": [\"${RELAY_API_KEY}\"]}").ops().inbound().header())
        .isEqualTo("X-Relay-Key");
    assertThat(problems("\"inbound\": {\"header\": \"Authorization\"}")).contains("inbound.header");
    assertThat(problems("\"inbound\": {\"header\": \"bad header\"}")).contains("inbound.header: expected a valid HTTP header name");
  }

  @Test
  void allowFromTakesIpv4AndIpv6BlocksAndNamesTheBadOne() throws Exception {
    assertThat(load("\"inbound\": {\"allowFrom\": [\"10.0.0.0/8\", \"fd00::/8\"]}").ops().inbound().allowFrom()).hasSize(2);
    assertThat(problems("\"inbound\": {\"allowFrom\": [\"10.0.0.0/8\", \"intranet.example\"]}"))
        .contains("inbound.allowFrom[1]: expected an IPv4 or IPv6 address or CIDR block");
  }

  @Test
  void requireCallerAuthRefusesANonLoopbackHostWithoutCallerAuthentication() throws Exception {
    assertThat(problems("\"host\": \"0.0.0.0\", \"requireCallerAuth\": true"))
        .isEqualTo("ops.json: requireCallerAuth: the relay listens beyond loopback without caller authentication"
            + " (expected inbound.apiKeys, inbound.certificates or inbound.allowFrom, or a loopback host)");
    load("\"host\": \"127.0.0.1\", \"requireCallerAuth\": true");
    load("\"host\": \"::1\", \"requireCallerAuth\": true");
    load("\"host\": \"0.0.0.0\", \"requireCallerAuth\": true, \"inbound\": {\"allowFrom\": [\"10.0.0.0/8\"]}");
  }

  @Test
  void shutdownGraceLogFormatAndSensitiveNamesAreRead() throws Exception {
    OpsSpec ops = load("\"shutdownGraceSeconds\": 5, \"logFormat\": \"json\", \"accessLog\": false,"
        + " \"sensitiveQueryParams\": [\"Session\"]").ops();

    assertThat(ops.shutdownGrace()).isEqualTo(Duration.ofSeconds(5));
    assertThat(ops.jsonLogs()).isTrue();
    assertThat(ops.accessLog()).isFalse();
    assertThat(ops.sensitiveQueryParams()).contains("session", "access_token");
    assertThat(problems("\"logFormat\": \"xml\"")).contains("logFormat: expected \"text\" or \"json\"");
    assertThat(problems("\"shutdownGraceSeconds\": -1")).contains("shutdownGraceSeconds: expected a whole number from 0 to 3600");
  }

  @Test
  void ioThreadsDefaultsToNettysChoiceAndIsBounded() throws Exception {
    assertThat(load("").ops().ioThreads()).isZero();
    assertThat(load("\"ioThreads\": 3").ops().ioThreads()).isEqualTo(3);
    assertThat(problems("\"ioThreads\": 257")).contains("ioThreads: expected a whole number from 0 to 256");
    assertThat(problems("\"ioThreads\": -1")).contains("ioThreads: expected a whole number from 0 to 256");
  }

  @Test
  void loopbackHostsAreRecognisedWithoutLookingUpNames() {
    assertThat(OpsSpec.isLoopback("127.0.0.1")).isTrue();
    assertThat(OpsSpec.isLoopback("127.1.2.3")).isTrue();
    assertThat(OpsSpec.isLoopback("localhost")).isTrue();
    assertThat(OpsSpec.isLoopback("[::1]")).isTrue();
    assertThat(OpsSpec.isLoopback("0.0.0.0")).isFalse();
    assertThat(OpsSpec.isLoopback("::")).isFalse();
    assertThat(OpsSpec.isLoopback("relay.internal")).isFalse();
  }
}
