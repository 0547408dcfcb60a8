package io.oauth2relay.server.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.oauth2relay.server.config.OpsSpec;
import io.oauth2relay.server.config.Template;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Specifies which configured key a presented one is, and which routes that caller may use. */
class CallerAuthTest {
  private final CallerAuth auth =
      new CallerAuth(
          new OpsSpec.Inbound(
              "X-Api-Key",
              List.of(
                  new OpsSpec.ApiKey("billing", Template.literal("key-billing")),
                  new OpsSpec.ApiKey("ops", Template.literal("key-ops")),
                  new OpsSpec.ApiKey(null, Template.literal("key-legacy"))),
              List.of()),
          Map.of("crm", Set.of("ops"), "billing", Set.of("billing", "ops")));

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  @Test
  void aPresentedKeyIsMatchedToItsEntryAndAnyOtherIsNone() {
    assertThat(auth.match(bytes("key-billing"))).isEqualTo(0);
    assertThat(auth.match(bytes("key-ops"))).isEqualTo(1);
    assertThat(auth.match(bytes("key-legacy"))).isEqualTo(2);
    assertThat(auth.match(bytes("key-ops "))).isEqualTo(CallerAuth.NO_KEY);
    assertThat(auth.match(bytes(""))).isEqualTo(CallerAuth.NO_KEY);
    assertThat(auth.acceptsKey(bytes("key-billing"))).isTrue();
    assertThat(auth.acceptsKey(bytes("key-billin"))).isFalse();
  }

  @Test
  void thePresentedBytesAreZeroed() {
    byte[] presented = bytes("key-ops");
    auth.match(presented);
    assertThat(presented).containsOnly(0);
  }

  @Test
  void aRouteWithCallersAdmitsOnlyThoseAndOneWithoutAdmitsEveryone() {
    assertThat(auth.mayUse(0, "billing")).isTrue();
    assertThat(auth.mayUse(0, "crm")).isFalse();
    assertThat(auth.mayUse(1, "crm")).isTrue();
    assertThat(auth.mayUse(2, "crm")).as("an unnamed key").isFalse();
    assertThat(auth.mayUse(2, "open")).isTrue();
    assertThat(auth.mayUse(CallerAuth.NO_KEY, "open")).isTrue();
    assertThat(auth.mayUse(CallerAuth.NO_KEY, "crm")).isFalse();
    assertThat(auth.restrictsRoutes()).isTrue();
    assertThat(auth.toString()).doesNotContain("key-");
  }
}
