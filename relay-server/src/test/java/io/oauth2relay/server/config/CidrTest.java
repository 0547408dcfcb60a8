package io.oauth2relay.server.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Specifies source networks for {@code inbound.allowFrom}: IPv4 and IPv6 CIDR blocks, literals only. */
class CidrTest {
  @ParameterizedTest(name = "{0} contains {1}: {2}")
  @CsvSource({
    "10.0.0.0/8,        10.200.3.4,         true",
    "10.0.0.0/8,        11.0.0.1,           false",
    "192.168.1.7,       192.168.1.7,        true",
    "192.168.1.7,       192.168.1.8,        false",
    "172.16.0.0/12,     172.31.255.255,     true",
    "172.16.0.0/12,     172.32.0.0,         false",
    "0.0.0.0/0,         203.0.113.9,        true",
    "10.0.0.0/8,        ::ffff:10.1.2.3,    true",
    "fd00::/8,          fd12:3456::1,       true",
    "fd00::/8,          fe80::1,            false",
    "::1,               ::1,                true",
    "::1,               127.0.0.1,          false",
    "2001:db8::/32,     2001:db8:ffff::1,   true",
    "2001:db8::/33,     2001:db8:ffff::1,   false",
    "[2001:db8::]/32,   2001:db8::5,        true",
  })
  void aNetworkContainsExactlyTheAddressesInItsPrefix(String network, String address, boolean inside)
      throws Exception {
    assertThat(Cidr.parse(network).contains(InetAddress.getByName(address))).isEqualTo(inside);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "localhost", "example.com", "10.0.0.0/33", "::/129", "10.0.0.0/-1", "10.0.0/8x", "1.2.3.4/x"})
  void namesAndMalformedBlocksAreNotNetworks(String text) {
    assertThat(Cidr.parse(text)).isNull();
  }
}
