package io.oauth2relay.secrets.aws;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import io.oauth2relay.secrets.spi.SecretException;
import io.oauth2relay.secrets.spi.SecretProvider;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Answers moto_server cannot give (it does not enforce IAM, and never garbles a response), from a loopback
 * HTTP server that replays Secrets Manager's documented awsJson1.1 responses. A contract test of how the
 * provider maps them, not a test against AWS.
 */
class AwsSecretsManagerProviderErrorResponsesTest {

    private static final String CANARY = "canary-8d1f0c2e";

    private final AtomicReference<Reply> reply = new AtomicReference<>();
    private HttpServer server;
    private SecretProvider provider;
    private String savedAccessKeyId;
    private String savedSecretAccessKey;

    private record Reply(int status, String errorType, String body) {
    }

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            exchange.getRequestBody().readAllBytes();
            final Reply r = reply.get();
            final byte[] body = r.body().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/x-amz-json-1.1");
            exchange.getResponseHeaders().add("x-amzn-RequestId", "req-1234");
            if (r.errorType() != null) {
                exchange.getResponseHeaders().add("x-amzn-ErrorType", r.errorType());
            }
            exchange.sendResponseHeaders(r.status(), body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        savedAccessKeyId = System.getProperty("aws.accessKeyId");
        savedSecretAccessKey = System.getProperty("aws.secretAccessKey");
        System.setProperty("aws.accessKeyId", "test");
        System.setProperty("aws.secretAccessKey", "test");
        provider = new AwsSecretsManagerProviderFactory().create(Map.of("region", "us-east-1",
                "endpoint", "http://127.0.0.1:" + server.getAddress().getPort()));
    }

    @AfterEach
    void stop() {
        provider.close();
        server.stop(0);
        restore("aws.accessKeyId", savedAccessKeyId);
        restore("aws.secretAccessKey", savedSecretAccessKey);
    }

    @Test
    void accessDeniedNamesTheReferenceAndTheErrorCode() {
        reply.set(new Reply(400, "AccessDeniedException", "{\"__type\":\"AccessDeniedException\",\"message\":"
                + "\"User: arn:aws:iam::123456789012:user/relay is not authorized to perform: "
                + "secretsmanager:GetSecretValue\"}"));

        assertThatThrownBy(() -> provider.resolve("prod/db#password"))
                .isInstanceOf(SecretException.class)
                .hasMessage("prod/db#password: access denied "
                        + "(SecretsManagerException AccessDeniedException, HTTP 400, request id req-1234)");
    }

    @Test
    void aDecryptionFailureSaysKms() {
        reply.set(new Reply(400, "DecryptionFailure", "{\"__type\":\"DecryptionFailure\",\"message\":\"KMS\"}"));

        assertThatThrownBy(() -> provider.resolve("prod/db"))
                .isInstanceOf(SecretException.class)
                .hasMessageStartingWith("prod/db: cannot decrypt the secret with its KMS key (DecryptionFailureException");
    }

    @Test
    void aTruncatedSuccessfulResponseNeverLeaksItsValue() {
        reply.set(new Reply(200, null, "{\"Name\":\"prod/db\",\"SecretString\":\"{\\\"password\\\":\\\"" + CANARY));

        assertThatThrownBy(() -> provider.resolve("prod/db#password"))
                .isInstanceOf(SecretException.class)
                .hasMessageStartingWith("prod/db#password: request to AWS Secrets Manager failed (SdkClientException")
                .satisfies(e -> assertThat(fullText(e)).doesNotContain(CANARY));
    }

    @Test
    void aGarbledSuccessfulResponseIsNotAttachedBecauseTheSdkQuotesIt() {
        // The SDK's parser says "Unrecognized token '<the value>'": the provider must drop that message.
        reply.set(new Reply(200, null, "{\"Name\":\"prod/db\",\"SecretString\":" + CANARY + "}"));

        assertThatThrownBy(() -> provider.resolve("prod/db"))
                .isInstanceOf(SecretException.class)
                .hasMessageStartingWith("prod/db: request to AWS Secrets Manager failed (SdkClientException")
                .hasMessageEndingWith("; details withheld, the SDK's message may quote the response")
                .hasNoCause()
                .satisfies(e -> assertThat(fullText(e)).doesNotContain(CANARY));
    }

    @Test
    void aResponseWithNeitherStringNorBinaryIsRefused() {
        reply.set(new Reply(200, null, "{\"Name\":\"prod/db\",\"VersionId\":\"v1\"}"));

        assertThatThrownBy(() -> provider.resolve("prod/db"))
                .isInstanceOf(SecretException.class)
                .hasMessage("prod/db: the secret version has neither a SecretString nor a SecretBinary");
    }

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
