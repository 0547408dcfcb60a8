package io.oauth2relay.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.json.JsonMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Specifies the {@code routes} list, the {@code origin} and {@code tls} sections, named API keys and a
 * route's {@code callers}: what each field becomes, its default, and a problem for every mistake that names
 * the field by its full path and never a configured value.
 */
class RoutesConfigTest {
  private static final String SECRET = "canary-secret-7f3a";
  private static final String KEY_A = "canary-key-a-91c2";
  private static final String KEY_B = "canary-key-b-44d0";
  private static final Map<String, String> ENV =
      Map.of("SECRET", SECRET, "KEY_A", KEY_A, "KEY_B", KEY_B, "SAME_AS_A", KEY_A, "KEY_PW", SECRET);

  @TempDir Path dir;
  private String pem;

  @BeforeEach
  void aPemFile() throws Exception {
    // Only readability is checked here; the TLS code reads the contents.
    Path f = dir.resolve("cert.pem");
    Files.writeString(f, "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n", StandardCharsets.US_ASCII);
    pem = f.toString();
  }

  private static RelayConfig load(String json) throws Exception {
    return new ConfigLoader(ENV::get).parse(JsonMapper.builder().build().readTree(json), "routes.json");
  }

  private static List<String> problems(String json) {
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> load(json));
    assertThat(e).as("a config error").isNotNull();
    for (String p : e.problems()) {
      assertThat(p).doesNotContain(SECRET).doesNotContain(KEY_A).doesNotContain(KEY_B);
    }
    return e.problems();
  }

  /** {@code {"routes": [ROUTES]}} plus {@code extra} top-level fields. */
  private static String routes(String routes, String extra) {
    return "{ \"routes\": [" + routes + "]" + (extra.isEmpty() ? "" : ", " + extra) + " }";
  }

  private static final String CRM =
      """
      { "name": "crm", "path": "/crm",
        "login": { "grant": "client_credentials", "tokenUrl": "https://idp-a.example/token",
                   "clientId": "crm", "clientSecret": "${SECRET}" },
        "relay": { "url": "https://crm.example/v1/" } }""";
  private static final String BILLING =
      """
      { "name": "billing", "path": "/billing/", "stripPrefix": false,
        "login": { "url": "https://idp-b.example/login", "authstring": "${SECRET}",
                   "headers": { "Authorization": "Basic ${AUTHSTRING}" } },
        "refresh": { "url": "https://idp-b.example/refresh", "data": "{\\"token\\": \\"${REFRESHTOKEN}\\"}" },
        "relay": { "url": "https://billing.example/" },
        "token": { "refreshAt": 0.5 } }""";

  @Nested
  class TheRoutesList {
    @Test
    void eachRouteKeepsItsOwnNamePathAndSections() throws Exception {
      RelayConfig config = load(routes(CRM + "," + BILLING, ""));

      assertThat(config.routes()).extracting(RouteSpec::name).containsExactly("crm", "billing");
      RouteSpec crm = config.routes().get(0);
      RouteSpec billing = config.routes().get(1);
      assertThat(crm.pathPrefix()).isEqualTo("/crm");
      assertThat(crm.stripPrefix()).as("default for a prefix other than /").isTrue();
      assertThat(crm.host()).isNull();
      assertThat(crm.callers()).isNull();
      assertThat(crm.login().call().url()).hasToString("https://idp-a.example/token");
      assertThat(crm.refresh()).as("the grant shorthand's refresh call").isNotNull();
      assertThat(crm.refresh().body().fields().get("grant_type").constantText()).isEqualTo("refresh_token");
      assertThat(crm.relay().url()).hasToString("https://crm.example/v1/");
      assertThat(crm.origin()).isEqualTo(OriginSpec.DEFAULTS);
      assertThat(billing.pathPrefix()).as("the trailing slash is dropped").isEqualTo("/billing");
      assertThat(billing.stripPrefix()).isFalse();
      assertThat(billing.login().call().method()).isEqualTo("GET");
      assertThat(billing.refresh().url()).hasToString("https://idp-b.example/refresh");
      assertThat(billing.policy().refreshAt()).isEqualTo(0.5);
      assertThat(crm.policy()).isEqualTo(TokenPolicy.DEFAULTS);
    }

    @Test
    void theSeedEraComponentsAreTheFirstRoutes() throws Exception {
      RelayConfig config = load(routes(CRM + "," + BILLING, ""));

      RouteSpec first = config.routes().get(0);
      assertThat(config.login()).isSameAs(first.login());
      assertThat(config.refresh()).isSameAs(first.refresh());
      assertThat(config.relay()).isSameAs(first.relay());
      assertThat(config.policy()).isSameAs(first.policy());
    }

    @Test
    void theSeedFormatIsOneRouteNamedRelayAtTheRoot() throws Exception {
      RelayConfig config =
          load("{ \"login\": {\"url\": \"https://idp.example/login\"}, \"relay\": {\"url\": \"https://api.example/\"} }");

      assertThat(config.routes()).singleElement().satisfies(r -> {
        assertThat(r.name()).isEqualTo("relay");
        assertThat(r.pathPrefix()).isEqualTo("/");
        assertThat(r.host()).isNull();
        assertThat(r.stripPrefix()).isFalse();
        assertThat(r.login()).isSameAs(config.login());
      });
      assertThat(config.tls()).isNull();
    }

    @Test
    void aHostRouteIsLowerCasedAndAFixedTokenRouteNeedsNoLogin() throws Exception {
      RelayConfig config =
          load(routes("{\"name\": \"partner\", \"host\": \"Partner.Example.COM\","
              + " \"relay\": {\"url\": \"https://p.example/\", \"fixedtoken\": \"${SECRET}\"}}", ""));

      RouteSpec partner = config.routes().get(0);
      assertThat(partner.host()).isEqualTo("partner.example.com");
      assertThat(partner.pathPrefix()).isEqualTo("/");
      assertThat(partner.stripPrefix()).isFalse();
      assertThat(partner.login()).isNull();
      assertThat(partner.relay().fixedToken().isEmpty()).isFalse();
    }

    @Test
    void aTopLevelTokenSectionGivesTheDefaultsThatARouteOverridesFieldByField() throws Exception {
      RelayConfig config = load(routes(CRM + "," + BILLING, "\"token\": {\"refreshAt\": 0.7, \"retryMax\": 5}"));

      assertThat(config.routes().get(0).policy().refreshAt()).isEqualTo(0.7);
      assertThat(config.routes().get(1).policy().refreshAt()).isEqualTo(0.5);
      assertThat(config.routes().get(1).policy().retryMax()).isEqualTo(Duration.ofSeconds(5));
    }

    @Test
    void aSecretReferenceInARouteLoginIsKeptForEveryCallLikeAtTheTopLevel() throws Exception {
      Path secret = dir.resolve("secret");
      Files.writeString(secret, SECRET);
      RelayConfig config =
          load(routes(CRM.replace("${SECRET}", "${file:" + secret + "}"), ""));

      Template clientSecret = config.routes().get(0).login().call().clientAuth().clientSecret();
      assertThat(clientSecret.hasSecretReferences()).as("resolved at each login, so rotation needs no restart").isTrue();
    }
  }

  @Test
  void theRoutesExampleLoads() throws Exception {
    Map<String, String> env = new java.util.HashMap<>();
    for (String name : List.of("BILLING_KEY", "OPS_KEY", "BILLING_CLIENT_ID", "BILLING_CLIENT_SECRET", "CRM_CLIENT_ID", "CRM_CLIENT_SECRET")) {
      env.put(name, name.toLowerCase() + "-value");
    }
    RelayConfig config = new ConfigLoader(env::get).load(Path.of("../examples/configs/routes.json"));

    assertThat(config.routes()).extracting(RouteSpec::name).containsExactly("billing", "crm");
    assertThat(config.routes().get(1).host()).isEqualTo("crm.relay.internal");
    assertThat(config.routes().get(1).callers()).containsExactly("ops");
    assertThat(config.routes().get(1).origin().via()).isNull();
    assertThat(config.routes().get(0).policy().refreshAt()).isEqualTo(0.75);
    config.closeSecrets();
  }

  @Nested
  class RouteProblems {
    @Test
    void aRouteFieldIsNamedWithItsFullPath() {
      assertThat(problems(routes(CRM + ", {\"name\": \"b\", \"path\": \"/b\", \"login\": {}, \"relay\": {\"url\": \"https://b.example/\"}}", "")))
          .containsExactly("routes.json: routes[1].login.url: missing (expected an absolute http or https URL)");
      assertThat(problems(routes("{\"name\": \"a\", \"relay\": {\"url\": \"ftp://x/\", \"fixedtoken\": \"t\"}}", "")))
          .singleElement().asString().startsWith("routes.json: routes[0].relay.url: expected an absolute http");
      assertThat(problems(routes("{\"name\": \"a\", \"login\": {\"url\": \"https://i.example/\"}}", "")))
          .singleElement().asString().contains("routes[0].relay: missing section");
      assertThat(problems(routes(CRM.replace("\"clientId\": \"crm\", ", ""), "")))
          .singleElement().asString().contains("routes[0].login.clientId: missing");
      assertThat(problems(routes(BILLING.replace("0.5", "2"), "")))
          .singleElement().asString().contains("routes[0].token.refreshAt: expected a number from 0.05 to 0.99");
      assertThat(problems(routes(CRM.replace("${SECRET}", "${NOT_SET}"), "")))
          .anySatisfy(p -> assertThat(p).contains("routes[0].login.clientSecret", "NOT_SET"));
    }

    @Test
    void nameIsRequiredLowerCaseAndUnique() {
      assertThat(problems(routes(CRM.replace("\"name\": \"crm\",", ""), "")))
          .singleElement().asString().contains("routes[0].name: missing");
      assertThat(problems(routes(CRM.replace("\"crm\",", "\"CRM\","), "")))
          .singleElement().asString().contains("routes[0].name: expected lower-case letters, digits, _ and -");
      assertThat(problems(routes(CRM.replace("\"crm\",", "\"-\","), "")))
          .singleElement().asString().contains("routes[0].name: expected");
      assertThat(problems(routes(CRM + "," + BILLING.replace("\"billing\",", "\"crm\","), "")))
          .singleElement().asString().contains("routes[1].name: the same name as routes[0]");
    }

    @Test
    void twoRoutesWithTheSameHostAndPathAreAProblem() {
      assertThat(problems(routes(CRM + "," + BILLING.replace("\"/billing/\"", "\"/crm/\""), "")))
          .singleElement().asString().contains("routes[1].path: the same host and path as routes[0]");
      // The same path on two hosts, or on a host and on any host, is fine.
      String onHost = BILLING.replace("\"/billing/\"", "\"/crm\", \"host\": \"b.example\"");
      assertThat(catchThrowableOfType(ConfigException.class, () -> load(routes(CRM + "," + onHost, "")))).isNull();
    }

    @Test
    void aPathMustBeAPrefixOfWholePlainSegments() {
      for (String bad : List.of("crm", "/a/../b", "/a/./b", "/cr%6D", "/a?x=1", "/a//b", "/a#b", "")) {
        assertThat(problems(routes(CRM.replace("\"/crm\"", "\"" + bad + "\""), "")))
            .as(bad).singleElement().asString().contains("routes[0].path: expected a path prefix");
      }
    }

    @Test
    void aHostIsANameWithoutPortOrWildcard() {
      for (String bad : List.of("a.example:8443", "*.example", "a b", "http://a.example")) {
        assertThat(problems(routes(CRM.replace("\"path\": \"/crm\"", "\"host\": \"" + bad + "\""), "")))
            .as(bad).singleElement().asString().contains("routes[0].host: expected a host name");
      }
    }

    @Test
    void routesAndTheTopLevelSectionsAreMutuallyExclusive() {
      assertThat(problems(routes(CRM, "\"relay\": {\"url\": \"https://x.example/\"}, \"login\": {\"url\": \"https://i.example/\"}")))
          .singleElement().asString().contains("routes: cannot be combined with the top-level login, relay");
    }

    @Test
    void routesMustBeANonEmptyArrayOfObjects() {
      assertThat(problems("{\"routes\": []}")).singleElement().asString().contains("routes: expected a non-empty array");
      assertThat(problems("{\"routes\": {}}")).singleElement().asString().contains("routes: expected a non-empty array");
      assertThat(problems("{\"routes\": [1]}")).singleElement().asString().contains("routes[0]: expected an object");
    }

    @Test
    void anUnknownRouteFieldIsNamed() {
      assertThat(problems(routes(CRM.replace("\"path\"", "\"paht\""), "")))
          .singleElement().asString().contains("routes[0].paht: unknown field");
      assertThat(problems(routes(BILLING.replace("\"refreshAt\"", "\"refreshAT\""), "")))
          .singleElement().asString().contains("routes[0].token.refreshAT: unknown field");
    }
  }

  @Nested
  class Origin {
    private String route(String origin) {
      return routes("{\"name\": \"a\", \"relay\": {\"url\": \"https://a.example/\", \"fixedtoken\": \"t\"}, \"origin\": " + origin + "}", "");
    }

    @Test
    void everyFieldIsRead() throws Exception {
      OriginSpec o =
          load(route("""
              { "protocol": "h2", "caBundle": "%1$s", "clientCertificate": "%1$s", "clientKey": "%1$s",
                "clientKeyPassword": "${KEY_PW}", "connectTimeoutSeconds": 2, "responseTimeoutSeconds": 30.5,
                "idleTimeoutSeconds": 90, "maxConnections": 16, "forwardedHeaders": false, "via": "edge-relay" }"""
              .formatted(pem))).routes().get(0).origin();

      assertThat(o.protocol()).isEqualTo(OriginSpec.Protocol.HTTP2);
      assertThat(o.caBundle()).isEqualTo(Path.of(pem));
      assertThat(o.clientCertificate()).isEqualTo(Path.of(pem));
      assertThat(o.clientKey()).isEqualTo(Path.of(pem));
      assertThat(new String(o.clientKeyPassword().render(TemplateValues.NONE), StandardCharsets.UTF_8))
          .as("resolved at start-up").isEqualTo(SECRET);
      assertThat(o.clientKeyPassword().toString()).doesNotContain(SECRET);
      assertThat(o.connectTimeout()).isEqualTo(Duration.ofSeconds(2));
      assertThat(o.responseTimeout()).isEqualTo(Duration.ofMillis(30_500));
      assertThat(o.idleTimeout()).isEqualTo(Duration.ofSeconds(90));
      assertThat(o.maxConnections()).isEqualTo(16);
      assertThat(o.forwardedHeaders()).isFalse();
      assertThat(o.via()).isEqualTo("edge-relay");
    }

    @Test
    void leftOutFieldsTakeTheDefaultsAndViaFalseMeansNone() throws Exception {
      assertThat(load(route("{}")).routes().get(0).origin()).isEqualTo(OriginSpec.DEFAULTS);
      assertThat(load(route("{\"via\": false}")).routes().get(0).origin().via()).isNull();
      assertThat(load(route("{\"protocol\": \"HTTP1\"}")).routes().get(0).origin().protocol()).isEqualTo(OriginSpec.Protocol.HTTP1);
      assertThat(OriginSpec.DEFAULTS.protocol()).isEqualTo(OriginSpec.Protocol.AUTO);
    }

    @Test
    void theSeedsRelaySectionMayCarryAnOrigin() throws Exception {
      RelayConfig config =
          load("{ \"relay\": {\"url\": \"https://a.example/\", \"fixedtoken\": \"t\", \"origin\": {\"maxConnections\": 4}} }");

      assertThat(config.routes().get(0).origin().maxConnections()).isEqualTo(4);
      assertThat(problems("{ \"relay\": {\"url\": \"https://a.example/\", \"fixedtoken\": \"t\", \"origin\": {\"protocol\": \"h3\"}} }"))
          .singleElement().asString().contains("relay.origin.protocol: expected http1, h2 or auto");
    }

    @Test
    void eachMistakeIsNamed() {
      assertThat(problems(route("{\"protocol\": \"spdy\"}"))).singleElement().asString().contains("routes[0].origin.protocol: expected http1, h2 or auto");
      assertThat(problems(route("{\"caBundle\": \"" + dir.resolve("missing.pem") + "\"}")))
          .singleElement().asString().contains("routes[0].origin.caBundle: cannot read the file");
      assertThat(problems(route("{\"caBundle\": \"" + dir + "\"}"))).as("a folder")
          .singleElement().asString().contains("routes[0].origin.caBundle: cannot read the file");
      assertThat(problems(route("{\"clientCertificate\": \"" + pem + "\"}")))
          .singleElement().asString().contains("routes[0].origin.clientKey: missing");
      assertThat(problems(route("{\"clientKey\": \"" + pem + "\"}")))
          .singleElement().asString().contains("routes[0].origin.clientCertificate: missing");
      assertThat(problems(route("{\"clientKeyPassword\": \"${KEY_PW}\"}")))
          .singleElement().asString().contains("routes[0].origin.clientKeyPassword: only used with origin.clientKey");
      assertThat(problems(route("{\"clientKey\": \"" + pem + "\", \"clientCertificate\": \"" + pem + "\", \"clientKeyPassword\": \"${NOT_SET}\"}")))
          .singleElement().asString().contains("routes[0].origin.clientKeyPassword", "NOT_SET");
      assertThat(problems(route("{\"connectTimeoutSeconds\": 0}"))).singleElement().asString().contains("routes[0].origin.connectTimeoutSeconds: expected a number");
      assertThat(problems(route("{\"responseTimeoutSeconds\": \"x\"}"))).singleElement().asString().contains("routes[0].origin.responseTimeoutSeconds: expected a number");
      assertThat(problems(route("{\"idleTimeoutSeconds\": -1}"))).singleElement().asString().contains("routes[0].origin.idleTimeoutSeconds: expected a number");
      assertThat(problems(route("{\"maxConnections\": 0}"))).singleElement().asString().contains("routes[0].origin.maxConnections: expected a whole number from 1 to 65536");
      assertThat(problems(route("{\"maxConnections\": 1.5}"))).singleElement().asString().contains("routes[0].origin.maxConnections");
      assertThat(problems(route("{\"forwardedHeaders\": \"sometimes\"}"))).singleElement().asString().contains("routes[0].origin.forwardedHeaders: expected true or false");
      assertThat(problems(route("{\"via\": \"two words\"}"))).singleElement().asString().contains("routes[0].origin.via: expected a pseudonym");
      assertThat(problems(route("{\"via\": \"\"}"))).singleElement().asString().contains("routes[0].origin.via: expected a pseudonym");
      assertThat(problems(route("{\"viaa\": false}"))).singleElement().asString().contains("routes[0].origin.viaa: unknown field");
      assertThat(problems(route("[]"))).singleElement().asString().contains("routes[0].origin: expected an object");
    }

    @Test
    void trustAndClientCertificatesNeedAnHttpsUpstream() {
      String http = "{\"name\": \"a\", \"relay\": {\"url\": \"http://a.example/\", \"fixedtoken\": \"t\"}, \"origin\": {\"caBundle\": \"" + pem + "\"}}";
      assertThat(problems(routes(http, ""))).singleElement().asString().contains("routes[0].origin.caBundle: only used with an https relay.url");
    }

    @Test
    void anOriginAtTheRouteAndInItsRelaySectionIsAProblem() {
      String both = "{\"name\": \"a\", \"relay\": {\"url\": \"https://a.example/\", \"fixedtoken\": \"t\", \"origin\": {}}, \"origin\": {}}";
      assertThat(problems(routes(both, ""))).singleElement().asString().contains("routes[0].origin: expected either origin or relay.origin, not both");
    }
  }

  @Nested
  class Tls {
    private String tls(String section) {
      return "{ \"relay\": {\"url\": \"https://a.example/\", \"fixedtoken\": \"t\"}, \"tls\": " + section + " }";
    }

    @Test
    void everyFieldIsRead() throws Exception {
      ServerTls t =
          load(tls("{\"certificate\": \"%1$s\", \"key\": \"%1$s\", \"keyPassword\": \"${KEY_PW}\", \"clientCa\": \"%1$s\", \"clientAuth\": \"optional\"}"
              .formatted(pem))).tls();

      assertThat(t.certificate()).isEqualTo(Path.of(pem));
      assertThat(t.key()).isEqualTo(Path.of(pem));
      assertThat(new String(t.keyPassword().render(TemplateValues.NONE), StandardCharsets.UTF_8)).isEqualTo(SECRET);
      assertThat(t.toString()).doesNotContain(SECRET);
      assertThat(t.clientCa()).isEqualTo(Path.of(pem));
      assertThat(t.clientAuth()).isEqualTo(ServerTls.ClientCertificates.OPTIONAL);
    }

    @Test
    void withoutAClientCaNoCertificateIsAskedForAndWithOneItIsRequired() throws Exception {
      ServerTls plain = load(tls("{\"certificate\": \"%1$s\", \"key\": \"%1$s\"}".formatted(pem))).tls();
      assertThat(plain.clientAuth()).isEqualTo(ServerTls.ClientCertificates.NONE);
      assertThat(plain.keyPassword().isEmpty()).isTrue();
      assertThat(plain.clientCa()).isNull();

      ServerTls mutual = load(tls("{\"certificate\": \"%1$s\", \"key\": \"%1$s\", \"clientCa\": \"%1$s\"}".formatted(pem))).tls();
      assertThat(mutual.clientAuth()).isEqualTo(ServerTls.ClientCertificates.REQUIRE);
    }

    @Test
    void eachMistakeIsNamed() {
      assertThat(problems(tls("{\"key\": \"" + pem + "\"}"))).singleElement().asString().contains("tls.certificate: missing");
      assertThat(problems(tls("{\"certificate\": \"" + pem + "\"}"))).singleElement().asString().contains("tls.key: missing");
      assertThat(problems(tls("{\"certificate\": \"%1$s\", \"key\": \"%2$s\"}".formatted(pem, dir.resolve("nope.pem")))))
          .singleElement().asString().contains("tls.key: cannot read the file");
      assertThat(problems(tls("{\"certificate\": \"%1$s\", \"key\": \"%1$s\", \"clientAuth\": \"require\"}".formatted(pem))))
          .singleElement().asString().contains("tls.clientCa: missing", "tls.clientAuth require");
      assertThat(problems(tls("{\"certificate\": \"%1$s\", \"key\": \"%1$s\", \"clientAuth\": \"optional\"}".formatted(pem))))
          .singleElement().asString().contains("tls.clientCa: missing");
      assertThat(problems(tls("{\"certificate\": \"%1$s\", \"key\": \"%1$s\", \"clientAuth\": \"want\"}".formatted(pem))))
          .singleElement().asString().contains("tls.clientAuth: expected none, optional or require");
      assertThat(problems(tls("{\"certificate\": \"%1$s\", \"key\": \"%1$s\", \"keyPassword\": \"${NOT_SET}\"}".formatted(pem))))
          .singleElement().asString().contains("tls.keyPassword", "NOT_SET");
      assertThat(problems(tls("{\"certificate\": \"%1$s\", \"key\": \"%1$s\", \"keyPassword\": \"${ACCESSTOKEN}\"}".formatted(pem))))
          .singleElement().asString().contains("tls.keyPassword: runtime placeholders");
      assertThat(problems(tls("{\"certificate\": \"%1$s\", \"key\": \"%1$s\", \"ciphers\": []}".formatted(pem))))
          .singleElement().asString().contains("tls.ciphers: unknown field");
      assertThat(problems(tls("true"))).singleElement().asString().contains("tls: expected an object");
    }
  }

  @Nested
  class NamedKeysAndCallers {
    private String withCallers(String callers, String apiKeys) {
      return routes(CRM.replace("\"path\": \"/crm\",", "\"path\": \"/crm\", \"callers\": " + callers + ","),
          "\"inbound\": {\"apiKeys\": " + apiKeys + "}");
    }

    @Test
    void keysMayBeNamedAndTheListFormStillWorks() throws Exception {
      OpsSpec.Inbound inbound =
          load(withCallers("[\"billing\"]", "[{\"name\": \"billing\", \"key\": \"${KEY_A}\"}, \"${KEY_B}\"]")).ops().inbound();

      assertThat(inbound.apiKeys()).extracting(OpsSpec.ApiKey::name).containsExactly("billing", null);
      assertThat(new String(inbound.apiKeys().get(0).key().render(TemplateValues.NONE), StandardCharsets.UTF_8)).isEqualTo(KEY_A);
      assertThat(inbound.toString()).doesNotContain(KEY_A).doesNotContain(KEY_B);
      assertThat(inbound.apiKeys().get(0).toString()).doesNotContain(KEY_A);
    }

    @Test
    void aRouteListsTheCallersThatMayUseIt() throws Exception {
      RelayConfig config =
          load(routes(CRM.replace("\"path\": \"/crm\",", "\"path\": \"/crm\", \"callers\": [\"ops\", \"billing\"],") + "," + BILLING,
              "\"inbound\": {\"apiKeys\": [{\"name\": \"billing\", \"key\": \"${KEY_A}\"}, {\"name\": \"ops\", \"key\": \"${KEY_B}\"}]}"));

      assertThat(config.routes().get(0).callers()).containsExactlyInAnyOrder("ops", "billing");
      assertThat(config.routes().get(1).callers()).as("no callers: every authenticated caller").isNull();
    }

    @Test
    void aCallerNameMustBeANamedKey() {
      assertThat(problems(withCallers("[\"billing\", \"nobody\"]", "[{\"name\": \"billing\", \"key\": \"${KEY_A}\"}, {\"name\": \"ops\", \"key\": \"${KEY_B}\"}]")))
          .singleElement().asString().contains("routes[0].callers[1]: no inbound.apiKeys entry has this name (expected one of: billing, ops)");
      assertThat(problems(withCallers("[\"billing\"]", "[\"${KEY_A}\"]")))
          .singleElement().asString().contains("routes[0].callers[0]: names a caller, but inbound.apiKeys has no named key");
      assertThat(problems(withCallers("[]", "[{\"name\": \"billing\", \"key\": \"${KEY_A}\"}]")))
          .singleElement().asString().contains("routes[0].callers: expected a non-empty array");
      assertThat(problems(withCallers("[7]", "[{\"name\": \"billing\", \"key\": \"${KEY_A}\"}]")))
          .singleElement().asString().contains("routes[0].callers[0]: expected the name of an inbound.apiKeys entry");
    }

    @Test
    void namedKeysHaveAValidUniqueNameAndADistinctKeyFromASecretReference() {
      assertThat(problems(withCallers("[\"a\"]", "[{\"name\": \"a\", \"key\": \"${KEY_A}\"}, {\"name\": \"a\", \"key\": \"${KEY_B}\"}]")))
          .singleElement().asString().contains("inbound.apiKeys[1].name: the same name as inbound.apiKeys[0]");
      assertThat(problems(withCallers("[\"a\"]", "[{\"name\": \"a\", \"key\": \"${KEY_A}\"}, {\"name\": \"b\", \"key\": \"${SAME_AS_A}\"}]")))
          .singleElement().asString().contains("inbound.apiKeys[1].key: the same key as inbound.apiKeys[0].key");
      assertThat(problems(withCallers("[\"a\"]", "[{\"name\": \"a\", \"key\": \"" + KEY_A + "\"}]")))
          .anySatisfy(p -> assertThat(p).contains("inbound.apiKeys[0].key: expected a secret reference"));
      assertThat(problems(withCallers("[\"a\"]", "[{\"name\": \"a\"}]")))
          .anySatisfy(p -> assertThat(p).contains("inbound.apiKeys[0].key: missing"));
      assertThat(problems(withCallers("[\"a\"]", "[{\"name\": \"A B\", \"key\": \"${KEY_A}\"}]")))
          .anySatisfy(p -> assertThat(p).contains("inbound.apiKeys[0].name: expected a caller name"));
      assertThat(problems(withCallers("[\"a\"]", "[{\"name\": \"a\", \"key\": \"${KEY_A}\", \"routes\": []}]")))
          .singleElement().asString().contains("inbound.apiKeys[0].routes: unknown field");
    }
  }
}
