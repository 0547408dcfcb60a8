package io.oauth2relay.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.oauth2relay.server.Relay;
import io.oauth2relay.server.config.ConfigLoader;
import io.oauth2relay.server.config.RelayConfig;
import io.oauth2relay.server.testing.JwtVerifyingUpstream;
import java.net.InetAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import okhttp3.mockwebserver.RecordedRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The grants Keycloak does not offer here, against a real, scriptable OAuth2 server
 * (navikt's mock-oauth2-server, in process on loopback): the JWT bearer grant (RFC 7523) and token
 * exchange (RFC 8693). Its tokens are signed JWTs; the upstream verifies each injected token against the
 * server's JWKS and issuer, and the tests read what the relay sent from the server's request log.
 */
class MockOAuth2GrantsIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ISSUER = "relay";

  private static MockOAuth2Server idp;
  private JwtVerifyingUpstream upstream;
  private Relay relay;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void startIdentityProvider() {
    idp = new MockOAuth2Server();
    idp.start(InetAddress.getLoopbackAddress(), 0);
  }

  @AfterAll
  static void stopIdentityProvider() {
    idp.shutdown();
  }

  @BeforeEach
  void startUpstream() throws Exception {
    upstream = JwtVerifyingUpstream.start(idp.jwksUrl(ISSUER).uri(), idp.issuerUrl(ISSUER).toString());
    while (nextRequest(1) != null) {
      // forget the previous test's requests
    }
  }

  @AfterEach
  void stop() {
    if (relay != null) {
      relay.close();
    }
    upstream.close();
  }

  private String start(String login, Map<String, String> env) throws Exception {
    String json =
        """
        { "port": 0, "token": { "refreshAhead": false },
          "login": %s,
          "relay": { "url": "%s/" } }
        """
            .formatted(login, upstream.baseUrl());
    RelayConfig config = new ConfigLoader(env::get).parse(JSON.readTree(json), "grants.json");
    relay = new Relay(config, Clock.systemUTC());
    return "http://127.0.0.1:" + relay.start().getPort();
  }

  /** Relays one request, expects the upstream to accept the injected token, and returns its claims. */
  private JsonNode relayedClaims(String base) throws Exception {
    HttpResponse<String> r =
        http.send(HttpRequest.newBuilder(URI.create(base + "/x")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    String jwt = upstream.lastRequestHeader("Authorization").substring("Bearer ".length());
    return JSON.readTree(Base64.getUrlDecoder().decode(jwt.split("\\.")[1]));
  }

  /** The next request the identity provider received, or {@code null} (its own API throws instead). */
  private static RecordedRequest nextRequest(long millis) {
    try {
      return idp.takeRequest(millis, TimeUnit.MILLISECONDS);
    } catch (RuntimeException none) {
      return null;
    }
  }

  /** The form fields of the one token request the relay made. */
  private static Map<String, String> theTokenRequest() throws Exception {
    // The upstream's JWKS fetches land in the same log: keep the token endpoint's requests only.
    java.util.List<RecordedRequest> tokenRequests = new java.util.ArrayList<>();
    for (RecordedRequest r = nextRequest(1_000); r != null; r = nextRequest(200)) {
      if (r.getPath().endsWith("/token")) {
        tokenRequests.add(r);
      }
    }
    assertThat(tokenRequests).as("token requests").hasSize(1);
    RecordedRequest request = tokenRequests.get(0);
    Map<String, String> fields = new LinkedHashMap<>();
    for (String pair : request.getBody().readUtf8().split("&")) {
      String[] kv = pair.split("=", 2);
      fields.put(
          URLDecoder.decode(kv[0], StandardCharsets.UTF_8),
          kv.length > 1 ? URLDecoder.decode(kv[1], StandardCharsets.UTF_8) : "");
    }
    return fields;
  }

  @Test
  void theJwtBearerGrantExchangesAnAssertionForAnAccessToken() throws Exception {
    String assertion = idp.issueToken("assertion-issuer", "alice", "relay-client").serialize();
    String base =
        start(
            """
            { "grant": "jwt-bearer", "tokenUrl": "%s", "clientAuth": "client_secret_post",
              "clientId": "relay-client", "clientSecret": "${CLIENT_SECRET}", "assertion": "${ASSERTION}",
              "scope": "orders.read" }"""
                .formatted(idp.tokenEndpointUrl(ISSUER)),
            Map.of("CLIENT_SECRET", "not-checked-by-this-server", "ASSERTION", assertion));

    JsonNode claims = relayedClaims(base);

    assertThat(claims.get("sub").asText()).isEqualTo("alice");
    assertThat(theTokenRequest())
        .containsEntry("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer")
        .containsEntry("assertion", assertion)
        .containsEntry("scope", "orders.read")
        .containsEntry("client_id", "relay-client");
  }

  @Test
  void tokenExchangeTradesASubjectTokenForOneForTheTargetAudience() throws Exception {
    String subjectToken = idp.issueToken("upstream-issuer", "bob", "relay").serialize();
    String base =
        start(
            """
            { "grant": "token-exchange", "tokenUrl": "%s",
              "clientId": "relay-client", "clientSecret": "${CLIENT_SECRET}",
              "subjectToken": "${SUBJECT_TOKEN}",
              "subjectTokenType": "urn:ietf:params:oauth:token-type:jwt",
              "audience": "api://orders" }"""
                .formatted(idp.tokenEndpointUrl(ISSUER)),
            Map.of("CLIENT_SECRET", "not-checked-by-this-server", "SUBJECT_TOKEN", subjectToken));

    JsonNode claims = relayedClaims(base);

    assertThat(claims.get("sub").asText()).isEqualTo("bob");
    assertThat(claims.get("aud").toString()).contains("api://orders");
    assertThat(theTokenRequest())
        .containsEntry("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange")
        .containsEntry("subject_token", subjectToken)
        .containsEntry("subject_token_type", "urn:ietf:params:oauth:token-type:jwt")
        .containsEntry("audience", "api://orders");
  }
}
