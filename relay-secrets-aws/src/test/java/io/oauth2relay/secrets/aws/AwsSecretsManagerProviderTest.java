package io.oauth2relay.secrets.aws;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.oauth2relay.secrets.spi.Secret;
import io.oauth2relay.secrets.spi.SecretException;
import io.oauth2relay.secrets.spi.SecretProvider;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerClient;

/**
 * The provider against a real {@code moto_server}. The provider under test gets its credentials from the
 * SDK's default chain (system properties {@code aws.accessKeyId}/{@code aws.secretAccessKey}, set here),
 * exactly as it would in production; the admin client that creates the secrets uses static ones.
 */
class AwsSecretsManagerProviderTest {

    @RegisterExtension
    static final MotoServerExtension moto = new MotoServerExtension();

    // A value that must never show up in a message, a stack trace or a toString().
    private static final String CANARY = "canary-" + UUID.randomUUID();

    private static SecretsManagerClient admin;
    private static String savedAccessKeyId;
    private static String savedSecretAccessKey;

    private SecretProvider provider;

    @BeforeAll
    static void credentialsAndAdminClient() {
        savedAccessKeyId = System.getProperty("aws.accessKeyId");
        savedSecretAccessKey = System.getProperty("aws.secretAccessKey");
        System.setProperty("aws.accessKeyId", "test");
        System.setProperty("aws.secretAccessKey", "test");
        admin = SecretsManagerClient.builder()
                .httpClientBuilder(UrlConnectionHttpClient.builder())
                .region(Region.US_EAST_1)
                .endpointOverride(moto.endpoint())
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("test", "test")))
                .build();
    }

    @AfterAll
    static void closeAdminClient() {
        if (admin != null) {
            admin.close();
        }
        restore("aws.accessKeyId", savedAccessKeyId);
        restore("aws.secretAccessKey", savedSecretAccessKey);
    }

    @BeforeEach
    void createProvider() {
        provider = new AwsSecretsManagerProviderFactory()
                .create(Map.of("region", "us-east-1", "endpoint", moto.endpoint().toString()));
    }

    @AfterEach
    void closeProvider() {
        provider.close();
    }

    @Test
    void resolvesAPlainSecretStringAsIs() {
        admin.createSecret(b -> b.name("app/api-key").secretString("plain value with spaces and {braces"));

        assertThat(reveal(provider.resolve("app/api-key"))).isEqualTo("plain value with spaces and {braces");
    }

    @Test
    void selectsATopLevelStringFieldOfAJsonSecret() {
        admin.createSecret(b -> b.name("prod/db").secretString("{\"username\":\"relay\",\"password\":\"p\\u00e4ss\\\"word\"}"));

        assertThat(reveal(provider.resolve("prod/db#password"))).isEqualTo("päss\"word");
        assertThat(reveal(provider.resolve("prod/db#username"))).isEqualTo("relay");
    }

    @Test
    void selectsATopLevelNumberFieldAsWritten() {
        admin.createSecret(b -> b.name("prod/db").secretString("{\"port\": 5432, \"ratio\": -1.5e3}"));

        assertThat(reveal(provider.resolve("prod/db#port"))).isEqualTo("5432");
        assertThat(reveal(provider.resolve("prod/db#ratio"))).isEqualTo("-1.5e3");
    }

    @Test
    void withoutAKeyAJsonSecretResolvesToTheWholeDocument() {
        admin.createSecret(b -> b.name("prod/db").secretString("{\"password\":\"x\"}"));

        assertThat(reveal(provider.resolve("prod/db"))).isEqualTo("{\"password\":\"x\"}");
    }

    @Test
    void resolvesByArn() {
        final String arn = admin.createSecret(b -> b.name("prod/db").secretString("{\"password\":\"by-arn\"}")).arn();

        assertThat(arn).startsWith("arn:aws:secretsmanager:us-east-1:");
        assertThat(reveal(provider.resolve(arn + "#password"))).isEqualTo("by-arn");
    }

    @Test
    void theNextResolveSeesARotatedValue() {
        admin.createSecret(b -> b.name("prod/db").secretString("{\"password\":\"first\"}"));
        assertThat(reveal(provider.resolve("prod/db#password"))).isEqualTo("first");

        admin.putSecretValue(b -> b.secretId("prod/db").secretString("{\"password\":\"second\"}"));

        assertThat(reveal(provider.resolve("prod/db#password"))).isEqualTo("second");
    }

    @Test
    void versionStageAwsPreviousResolvesTheValueBeforeARotation() {
        admin.createSecret(b -> b.name("prod/db").secretString("{\"password\":\"first\"}"));
        admin.putSecretValue(b -> b.secretId("prod/db").secretString("{\"password\":\"second\"}"));

        assertThat(reveal(provider.resolve("prod/db?versionStage=AWSPREVIOUS#password"))).isEqualTo("first");
        assertThat(reveal(provider.resolve("prod/db?versionStage=AWSCURRENT#password"))).isEqualTo("second");
    }

    @Test
    void versionIdResolvesThatVersion() {
        final String firstId = admin.createSecret(b -> b.name("prod/db").secretString("first")).versionId();
        admin.putSecretValue(b -> b.secretId("prod/db").secretString("second"));

        assertThat(reveal(provider.resolve("prod/db?versionId=" + firstId))).isEqualTo("first");
    }

    @Test
    void decodesASecretBinaryAsUtf8() {
        admin.createSecret(b -> b.name("tls/key-pass")
                .secretBinary(SdkBytes.fromByteArray("bin\u00e4ry \u20ac".getBytes(StandardCharsets.UTF_8))));

        assertThat(reveal(provider.resolve("tls/key-pass"))).isEqualTo("bin\u00e4ry \u20ac");
    }

    @Test
    void selectsAFieldOfAJsonSecretBinary() {
        admin.createSecret(b -> b.name("prod/db").secretBinary(SdkBytes.fromUtf8String("{\"password\":\"in-binary\"}")));

        assertThat(reveal(provider.resolve("prod/db#password"))).isEqualTo("in-binary");
    }

    @Test
    void refusesASecretBinaryThatIsNotUtf8() {
        admin.createSecret(b -> b.name("tls/raw").secretBinary(SdkBytes.fromByteArray(new byte[] {(byte) 0xC3, 0x28})));

        assertThatThrownBy(() -> provider.resolve("tls/raw"))
                .isInstanceOf(SecretException.class)
                .hasMessage("tls/raw: the SecretBinary is not valid UTF-8");
    }

    @Test
    void aMissingSecretNamesTheSecretAndTheFailureClass() {
        admin.createSecret(b -> b.name("prod/db").secretString("{\"password\":\"" + CANARY + "\"}"));

        assertThatThrownBy(() -> provider.resolve("prod/nope#password"))
                .isInstanceOf(SecretException.class)
                .hasMessageStartingWith("prod/nope#password: secret or version not found (ResourceNotFoundException")
                .satisfies(e -> assertThat(fullText(e)).doesNotContain(CANARY));
    }

    @Test
    void aMissingVersionStageIsNotFound() {
        admin.createSecret(b -> b.name("prod/db").secretString(CANARY));

        assertThatThrownBy(() -> provider.resolve("prod/db?versionStage=AWSPREVIOUS"))
                .isInstanceOf(SecretException.class)
                .hasMessageStartingWith("prod/db?versionStage=AWSPREVIOUS: secret or version not found")
                .satisfies(e -> assertThat(fullText(e)).doesNotContain(CANARY));
    }

    @Test
    void aMissingJsonKeyNamesTheKey() {
        admin.createSecret(b -> b.name("prod/db").secretString("{\"password\":\"" + CANARY + "\"}"));

        assertThatThrownBy(() -> provider.resolve("prod/db#passwd"))
                .isInstanceOf(SecretException.class)
                .hasMessage("prod/db#passwd: no top-level key \"passwd\" in the secret's JSON object")
                .satisfies(e -> assertThat(fullText(e)).doesNotContain(CANARY));
    }

    @Test
    void aKeyOnASecretThatIsNotJsonSaysSo() {
        admin.createSecret(b -> b.name("app/api-key").secretString(CANARY));

        assertThatThrownBy(() -> provider.resolve("app/api-key#password"))
                .isInstanceOf(SecretException.class)
                .hasMessage("app/api-key#password: the secret value is not a JSON object, "
                        + "so key \"password\" cannot be selected");
    }

    @Test
    void aKeyHoldingAnObjectIsRefused() {
        admin.createSecret(b -> b.name("prod/db").secretString("{\"password\":{\"v\":\"" + CANARY + "\"}}"));

        assertThatThrownBy(() -> provider.resolve("prod/db#password"))
                .isInstanceOf(SecretException.class)
                .hasMessage("prod/db#password: key \"password\" holds neither a string nor a number");
    }

    @Test
    void anUnreachableEndpointNamesTheReferenceAndTheFailureClass() throws IOException {
        final int closedPort;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = socket.getLocalPort();
        }
        try (SecretProvider unreachable = new AwsSecretsManagerProviderFactory()
                .create(Map.of("region", "us-east-1", "endpoint", "http://127.0.0.1:" + closedPort))) {
            assertThatThrownBy(() -> unreachable.resolve("prod/db#password"))
                    .isInstanceOf(SecretException.class)
                    .hasMessageStartingWith("prod/db#password: request to AWS Secrets Manager failed (SdkClientException")
                    .hasMessageContaining("ConnectException")
                    .hasCauseInstanceOf(SdkClientException.class);
        }
    }

    @Test
    void aCanaryValueNeverAppearsInAnExceptionOrAToString() {
        admin.createSecret(b -> b.name("canary/json").secretString("{\"a\":\"" + CANARY + "\",\"n\":null,\"o\":{}}"));
        admin.createSecret(b -> b.name("canary/text").secretString(CANARY));
        admin.createSecret(b -> b.name("canary/broken").secretString("{\"a\":\"" + CANARY + "\""));
        admin.createSecret(b -> b.name("canary/twice").secretString("{\"a\":\"" + CANARY + "\",\"a\":\"" + CANARY + "\"}"));

        final List<String> texts = new ArrayList<>();
        for (String reference : List.of("canary/json#b", "canary/json#n", "canary/json#o", "canary/text#a",
                "canary/broken#a", "canary/twice#a", "canary/nope#a", "canary/json?versionId=nope#a",
                "canary/json?bogus=1#a", "#a")) {
            try {
                provider.resolve(reference).destroy();
                texts.add("resolved " + reference);
            } catch (SecretException e) {
                texts.add(fullText(e));
            }
        }
        final Secret secret = provider.resolve("canary/json#a");
        texts.add(secret.toString());
        texts.add(provider.toString());

        assertThat(texts).hasSize(12).noneMatch(text -> text.contains(CANARY)).noneMatch(text -> text.startsWith("resolved"));
        assertThat(reveal(secret)).isEqualTo(CANARY);
    }

    @Test
    void resolveAfterCloseIsRefused() {
        provider.close();
        provider.close();

        assertThatThrownBy(() -> provider.resolve("prod/db")).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void toStringNamesTheSchemeRegionAndEndpoint() {
        assertThat(provider.toString())
                .isEqualTo("AwsSecretsManagerProvider[aws-sm, region=us-east-1, endpoint=" + moto.endpoint() + "]");
    }

    // Tests only: a String copy of a secret is exactly what production code avoids.
    private static String reveal(Secret secret) {
        try (secret) {
            return secret.apply(String::new);
        }
    }

    // Message, causes and stack traces: everything a log would show.
    private static String fullText(Throwable e) {
        final StringWriter out = new StringWriter();
        e.printStackTrace(new PrintWriter(out));
        return out.toString();
    }

    private static void restore(String property, String value) {
        if (value == null) {
            System.clearProperty(property);
        } else {
            System.setProperty(property, value);
        }
    }
}
