package io.oauth2relay.server.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Specifies what the access log shows of a request target: the path, and a query with sensitive values masked. */
class AccessLogTest {
  private final AccessLog log = new AccessLog(Set.of("token", "session", "api_key"));

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource(
      delimiter = '|',
      value = {
        "/orders                              | /orders",
        "/orders?id=7                         | /orders?id=7",
        "/orders?id=7&token=abc               | /orders?id=7&token=****",
        "/orders?TOKEN=abc&Session=x          | /orders?TOKEN=****&Session=****",
        "/orders?%74oken=abc                  | /orders?%74oken=****",
        "/orders?a=1;api_key=k                | /orders?a=1&api_key=****",
        "/orders?token                        | /orders?token",
        "/orders?token=a&token=b              | /orders?token=****&token=****",
        "/orders?token=a#frag                 | /orders?token=****",
        "http://user:pw@example.com/?token=x  | -",
        "*                                    | -",
      })
  void sensitiveQueryValuesAreMaskedAndNonPathTargetsAreNotShown(String target, String logged) {
    assertThat(log.redact(target)).isEqualTo(logged);
  }

  @ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"/a\nforged line", "/a\rb", "/a\"b", "/a\u0000b"})
  void controlCharactersAndQuotesCannotForgeALogLine(String target) {
    assertThat(log.redact(target)).doesNotContain("\n").doesNotContain("\r").doesNotContain("\"").startsWith("/a?").hasSize(target.length());
  }

  @org.junit.jupiter.api.Test
  void aVeryLongTargetIsCut() {
    assertThat(log.redact("/" + "a".repeat(10_000))).hasSize(AccessLog.MAX_TARGET + 3).endsWith("...");
  }
}
