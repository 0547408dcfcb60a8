package io.oauth2relay.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.oauth2relay.server.Relay;
import io.oauth2relay.server.config.ConfigLoader;
import io.oauth2relay.server.testing.JwtVerifyingUpstream;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Which callers may use which route ({@code inbound.apiKeys} names, a route's {@code callers}), in front
 * of an in-process relay whose routes take tokens from a real mock-oauth2-server and forward to an
 * upstream that verifies them ({@link JwtVerifyingUpstream}).
 *
 * <pre>
 *   /crm      callers [ops]            key "billing": 403   key "ops": 200
 *   /billing  callers [billing, ops]   key "billing": 200   key "ops": 200
 *   /open     every caller             any valid key, named or not: 200
 * </pre>
 */
class RouteCallersIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String BILLING_KEY = "billing-" + UUID.randomUUID();
  private static final String OPS_KEY = "ops-" + UUID.randomUUID();
  private static final String LEGACY_KEY = "legacy-" + UUID.randomUUID();
  private static final String CLIENT_SECRET = "client-secret-" + UUID.randomUUID();

  private static MockOAuth2Server idp;
  private static JwtVerifyingUpstream upstream;

  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private Relay relay;
  private String relayUrl;

  @BeforeAll
  static void startServers() throws Exception {
    idp = new MockOAuth2Server();
    idp.start(InetAddress.getLoopbackAddress(), 0);
    upstream = JwtVerifyingUpstream.start(idp.jwksUrl("a").uri(), idp.issuerUrl("a").toString());
  }

  @AfterAll
  static void stopServers() {
    upstream.close();
    idp.shutdown();
  }

  @BeforeEach
  void startRelay() throws Exception {
    upstream.reset();
    String route =
        """
        { "name": "%2$s", "path": "/%2$s", %3$s
          "login": { "grant": "client_credentials", "tokenUrl": "%1$s", "clientId": "%2$s-client", "clientSecret": "${CLIENT_SECRET}" },
          "relay": { "url": "%4$s/" } }""";
    String token = idp.tokenEndpointUrl("a").toString();
    String base = upstream.baseUrl().toString();
    String config =
        """
        { "port": 0,
          "inbound": { "apiKeys": [ { "name": "billing", "key": "${BILLING_KEY}" }, { "name": "ops", "key": "${OPS_KEY}" },
                                    "${LEGACY_KEY}" ] },
          "routes": [ %s, %s, %s ] }
        """
            .formatted(
                route.formatted(token, "crm", "\"callers\": [\"ops\"],", base),
                route.formatted(token, "billing", "\"callers\": [\"billing\", \"ops\"],", base),
                route.formatted(token, "open", "", base));
    Map<String, String> env =
        Map.of("BILLING_KEY", BILLING_KEY, "OPS_KEY", OPS_KEY, "LEGACY_KEY", LEGACY_KEY, "CLIENT_SECRET", CLIENT_SECRET);
    relay = new Relay(new ConfigLoader(env::get).parse(JSON.readTree(config), "callers.json"), Clock.systemUTC());
    relayUrl = "http://127.0.0.1:" + relay.start().getPort();
  }

  @AfterEach
  void stopRelay() {
    relay.close();
  }

  private HttpResponse<String> get(String path, String key) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(relayUrl + path));
    if (key != null) {
      b.header("X-Api-Key", key);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aKeyAllowedOnOneRouteOnlyGets403OnTheOtherAndTheRequestReachesNoUpstream() throws Exception {
    HttpResponse<String> allowed = get("/billing/invoices", BILLING_KEY);
    HttpResponse<String> refused = get("/crm/customers", BILLING_KEY);

    assertThat(allowed.statusCode()).as(allowed.body()).isEqualTo(200);
    assertThat(JSON.readTree(allowed.body()).get("sub").asText()).isEqualTo("billing-client");
    assertThat(refused.statusCode()).isEqualTo(403);
    JsonNode body = JSON.readTree(refused.body());
    assertThat(body.get("error").asText()).isEqualTo("forbidden");
    assertThat(refused.body())
        .doesNotContain(BILLING_KEY).doesNotContain(CLIENT_SECRET).doesNotContain("crm-client").doesNotContain("billing")
        .doesNotContain("Bearer").hasSizeLessThan(120);
    assertThat(upstream.acceptedRequests()).as("only the allowed request was relayed").isEqualTo(1);
  }

  @Test
  void aKeyNamedOnSeveralRoutesMayUseEachOfThem() throws Exception {
    for (String path : List.of("/crm/x", "/billing/x", "/open/x")) {
      assertThat(get(path, OPS_KEY).statusCode()).as(path).isEqualTo(200);
    }
    assertThat(upstream.acceptedRequests()).isEqualTo(3);
  }

  @Test
  void aKeyOfTheListFormMayUseOnlyRoutesOpenToEveryCaller() throws Exception {
    assertThat(get("/open/x", LEGACY_KEY).statusCode()).isEqualTo(200);
    assertThat(get("/billing/x", LEGACY_KEY).statusCode()).isEqualTo(403);
    assertThat(get("/open/x", BILLING_KEY).statusCode()).as("a named key on an open route").isEqualTo(200);
  }

  @Test
  void noKeyOrAWrongKeyIsStill401OnEveryRouteSoRefusalsSayNothingAboutRoutes() throws Exception {
    for (String path : List.of("/crm/x", "/billing/x", "/open/x", "/no-such-route")) {
      for (String key : new String[] {null, BILLING_KEY + "x", "", OPS_KEY.substring(0, 8)}) {
        HttpResponse<String> r = get(path, key);
        assertThat(r.statusCode()).as(path + " " + key).isEqualTo(401);
        assertThat(JSON.readTree(r.body()).get("error").asText()).isEqualTo("unauthorized");
      }
    }
    assertThat(upstream.acceptedRequests() + upstream.rejectedRequests()).isZero();
  }

  @Test
  void anAuthenticatedCallerOnAPathNoRouteTakesGets404() throws Exception {
    HttpResponse<String> r = get("/no-such-route", BILLING_KEY);

    assertThat(r.statusCode()).isEqualTo(404);
    assertThat(JSON.readTree(r.body()).get("error").asText()).isEqualTo("no_route");
  }
}
