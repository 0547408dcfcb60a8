package io.oauth2relay.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.json.JsonMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import javax.security.auth.x500.X500Principal;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Specifies {@code inbound.certificates}: callers known by a client certificate's subject, the SHA-256 pin
 * of its public key, or both; names shared with named API keys; and the {@code tls} settings they need.
 * Every mistake is one line naming the field and what was expected.
 */
class CertificateCallersConfigTest {
  private static final String KEY = "canary-key-5be1";
  private static final Map<String, String> ENV = Map.of("KEY", KEY, "SUBJECT", "CN=from-env");
  /** A pin of 32 bytes 0..31. */
  private static final byte[] DIGEST = new byte[32];
  private static final String PIN;

  static {
    for (int i = 0; i < DIGEST.length; i++) {
      DIGEST[i] = (byte) i;
    }
    PIN = "sha256/" + Base64.getEncoder().encodeToString(DIGEST);
  }

  @TempDir Path dir;
  private String pem;

  @BeforeEach
  void aPemFile() throws Exception {
    // Only readability is checked while loading; the TLS code reads the contents.
    Path f = dir.resolve("ca.pem");
    Files.writeString(f, "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n", StandardCharsets.US_ASCII);
    pem = f.toString();
  }

  private String tls(String clientAuth) {
    return "\"tls\": {\"certificate\": \"%1$s\", \"key\": \"%1$s\", \"clientCa\": \"%1$s\"%2$s}"
        .formatted(pem, clientAuth == null ? "" : ", \"clientAuth\": \"" + clientAuth + "\"");
  }

  /** A one-route relay with {@code inbound} and, unless {@code tls} is empty, that {@code tls} section. */
  private static String config(String inbound, String tls, String callers) {
    return """
        { "routes": [ { "name": "crm", "path": "/crm", %s "relay": { "url": "https://crm.example/", "fixedtoken": "t" } } ],
          "inbound": %s %s }
        """.formatted(callers.isEmpty() ? "" : "\"callers\": " + callers + ",", inbound, tls.isEmpty() ? "" : ", " + tls);
  }

  private static RelayConfig load(String json) throws Exception {
    return new ConfigLoader(ENV::get).parse(JsonMapper.builder().build().readTree(json), "certs.json");
  }

