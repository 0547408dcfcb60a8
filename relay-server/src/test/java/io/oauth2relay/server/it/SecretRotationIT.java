package io.oauth2relay.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.oauth2relay.secrets.aws.MotoServerExtension;
import io.oauth2relay.server.Relay;
import io.oauth2relay.server.config.ConfigLoader;
import io.oauth2relay.server.config.RelayConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerClient;

/**
 * A password rotated in its secret store is used at the next login, without a restart: once from a
 * mounted file ({@code ${file:...}}) and once from AWS Secrets Manager ({@code ${aws-sm:...}}, a real
 * {@code moto_server}). The third party is {@link SeedDialectThirdParty}; a login happens when it has
 * revoked the relay's token and the relay, after the upstream's 401, renews it. There is no refresh call,
 * so every renewal is a login with the credentials as they are now.
 */
class SecretRotationIT {
  @RegisterExtension static final MotoServerExtension MOTO = new MotoServerExtension();

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String USER = "client_123";

  @TempDir Path dir;

  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private SeedDialectThirdParty third;
  private Relay relay;
  private String relayUrl;

  @BeforeAll
  static void awsCredentials() {
    // The relay's aws-sm provider takes the SDK's default chain; system properties are its first link.
    System.setProperty("aws.accessKeyId", "test");
    System.setProperty("aws.secretAccessKey", "test");
  }

  @AfterAll
  static void clearAwsCredentials() {
    System.clearProperty("aws.accessKeyId");
    System.clearProperty("aws.secretAccessKey");
  }

  @BeforeEach
  void startThirdParty() throws Exception {
    third = new SeedDialectThirdParty(authstring("first-password"));
  }

  @AfterEach
  void stop() {
    if (relay != null) {
      relay.close();
    }
    third.close();
  }

  private static String authstring(String password) {
    return Base64.getEncoder().encodeToString((USER + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  private void startRelay(String secrets, String passwordReference) throws Exception {
    String config =
        """
        {
          "port": 0, "host": "127.0.0.1",
          "token": { "refreshAhead": false },
          "secrets": %2$s,
          "login": {
            "user": "%3$s", "password": "%4$s", "method": "GET",
            "url": "%1$s/login",
            "headers": { "Authorization": "Basic ${AUTHSTRING}" }
          },
          "relay": { "url": "%1$s/api/", "headers": { "Authorization": "Bearer ${ACCESSTOKEN}" } }
        }
        """
            .formatted(third.url(), secrets, USER, passwordReference);
    RelayConfig c = new ConfigLoader(Map.<String, String>of()::get).parse(JSON.readTree(config), "rotation.json");
    relay = new Relay(c, Clock.systemUTC());
    relayUrl = "http://127.0.0.1:" + relay.start().getPort();
  }

  private int get() throws Exception {
    return http.send(
            HttpRequest.newBuilder(URI.create(relayUrl + "/v1/orders")).build(),
            HttpResponse.BodyHandlers.discarding())
        .statusCode();
  }

  /** Rotates at the third party, revokes the relay's token, and expects the next request to log in anew. */
  private void rotateAndExpectTheNewPasswordToBeUsed(Runnable rotateInStore) throws Exception {
    rotateAndExpectTheNewPasswordToBeUsed(rotateInStore, 2);
  }

  private void rotateAndExpectTheNewPasswordToBeUsed(Runnable rotateInStore, int loginsInAll) throws Exception {
    assertThat(get()).isEqualTo(200);
    assertThat(third.logins).hasValue(1);

    rotateInStore.run();
    third.expectedAuthstring = authstring("second-password");
    third.revokeAccessTokens();

    assertThat(get()).isEqualTo(200);
    assertThat(third.logins).hasValue(loginsInAll);
  }

  @Test
  void aPasswordRotatedInAMountedFileIsUsedAtTheNextLogin() throws Exception {
    Path password = Files.writeString(dir.resolve("password"), "first-password\n");
    startRelay("{}", "${file:" + password + "}");

    rotateAndExpectTheNewPasswordToBeUsed(
        () -> {
          try {
            Files.writeString(password, "second-password\n");
          } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        });
  }

  @Test
  void aPasswordRotatedInAwsSecretsManagerIsUsedAtTheNextLogin() throws Exception {
    try (SecretsManagerClient admin =
        SecretsManagerClient.builder()
            .endpointOverride(MOTO.endpoint())
            .region(Region.US_EAST_1)
            .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("test", "test")))
            .build()) {
      admin.createSecret(b -> b.name("relay/login").secretString("{\"password\":\"first-password\"}"));
      startRelay(
          "{ \"aws-sm\": { \"region\": \"us-east-1\", \"endpoint\": \"" + MOTO.endpoint() + "\" } }",
          "${aws-sm:relay/login#password}");

      rotateAndExpectTheNewPasswordToBeUsed(
          () -> admin.putSecretValue(b -> b.secretId("relay/login").secretString("{\"password\":\"second-password\"}")));
    }
  }

  @Test
  void withACachedPasswordARejectedLoginResolvesTheSecretsAgainOnce() throws Exception {
    Path password = Files.writeString(dir.resolve("password"), "first-password");
    startRelay("{ \"cacheSeconds\": 3600 }", "${file:" + password + "}");

    // The cache would keep serving the old password for an hour: the first login after the rotation is
    // rejected, and the relay re-reads the file and tries once more (three logins in all, not more).
    rotateAndExpectTheNewPasswordToBeUsed(
        () -> {
          try {
            Files.writeString(password, "second-password");
          } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        },
        3);
  }
}
