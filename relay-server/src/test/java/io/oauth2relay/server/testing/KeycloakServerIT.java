package io.oauth2relay.server.testing;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.util.JSONObjectUtils;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.text.ParseException;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Proves the test harness itself: the real Keycloak behaves as the relay's tests expect, and so does the upstream. */
class KeycloakServerIT {

    @RegisterExtension
    static final KeycloakServer KEYCLOAK = KeycloakServer.shared();

    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private static JwtVerifyingUpstream upstream;

    @BeforeAll
    static void startUpstream() throws IOException {
        upstream = JwtVerifyingUpstream.forKeycloak(KEYCLOAK);
    }

    @AfterAll
    static void stopUpstream() {
        if (upstream != null) {
            upstream.close();
        }
    }

    @BeforeEach
    void resetUpstream() {
        upstream.reset();
    }

    @Test
    void canaryCredentialsAreRecognisableAndNeedNoEncoding() {
        assertThat(KEYCLOAK.clientSecret()).matches("CANARY-secret-[A-Za-z0-9]{24}");
        assertThat(KEYCLOAK.password()).matches("CANARY-pass-[A-Za-z0-9]{24}");
    }

    @Test
    void passwordGrantReturnsAnAccessAndARefreshToken() throws Exception {
        final HttpResponse<String> response = passwordGrant(KEYCLOAK.clientSecret());

        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        final Map<String, Object> json = JSONObjectUtils.parse(response.body());
        assertThat(JSONObjectUtils.getString(json, "access_token")).isNotBlank();
        assertThat(JSONObjectUtils.getString(json, "refresh_token")).isNotBlank();
        assertThat(JSONObjectUtils.getString(json, "token_type")).isEqualToIgnoringCase("Bearer");
    }

    @Test
    void accessTokensLiveForTheConfiguredLifespan() throws Exception {
        final Map<String, Object> json = JSONObjectUtils.parse(passwordGrant(KEYCLOAK.clientSecret()).body());
        final JWTClaimsSet claims = SignedJWT.parse(JSONObjectUtils.getString(json, "access_token")).getJWTClaimsSet();
        final int lifespan = KEYCLOAK.accessTokenLifespanSeconds();

        assertThat(Duration.between(claims.getIssueTime().toInstant(), claims.getExpirationTime().toInstant()))
                .isEqualTo(Duration.ofSeconds(lifespan));
        // expires_in is counted from when the response is written: one less if a second boundary passed.
        assertThat(JSONObjectUtils.getLong(json, "expires_in")).isBetween(lifespan - 1L, (long) lifespan);
    }

    @Test
    void refreshTokenGrantReturnsANewAccessToken() throws Exception {
        final Map<String, Object> first = JSONObjectUtils.parse(passwordGrant(KEYCLOAK.clientSecret()).body());

        final HttpResponse<String> response = tokenRequest(Map.of(
                "grant_type", "refresh_token",
                "refresh_token", JSONObjectUtils.getString(first, "refresh_token"),
                "client_id", KEYCLOAK.clientId(),
                "client_secret", KEYCLOAK.clientSecret()));

        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        final String accessToken = JSONObjectUtils.getString(JSONObjectUtils.parse(response.body()), "access_token");
        assertThat(accessToken).isNotBlank().isNotEqualTo(JSONObjectUtils.getString(first, "access_token"));
    }

    @Test
    void clientCredentialsGrantReturnsAnAccessTokenWithoutARefreshToken() throws Exception {
        final HttpResponse<String> response = tokenRequest(Map.of(
                "grant_type", "client_credentials",
                "client_id", KEYCLOAK.clientId(),
                "client_secret", KEYCLOAK.clientSecret()));

        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        final Map<String, Object> json = JSONObjectUtils.parse(response.body());
        assertThat(JSONObjectUtils.getString(json, "access_token")).isNotBlank();
        assertThat(json).doesNotContainKey("refresh_token");
    }

    @Test
    void wrongClientSecretIsRejectedWith401() throws Exception {
        final HttpResponse<String> response = passwordGrant("CANARY-secret-wrong");

        assertThat(response.statusCode()).isEqualTo(401);
        // Keycloak 26 says unauthorized_client here, where RFC 6749 section 5.2 says invalid_client.
        assertThat(JSONObjectUtils.getString(JSONObjectUtils.parse(response.body()), "error"))
                .isIn("unauthorized_client", "invalid_client");
    }