  private static List<String> problems(String json) {
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> load(json));
    assertThat(e).as("a config error").isNotNull();
    for (String p : e.problems()) {
      assertThat(p).doesNotContain(KEY);
    }
    return e.problems();
  }

  private String certificates(String entries) {
    return "{\"certificates\": [" + entries + "]}";
  }

  @Test
  void anEntryNamesACallerBySubjectByPinOrByBoth() throws Exception {
    OpsSpec.Inbound inbound =
        load(config(certificates(
            "{\"name\": \"billing\", \"subject\": \"CN=billing, O=Example\"},"
                + " {\"name\": \"ops\", \"spki\": \"" + PIN + "\"},"
                + " {\"name\": \"both\", \"subject\": \"${SUBJECT}\", \"spki\": \"" + PIN + "\"}"),
            tls(null), "")).ops().inbound();

    assertThat(inbound.authenticates()).isTrue();
    assertThat(inbound.certificates()).extracting(OpsSpec.Certificate::name).containsExactly("billing", "ops", "both");
    OpsSpec.Certificate billing = inbound.certificates().get(0);
    assertThat(billing.subject()).as("compared in canonical form").isEqualTo(new X500Principal("cn=Billing,o=example"));
    assertThat(billing.spki()).isNull();
    assertThat(inbound.certificates().get(1).subject()).isNull();
    assertThat(inbound.certificates().get(1).spki()).isEqualTo(DIGEST);
    assertThat(inbound.certificates().get(2).subject()).isEqualTo(new X500Principal("CN=from-env"));
    assertThat(inbound.certificates().get(2).spki()).isEqualTo(DIGEST);
    assertThat(inbound.toString()).contains("billing", PIN);
  }

  @Test
  void certificatesWorkWithOptionalOrRequiredClientCertificatesOnly() throws Exception {
    String entry = certificates("{\"name\": \"billing\", \"subject\": \"CN=billing\"}");
    assertThat(load(config(entry, tls("optional"), "")).tls().clientAuth()).isEqualTo(ServerTls.ClientCertificates.OPTIONAL);
    assertThat(load(config(entry, tls(null), "")).tls().clientAuth()).isEqualTo(ServerTls.ClientCertificates.REQUIRE);

    String needs = "certs.json: inbound.certificates: needs tls.clientAuth require or optional"
        + " (client certificates are only asked for with tls.clientCa)";
    assertThat(problems(config(entry, "", ""))).containsExactly(needs);
    assertThat(problems(config(entry, tls("none"), ""))).containsExactly(needs);
  }

  @Test
  void eachMistakeInAnEntryIsOneLineNamingItsField() {
    String t = tls(null);
    assertThat(problems(config(certificates("{\"name\": \"a\", \"subject\": \"CN=a\", \"issuer\": \"CN=ca\"}"), t, "")))
        .singleElement().asString().contains("inbound.certificates[0].issuer: unknown field (expected one of: name, spki, subject)");
    assertThat(problems(config(certificates("{\"subject\": \"CN=a\"}"), t, "")))
        .singleElement().asString().contains("inbound.certificates[0].name: expected a caller name of lower-case letters");
    assertThat(problems(config(certificates("{\"name\": \"Bad Name\", \"subject\": \"CN=a\"}"), t, "")))
        .singleElement().asString().contains("inbound.certificates[0].name: expected a caller name");
    assertThat(problems(config(certificates("{\"name\": \"a\"}"), t, "")))
        .singleElement().asString().contains("inbound.certificates[0]: missing subject and spki (expected either or both)");
    assertThat(problems(config(certificates("{\"name\": \"a\", \"subject\": \"CN=a\"}, {\"name\": \"b\", \"subject\": \"not a name\"}"), t, "")))
        .singleElement().asString().contains("inbound.certificates[1].subject: expected a distinguished name such as CN=billing,O=Example");
    assertThat(problems(config(certificates("{\"name\": \"a\", \"subject\": \"\"}"), t, "")))
        .singleElement().asString().contains("inbound.certificates[0].subject: expected a distinguished name");
    assertThat(problems(config(certificates("{\"name\": \"a\", \"subject\": 7}"), t, "")))
        .singleElement().asString().contains("inbound.certificates[0].subject: expected a string");
    assertThat(problems(config(certificates("\"CN=a\""), t, "")))
        .singleElement().asString().contains("inbound.certificates[0]: expected an object");
    assertThat(problems(config("{\"certificates\": {\"name\": \"a\"}}", t, "")))
        .singleElement().asString().contains("inbound.certificates: expected an array");
  }

  @Test
  void aPinIsSha256AndTheBase64OfThirtyTwoBytes() {
    String t = tls(null);
    String expected = "inbound.certificates[0].spki: expected sha256/ and the base64 of 32 bytes";
    String base64 = PIN.substring("sha256/".length());
    for (String bad : new String[] {
        base64, // no prefix
        "sha1/" + base64,
        "sha256/" + Base64.getEncoder().encodeToString(new byte[20]), // a SHA-1 length
        "sha256/" + Base64.getEncoder().encodeToString(new byte[33]),
        "sha256/not*base64",
        "sha256/"}) {
      assertThat(problems(config(certificates("{\"name\": \"a\", \"spki\": \"" + bad + "\"}"), t, "")))
          .as(bad).singleElement().asString().contains(expected);
    }
  }

  @Test
  void namesAreSharedWithNamedApiKeysAndUnique() {
    String t = tls(null);
    assertThat(problems(config(
        "{\"apiKeys\": [{\"name\": \"billing\", \"key\": \"${KEY}\"}], \"certificates\": [{\"name\": \"billing\", \"subject\": \"CN=b\"}]}", t, "")))
        .singleElement().asString().contains("inbound.certificates[0].name: the same name as inbound.apiKeys[0] (expected a unique name)");
    assertThat(problems(config(certificates("{\"name\": \"a\", \"subject\": \"CN=a\"}, {\"name\": \"a\", \"subject\": \"CN=b\"}"), t, "")))
        .singleElement().asString().contains("inbound.certificates[1].name: the same name as inbound.certificates[0]");
  }

  @Test
  void twoEntriesWithTheSameRequirementsAreAProblem() {
    assertThat(problems(config(certificates(
        "{\"name\": \"a\", \"subject\": \"CN=a,O=x\"}, {\"name\": \"b\", \"subject\": \"cn=A, o=X\"}"), tls(null), "")))
        .singleElement().asString().contains("inbound.certificates[1]: the same subject and spki as inbound.certificates[0]");
    assertThat(problems(config(certificates(
        "{\"name\": \"a\", \"spki\": \"" + PIN + "\"}, {\"name\": \"b\", \"spki\": \"" + PIN + "\"}"), tls(null), "")))
        .singleElement().asString().contains("inbound.certificates[1]: the same subject and spki as inbound.certificates[0]");
  }

  @Test
  void aRouteMayListCertificateAndKeyNames() throws Exception {
    String inbound =
        "{\"apiKeys\": [{\"name\": \"ops\", \"key\": \"${KEY}\"}], \"certificates\": [{\"name\": \"billing\", \"subject\": \"CN=b\"}]}";
    assertThat(load(config(inbound, tls(null), "[\"billing\", \"ops\"]")).routes().get(0).callers())
        .containsExactlyInAnyOrder("billing", "ops");
    assertThat(problems(config(inbound, tls(null), "[\"nobody\"]")))
        .singleElement().asString()
        .contains("routes[0].callers[0]: no inbound.apiKeys or inbound.certificates entry has this name (expected one of: billing, ops)");
  }
}
