package io.oauth2relay.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.oauth2relay.server.Relay;
import io.oauth2relay.server.config.ConfigLoader;
import io.oauth2relay.server.config.RelayConfig;
import io.oauth2relay.server.testing.FaultProxy;
import io.oauth2relay.server.testing.JwtVerifyingUpstream;
import io.oauth2relay.server.testing.KeycloakServer;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Clock;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The standard OAuth2 {@code grant} shorthand against a real Keycloak: client_credentials with
 * client_secret_basic and client_secret_post, the password grant with its refresh_token renewal,
 * discovery of the token endpoint from the issuer, and private_key_jwt with a key made by the test.
 */
class KeycloakGrantsIT {
  @RegisterExtension static final KeycloakServer KEYCLOAK = KeycloakServer.shared();

  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  private final HttpClient http = HttpClient.newHttpClient();
  private JwtVerifyingUpstream upstream;
  private Relay relay;

  @BeforeEach
  void startUpstream() throws Exception {
    upstream = JwtVerifyingUpstream.forKeycloak(KEYCLOAK);
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

  private Map<String, String> env() {
    return Map.of(
        "CLIENT_ID", KEYCLOAK.clientId(),
        "CLIENT_SECRET", KEYCLOAK.clientSecret(),
        "KC_USER", KEYCLOAK.username(),
        "KC_PASSWORD", KEYCLOAK.password());
  }

  private JsonNode relayedClaims(String base) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/x")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    String jwt = upstream.lastRequestHeader("Authorization").substring("Bearer ".length());
    return JSON.readTree(Base64.getUrlDecoder().decode(jwt.split("\\.")[1]));
  }

  @Test
  void clientCredentialsWithClientSecretBasic() throws Exception {
    String base =
        start(
            """
            { "grant": "client_credentials", "tokenUrl": "%s",
              "clientId": "${CLIENT_ID}", "clientSecret": "${CLIENT_SECRET}" }"""
                .formatted(KEYCLOAK.tokenUrl()),
            env());

    JsonNode claims = relayedClaims(base);

    assertThat(claims.get("azp").asText()).isEqualTo(KEYCLOAK.clientId());
    assertThat(claims.get("preferred_username").asText()).startsWith("service-account-");
  }

  @Test
  void clientCredentialsWithClientSecretPost() throws Exception {
    String base =
        start(
            """
            { "grant": "client_credentials", "tokenUrl": "%s", "clientAuth": "client_secret_post",
              "clientId": "${CLIENT_ID}", "clientSecret": "${CLIENT_SECRET}" }"""
                .formatted(KEYCLOAK.tokenUrl()),
            env());

    assertThat(relayedClaims(base).get("azp").asText()).isEqualTo(KEYCLOAK.clientId());
  }

  @Test
  void theTokenEndpointIsDiscoveredFromTheIssuer() throws Exception {
    String base =
        start(
            """
            { "grant": "client_credentials", "issuer": "%s",
              "clientId": "${CLIENT_ID}", "clientSecret": "${CLIENT_SECRET}" }"""
                .formatted(KEYCLOAK.issuer()),
            env());

    assertThat(relayedClaims(base).get("iss").asText()).isEqualTo(KEYCLOAK.issuer());
  }

  @Test
  void thePasswordGrantRenewsWithItsRefreshTokenAfterExpiry() throws Exception {
    String base =
        start(
            """
            { "grant": "password", "tokenUrl": "%s", "user": "${KC_USER}", "password": "${KC_PASSWORD}",
              "clientId": "${CLIENT_ID}", "clientSecret": "${CLIENT_SECRET}", "scope": "openid" }"""
                .formatted(KEYCLOAK.tokenUrl()),
            env());
    JsonNode first = relayedClaims(base);

    Thread.sleep(KEYCLOAK.accessTokenLifespanSeconds() * 1000L + 500);

    JsonNode second = relayedClaims(base);
    assertThat(second.get("preferred_username").asText()).isEqualTo(KEYCLOAK.username());
    assertThat(second.get("jti").asText()).isNotEqualTo(first.get("jti").asText());
    assertThat(second.get("sid").asText()).isEqualTo(first.get("sid").asText()); // refreshed, not a new login
  }

  @Test
  void privateKeyJwtClientAuthentication() throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
    generator.initialize(2048);
    KeyPair keys = generator.generateKeyPair();
    String clientId = "relay-jwt-" + System.nanoTime();
    registerJwtClient(clientId, Base64.getEncoder().encodeToString(keys.getPublic().getEncoded()));
    Path key = dir.resolve("client-key.pem");
    Files.writeString(
        key,
        "-----BEGIN PRIVATE KEY-----\n"
            + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(keys.getPrivate().getEncoded())
            + "\n-----END PRIVATE KEY-----\n");

    String base =
        start(
            """
            { "grant": "client_credentials", "tokenUrl": "%s", "clientAuth": "private_key_jwt",
              "clientId": "%s", "privateKey": "%s" }"""
                .formatted(KEYCLOAK.tokenUrl(), clientId, key),
            env());

    assertThat(relayedClaims(base).get("azp").asText()).isEqualTo(clientId);
  }

  @Test
  void aWrongClientSecretGivesAClearErrorAndNoRetryStorm() throws Exception {
    try (FaultProxy counter = new FaultProxy(KEYCLOAK.baseUrl().getPort())) {
      String tokenUrl = KEYCLOAK.tokenUrl().toString().replace(":" + KEYCLOAK.baseUrl().getPort() + "/", ":" + counter.port() + "/");
      String base =
          start(
              """
              { "grant": "client_credentials", "tokenUrl": "%s",
                "clientId": "${CLIENT_ID}", "clientSecret": "wrong-CANARY-secret" }"""
                  .formatted(tokenUrl),
              env());

      for (int i = 0; i < 30; i++) {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/x")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.body()).contains("401").doesNotContain("wrong-CANARY-secret");
      }

      assertThat(counter.requests()).isEqualTo(1);
    }
  }

  /** Registers a confidential client that authenticates with a signed JWT (Keycloak's "client-jwt"). */
  private void registerJwtClient(String clientId, String publicKeyBase64) throws Exception {
    String form =
        "grant_type=password&client_id=admin-cli&username="
            + URLEncoder.encode(KEYCLOAK.adminUsername(), StandardCharsets.UTF_8)
            + "&password="
            + URLEncoder.encode(KEYCLOAK.adminPassword(), StandardCharsets.UTF_8);
    HttpResponse<String> token =
        http.send(
            HttpRequest.newBuilder(URI.create(KEYCLOAK.baseUrl() + "/realms/master/protocol/openid-connect/token"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(token.statusCode()).as(token.body()).isEqualTo(200);
    String admin = JSON.readTree(token.body()).get("access_token").asText();
    String client =
        """
        { "clientId": "%s", "enabled": true, "publicClient": false, "serviceAccountsEnabled": true,
          "standardFlowEnabled": false, "clientAuthenticatorType": "client-jwt",
          "attributes": { "jwt.credential.public.key": "%s", "token.endpoint.auth.signing.alg": "RS256" } }"""
            .formatted(clientId, publicKeyBase64);
    HttpResponse<String> created =
        http.send(
            HttpRequest.newBuilder(URI.create(KEYCLOAK.baseUrl() + "/admin/realms/" + KeycloakServer.REALM + "/clients"))
                .header("Authorization", "Bearer " + admin)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(client))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
  }
}
