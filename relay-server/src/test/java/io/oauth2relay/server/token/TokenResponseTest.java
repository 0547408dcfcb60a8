package io.oauth2relay.server.token;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.oauth2relay.server.config.ResponseMapping;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import org.junit.jupiter.api.Test;

/** Specifies how a token endpoint's JSON body is read through a {@link ResponseMapping}. */
class TokenResponseTest {
  /** RFC 6749 §5.1 names, as Keycloak answers; Keycloak gives no absolute expiry. */
  private static final ResponseMapping RFC6749 =
      new ResponseMapping("access_token", "expires_in", "", "token_type", "refresh_token");

  private static TokenResponse parse(String json, ResponseMapping mapping) throws TokenFetchException {
    return TokenResponse.parse(json.getBytes(StandardCharsets.UTF_8), mapping);
  }

  private static String text(byte[] bytes) {
    return bytes == null ? null : new String(bytes, StandardCharsets.UTF_8);
  }

  private static byte[] jwt(String payloadJson) {
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
    String header = b64.encodeToString("{\"alg\":\"none\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8));
    String payload = b64.encodeToString(payloadJson.getBytes(StandardCharsets.UTF_8));
    return (header + "." + payload + ".").getBytes(StandardCharsets.US_ASCII);
  }

  @Test
  void readsTheSeedMapping() throws Exception {
    TokenResponse r =
        parse(
            """
            {"AccessToken": "at-1", "ExpiresIn": 3600, "ExpiresAt": 1900000000,
             "TokenType": "Bearer", "RefreshToken": "rt-1"}
            """,
            ResponseMapping.SEED);

    assertThat(text(r.accessToken)).isEqualTo("at-1");
    assertThat(text(r.refreshToken)).isEqualTo("rt-1");
    assertThat(text(r.tokenType)).isEqualTo("Bearer");
    assertThat(r.expiresInSeconds).isEqualTo(3600);
    assertThat(r.expiresAtMillis).isEqualTo(1_900_000_000_000L);
    assertThat(r.errorCode).isNull();
  }

  @Test
  void readsAKeycloakResponseThroughTheRfc6749Mapping() throws Exception {
    TokenResponse r =
        parse(
            """
            {"access_token": "eyJ.at", "expires_in": 300, "refresh_expires_in": 1800,
             "refresh_token": "eyJ.rt", "token_type": "Bearer", "not-before-policy": 0,
             "session_state": "0b2c", "scope": "profile email"}
            """,
            RFC6749);

    assertThat(text(r.accessToken)).isEqualTo("eyJ.at");
    assertThat(text(r.refreshToken)).isEqualTo("eyJ.rt");
    assertThat(text(r.tokenType)).isEqualTo("Bearer");
    assertThat(r.expiresInSeconds).isEqualTo(300);
    assertThat(r.expiresAtMillis).isEqualTo(-1);
  }

  @Test
  void leavesAbsentValuesUnset() throws Exception {
    TokenResponse r = parse("{\"access_token\": \"at\"}", RFC6749);

    assertThat(text(r.accessToken)).isEqualTo("at");
    assertThat(r.refreshToken).isNull();
    assertThat(r.tokenType).isNull();
    assertThat(r.expiresInSeconds).isEqualTo(-1);
    assertThat(r.expiresAtMillis).isEqualTo(-1);
  }

  @Test
  void followsDottedPathsIntoNestedObjects() throws Exception {
    ResponseMapping nested =
        new ResponseMapping("data.token.value", "data.token.ttl", "", "", "data.refresh");

    TokenResponse r =
        parse(
            """
            {"status": "ok",
             "data": {"token": {"value": "at-nested", "ttl": 120, "extra": {"value": "decoy"}},
                      "list": [{"value": "decoy"}],
                      "refresh": "rt-nested"},
             "value": "decoy"}
            """,
            nested);

    assertThat(text(r.accessToken)).isEqualTo("at-nested");
    assertThat(text(r.refreshToken)).isEqualTo("rt-nested");
    assertThat(r.expiresInSeconds).isEqualTo(120);
  }

  @Test
  void doesNotTakeATopLevelFieldForANestedPath() throws Exception {
    ResponseMapping nested = new ResponseMapping("data.token", "", "", "", "");

    TokenResponse r = parse("{\"token\": \"decoy\", \"data\": {}}", nested);

    assertThat(r.accessToken).isNull();
  }

  @Test
  void readsExpiresInAsANumber() throws Exception {
    assertThat(parse("{\"AccessToken\": \"a\", \"ExpiresIn\": 900}", ResponseMapping.SEED).expiresInSeconds)
        .isEqualTo(900);
  }

  @Test
  void readsExpiresInAsANumericString() throws Exception {
    assertThat(parse("{\"AccessToken\": \"a\", \"ExpiresIn\": \" 900 \"}", ResponseMapping.SEED).expiresInSeconds)
        .isEqualTo(900);
  }

  @Test
  void rejectsANonNumericExpiresInWithoutQuotingIt() {
    assertThatThrownBy(() -> parse("{\"AccessToken\": \"a\", \"ExpiresIn\": \"soon-canary\"}", ResponseMapping.SEED))
        .isInstanceOf(TokenFetchException.class)
        .hasMessageContaining("ExpiresIn")
        .hasMessageNotContaining("soon-canary");
  }

  @Test
  void readsExpiresAtAsEpochSeconds() throws Exception {
    assertThat(parse("{\"AccessToken\": \"a\", \"ExpiresAt\": 1900000000}", ResponseMapping.SEED).expiresAtMillis)
        .isEqualTo(1_900_000_000_000L);
  }

  @Test
  void readsExpiresAtAsEpochSecondsInAString() throws Exception {
    assertThat(parse("{\"AccessToken\": \"a\", \"ExpiresAt\": \"1900000000\"}", ResponseMapping.SEED).expiresAtMillis)
        .isEqualTo(1_900_000_000_000L);
  }

  @Test
  void readsExpiresAtAsEpochMillis() throws Exception {
    assertThat(parse("{\"AccessToken\": \"a\", \"ExpiresAt\": 1900000000123}", ResponseMapping.SEED).expiresAtMillis)
        .isEqualTo(1_900_000_000_123L);
  }

  @Test
  void readsExpiresAtAsIso8601() throws Exception {
    TokenResponse utc = parse("{\"AccessToken\": \"a\", \"ExpiresAt\": \"2030-01-02T03:04:05Z\"}", ResponseMapping.SEED);
    TokenResponse offset =
        parse("{\"AccessToken\": \"a\", \"ExpiresAt\": \"2030-01-02T05:04:05+02:00\"}", ResponseMapping.SEED);

    long expected = Instant.parse("2030-01-02T03:04:05Z").toEpochMilli();
    assertThat(utc.expiresAtMillis).isEqualTo(expected);
    assertThat(offset.expiresAtMillis).isEqualTo(expected);
  }

  @Test
  void rejectsAnUnreadableExpiresAtWithoutQuotingIt() {
    assertThatThrownBy(() -> parse("{\"AccessToken\": \"a\", \"ExpiresAt\": \"tomorrow-canary\"}", ResponseMapping.SEED))
        .isInstanceOf(TokenFetchException.class)
        .hasMessageContaining("ExpiresAt")
        .hasMessageNotContaining("tomorrow-canary");
  }

  @Test
  void readsTheExpiryOfAJwtFromItsExpClaim() {
    byte[] token = jwt("{\"sub\":\"client_123\",\"aud\":[\"api\"],\"ctx\":{\"exp\":1},\"exp\":1900000000}");

    assertThat(TokenResponse.jwtExpiryMillis(token)).isEqualTo(1_900_000_000_000L);
  }

  @Test
  void findsNoJwtExpiryInAnOpaqueToken() {
    assertThat(TokenResponse.jwtExpiryMillis("opaque-token-123".getBytes(StandardCharsets.US_ASCII))).isEqualTo(-1);
    assertThat(TokenResponse.jwtExpiryMillis("a.b".getBytes(StandardCharsets.US_ASCII))).isEqualTo(-1);
    assertThat(TokenResponse.jwtExpiryMillis("a.!!!.c".getBytes(StandardCharsets.US_ASCII))).isEqualTo(-1);
    assertThat(TokenResponse.jwtExpiryMillis("aaaa.bm90IGpzb24.c".getBytes(StandardCharsets.US_ASCII)))
        .isEqualTo(-1);
  }

  @Test
  void findsNoJwtExpiryWithoutANumericExpClaim() {
    assertThat(TokenResponse.jwtExpiryMillis(jwt("{\"sub\":\"x\"}"))).isEqualTo(-1);
    assertThat(TokenResponse.jwtExpiryMillis(jwt("{\"exp\":\"1900000000\"}"))).isEqualTo(-1);
    assertThat(TokenResponse.jwtExpiryMillis(jwt("[1,2]"))).isEqualTo(-1);
  }

  @Test
  void rejectsANonJsonBodyWithoutQuotingIt() {
    assertThatThrownBy(() -> parse("<html>session=CANARY-s3cr3t</html>", ResponseMapping.SEED))
        .isInstanceOf(TokenFetchException.class)
        .hasMessage("response is not valid JSON");
  }

  @Test
  void rejectsTruncatedJsonWithoutQuotingIt() {
    assertThatThrownBy(() -> parse("{\"AccessToken\": \"CANARY-s3cr3t", ResponseMapping.SEED))
        .isInstanceOf(TokenFetchException.class)
        .message()
        .doesNotContain("CANARY");
  }

  @Test
  void rejectsAJsonArray() {
    assertThatThrownBy(() -> parse("[{\"AccessToken\": \"CANARY\"}]", ResponseMapping.SEED))
        .isInstanceOf(TokenFetchException.class)
        .hasMessage("response is not a JSON object");
  }

  @Test
  void rejectsANonStringAccessToken() {
    assertThatThrownBy(() -> parse("{\"AccessToken\": 12345}", ResponseMapping.SEED))
        .isInstanceOf(TokenFetchException.class)
        .hasMessageContaining("AccessToken")
        .hasMessageNotContaining("12345");
  }

  @Test
  void readsTheErrorCodeOfAnRfc6749ErrorBody() throws Exception {
    TokenResponse r =
        parse(
            "{\"error\": \"invalid_grant\", \"error_description\": \"Invalid user credentials\"}",
            RFC6749);

    assertThat(r.errorCode).isEqualTo("invalid_grant");
    assertThat(r.accessToken).isNull();
  }

  @Test
  void dropsAnErrorValueThatIsNotShapedLikeACode() throws Exception {
    TokenResponse r = parse("{\"error\": \"Wrong password s3cr3t! for client_123\"}", RFC6749);

    assertThat(r.errorCode).isNull();
  }

  @Test
  void wipeZeroesTheTokens() throws Exception {
    TokenResponse r = parse("{\"AccessToken\": \"at\", \"RefreshToken\": \"rt\"}", ResponseMapping.SEED);
    byte[] access = r.accessToken;
    byte[] refresh = r.refreshToken;

    r.wipe();

    assertThat(access).containsOnly(0);
    assertThat(refresh).containsOnly(0);
  }

  @Test
  void refusesATokenWithALineBreakThatWouldSplitTheUpstreamRequest() {
    assertThatThrownBy(
            () -> parse("{\"access_token\":\"abc\\r\\nX-Injected: 1\",\"expires_in\":60}", RFC6749))
        .isInstanceOf(TokenFetchException.class)
        .hasMessageContaining("control characters")
        .hasMessageNotContaining("X-Injected");
  }
}