    @Test
    void upstreamAcceptsAFreshTokenAndEchoesTheRequest() throws Exception {
        final String token = accessToken();

        final HttpResponse<String> response = HTTP.send(
                HttpRequest.newBuilder(upstream.baseUrl().resolve("/v1/items?a=1&b=two"))
                        .header("Authorization", "Bearer " + token)
                        .POST(HttpRequest.BodyPublishers.ofString("hello"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).as(upstream.lastRejectionReason()).isEqualTo(200);
        final Map<String, Object> echo = JSONObjectUtils.parse(response.body());
        assertThat(echo)
                .containsEntry("method", "POST")
                .containsEntry("path", "/v1/items")
                .containsEntry("query", "a=1&b=two")
                .containsEntry("preferred_username", KEYCLOAK.username())
                .containsEntry("azp", KEYCLOAK.clientId())
                .containsKey("sub");
        assertThat(JSONObjectUtils.getLong(echo, "bodyLength")).isEqualTo(5);
        assertThat(upstream.acceptedRequests()).isEqualTo(1);
        assertThat(upstream.rejectedRequests()).isZero();
    }

    @Test
    void upstreamRecordsTheLastRequestHeaders() throws Exception {
        HTTP.send(
                HttpRequest.newBuilder(upstream.baseUrl().resolve("/"))
                        .header("Authorization", "Bearer " + accessToken())
                        .header("X-Caller", "test")
                        .build(),
                HttpResponse.BodyHandlers.discarding());

        assertThat(upstream.lastRequestHeader("x-caller")).isEqualTo("test");
        assertThat(upstream.lastRequestHeaders().get("AUTHORIZATION")).hasSize(1);
    }

    @Test
    void upstreamRejectsAGarbageToken() throws Exception {
        final HttpResponse<String> response = callUpstream("Bearer not.a.jwt");

        assertThat(response.statusCode()).isEqualTo(401);
        assertThat(response.headers().firstValue("WWW-Authenticate")).hasValue("Bearer error=\"invalid_token\"");
        assertThat(upstream.rejectedRequests()).isEqualTo(1);
        assertThat(upstream.acceptedRequests()).isZero();
    }

    @Test
    void upstreamRejectsARequestWithoutAuthorization() throws Exception {
        final HttpResponse<String> response = HTTP.send(
                HttpRequest.newBuilder(upstream.baseUrl().resolve("/v1/items")).build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(401);
        assertThat(upstream.rejectedRequests()).isEqualTo(1);
    }

    @Test
    void upstreamRejectsATokenFromAnotherIssuer() throws Exception {
        final String token = accessToken();
        try (JwtVerifyingUpstream strict =
                JwtVerifyingUpstream.start(KEYCLOAK.jwksUrl(), KEYCLOAK.baseUrl() + "/realms/other")) {
            final HttpResponse<String> response = HTTP.send(
                    HttpRequest.newBuilder(strict.baseUrl().resolve("/"))
                            .header("Authorization", "Bearer " + token)
                            .build(),
                    HttpResponse.BodyHandlers.ofString());

            assertThat(response.statusCode()).isEqualTo(401);
            assertThat(strict.lastRejectionReason()).contains("iss");
        }
    }

    @Test
    void upstreamRejectsATokenOnceItsLifespanHasPassed() throws Exception {
        final String token = accessToken();
        assertThat(callUpstream("Bearer " + token).statusCode()).isEqualTo(200);

        sleepUntil(expiry(token).plusSeconds(1));
        final HttpResponse<String> response = callUpstream("Bearer " + token);

        assertThat(response.statusCode()).isEqualTo(401);
        assertThat(upstream.lastRejectionReason()).containsIgnoringCase("expired");
        assertThat(upstream.acceptedRequests()).isEqualTo(1);
        assertThat(upstream.rejectedRequests()).isEqualTo(1);
    }

    private static String accessToken() throws Exception {
        final HttpResponse<String> response = passwordGrant(KEYCLOAK.clientSecret());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return JSONObjectUtils.getString(JSONObjectUtils.parse(response.body()), "access_token");
    }

    private static HttpResponse<String> passwordGrant(String clientSecret) throws IOException, InterruptedException {
        final Map<String, String> form = new LinkedHashMap<>();
        form.put("grant_type", "password");
        form.put("client_id", KEYCLOAK.clientId());
        form.put("client_secret", clientSecret);
        form.put("username", KEYCLOAK.username());
        form.put("password", KEYCLOAK.password());
        return tokenRequest(form);
    }

    private static HttpResponse<String> tokenRequest(Map<String, String> form)
            throws IOException, InterruptedException {
        final String body = form.entrySet().stream()
                .map(e -> encode(e.getKey()) + "=" + encode(e.getValue()))
                .collect(Collectors.joining("&"));
        return HTTP.send(
                HttpRequest.newBuilder(KEYCLOAK.tokenUrl())
                        .header("Content-Type", "application/x-www-form-urlencoded")
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> callUpstream(String authorization) throws IOException, InterruptedException {
        final URI uri = upstream.baseUrl().resolve("/v1/items");
        return HTTP.send(
                HttpRequest.newBuilder(uri).header("Authorization", authorization).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static String encode(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }

    private static Instant expiry(String token) throws ParseException {
        return SignedJWT.parse(token).getJWTClaimsSet().getExpirationTime().toInstant();
    }

    private static void sleepUntil(Instant instant) throws InterruptedException {
        final long millis = Duration.between(Instant.now(), instant).toMillis();
        if (millis > 0) {
            Thread.sleep(millis);
        }
    }
}
