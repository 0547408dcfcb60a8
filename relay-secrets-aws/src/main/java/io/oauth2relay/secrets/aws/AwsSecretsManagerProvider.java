package io.oauth2relay.secrets.aws;

import static java.util.Objects.requireNonNull;

import io.oauth2relay.secrets.spi.Secret;
import io.oauth2relay.secrets.spi.SecretException;
import io.oauth2relay.secrets.spi.SecretProvider;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerClient;
import software.amazon.awssdk.services.secretsmanager.model.DecryptionFailureException;
import software.amazon.awssdk.services.secretsmanager.model.GetSecretValueRequest;
import software.amazon.awssdk.services.secretsmanager.model.GetSecretValueResponse;
import software.amazon.awssdk.services.secretsmanager.model.ResourceNotFoundException;

/**
 * Resolves {@code aws-sm} references against AWS Secrets Manager ({@code GetSecretValue}). Created by
 * {@link AwsSecretsManagerProviderFactory}.
 *
 * <h2>Reference grammar</h2>
 *
 * <pre>
 * reference = secret-id [ "?" version ] [ "#" json-key ]
 * secret-id = a secret name or a full secret ARN, as Secrets Manager takes it
 * version   = "versionStage=" stage      ; a staging label, e.g. AWSPREVIOUS (default: AWSCURRENT)
 *           / "versionId=" version-id    ; a version id (a UUID for versions Secrets Manager made)
 * json-key  = any non-empty text         ; a top-level field of the secret's JSON object
 * </pre>
 *
 * <p>For example {@code prod/db}, {@code prod/db#password}, {@code prod/db?versionStage=AWSPREVIOUS#password}
 * or {@code arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf#password}. The order is the
 * one of a URL (query, then fragment), and it splits without ambiguity: Secrets Manager allows neither
 * {@code ?} nor {@code #} in a name or an ARN, the version part ends at the first {@code #}, and the JSON
 * key is everything after it (so a key may contain {@code ?} or {@code #}). Nothing is percent-decoded. At
 * most one version selector is allowed.
 *
 * <h2>Values</h2>
 *
 * <ul>
 *   <li>Without a JSON key, the whole value: the {@code SecretString} as is, or the {@code SecretBinary}
 *       decoded as UTF-8 (malformed UTF-8 is refused rather than replaced, since it would resolve to a
 *       different secret than the one stored).
 *   <li>With a JSON key, the value must be a JSON object (a {@code SecretString}, or a {@code SecretBinary}
 *       holding UTF-8 JSON) and the field must be a string (its decoded characters) or a number (its text
 *       as written, e.g. {@code 5432}). Only top-level fields can be selected; nested objects, arrays,
 *       booleans and {@code null} are refused.
 * </ul>
 *
 * <h2>Failures</h2>
 *
 * <p>{@link #resolve(String)} throws {@link SecretException} for a malformed reference, a missing secret or
 * version, a missing JSON key, a value that is not JSON when a key is given, access denied, and a backend
 * that cannot be reached. The message starts with the reference (so it names the secret and the key) and
 * ends with the failure class (for example {@code ResourceNotFoundException, HTTP 400}); it never contains
 * the value. The SDK's exception is attached as the cause when it describes an error response or a request
 * that got no response (connection refused, timeout, TLS, no credentials); when it comes from a response
 * the SDK could not parse, it is withheld, because the SDK's parser quotes the text it choked on.
 *
 * <h2>Threads</h2>
 *
 * <p>Thread-safe: the only state is the SDK's {@code SecretsManagerClient}, which is thread-safe, and a
 * closed flag. {@code resolve} blocks on one HTTPS round trip (plus the SDK's retries), so it must not run
 * on an event loop. {@link #close()} closes the client and its HTTP client; it is idempotent.
 */
public final class AwsSecretsManagerProvider implements SecretProvider {

    private final SecretsManagerClient client;
    private final String description;
    private final AtomicBoolean closed = new AtomicBoolean();

    AwsSecretsManagerProvider(SecretsManagerClient client, String description) {
        this.client = requireNonNull(client, "client");
        this.description = requireNonNull(description, "description");
    }

    /**
     * Returns the value {@code reference} points to; see the class documentation for the grammar.
     *
     * @param reference {@code secret-id [?versionStage=STAGE | ?versionId=ID] [#json-key]}
     * @return a new secret, which the caller destroys
     * @throws SecretException if the value cannot be resolved; the message names the reference and the
     *     failure, never the value
     * @throws IllegalStateException if this provider has been closed
     */
    @Override
    public Secret resolve(String reference) {
        requireNonNull(reference, "reference");
        if (closed.get()) {
            throw new IllegalStateException("aws-sm provider closed");
        }
        final SecretReference ref = SecretReference.parse(reference);
        final GetSecretValueRequest.Builder request =
                GetSecretValueRequest.builder().secretId(ref.secretId());
        if (ref.versionStage() != null) {
            request.versionStage(ref.versionStage());
        }
        if (ref.versionId() != null) {
            request.versionId(ref.versionId());
        }

        final GetSecretValueResponse response;
        try {
            response = client.getSecretValue(request.build());
        } catch (ResourceNotFoundException e) {
            // Also what Secrets Manager answers for an unknown version id or staging label.
            throw failure(ref, "secret or version not found", e);
        } catch (DecryptionFailureException e) {
            throw failure(ref, "cannot decrypt the secret with its KMS key", e);
        } catch (AwsServiceException e) {
            if (e.statusCode() == 403 || isAccessDenied(errorCode(e))) {
                throw failure(ref, "access denied", e);
            }
            throw failure(ref, "refused by AWS Secrets Manager", e);
        } catch (SdkException e) {
            // SdkClientException and kin: no response (unreachable endpoint, timeout, TLS), or no request
            // at all (no credentials found).
            throw failure(ref, "request to AWS Secrets Manager failed", e);
        }
        return valueOf(ref, response);
    }

    private static Secret valueOf(SecretReference ref, GetSecretValueResponse response) {
        // The SDK hands SecretString out as a String (and parsed it from a String body): that copy cannot
        // be zeroed, and stays on the heap until collected. We copy it into a Secret (or select one field
        // into a char[]) and drop our reference to it as soon as this method returns.
        final String string = response.secretString();
        if (string != null) {
            return ref.jsonKey() == null ? Secret.copyOf(string) : select(ref, string);
        }
        final SdkBytes binary = response.secretBinary();
        if (binary != null) {
            // asByteArrayUnsafe() returns the SDK's own array rather than a copy, so zeroing it below wipes
            // the decoded bytes the response holds. The base64 text they came from is, again, a String.
            final byte[] bytes = binary.asByteArrayUnsafe();
            char[] chars = null;
            try {
                chars = decodeUtf8(ref, bytes);
                return ref.jsonKey() == null ? Secret.of(chars) : select(ref, CharBuffer.wrap(chars));
            } finally {
                Arrays.fill(bytes, (byte) 0);
                if (chars != null) {
                    Arrays.fill(chars, '\0');
                }
            }
        }
        throw new SecretException(ref + ": the secret version has neither a SecretString nor a SecretBinary");
    }

    private static Secret select(SecretReference ref, CharSequence json) {
        final String key = ref.jsonKey();
        final char[] value;
        try {
            value = JsonField.select(json, key);
        } catch (JsonField.SelectionException e) {
            // Not attached as a cause: it adds nothing to the message, which already says it all.
            throw new SecretException(ref + ": " + describe(e.failure(), key));
        }
        try {
            return Secret.of(value);
        } finally {
            Arrays.fill(value, '\0');
        }
    }

    private static String describe(JsonField.Failure failure, String key) {
        switch (failure) {
            case NOT_A_JSON_OBJECT:
                return "the secret value is not a JSON object, so key \"" + key + "\" cannot be selected";
            case NO_SUCH_KEY:
                return "no top-level key \"" + key + "\" in the secret's JSON object";
            case DUPLICATE_KEY:
                return "key \"" + key + "\" appears more than once in the secret's JSON object";
            case NOT_A_STRING_OR_NUMBER:
                return "key \"" + key + "\" holds neither a string nor a number";
            default:
                throw new AssertionError(failure);
        }
    }

    // Decodes into an array of exactly the decoded length; the scratch buffer is zeroed.
    private static char[] decodeUtf8(SecretReference ref, byte[] bytes) {
        final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        // UTF-8 never decodes to more chars than it has bytes, so the buffer never has to grow (a grown
        // buffer would leave an unzeroed copy behind).
        final char[] buffer = new char[bytes.length];
        try {
            final CharBuffer out = CharBuffer.wrap(buffer);
            CoderResult result = decoder.decode(ByteBuffer.wrap(bytes), out, true);
            if (!result.isError()) {
                result = decoder.flush(out);
            }
            if (result.isError()) {
                // Not result.throwException(): nothing about the bytes goes into the message.
                throw new SecretException(ref + ": the SecretBinary is not valid UTF-8");
            }
            return Arrays.copyOf(buffer, out.position());
        } finally {
            Arrays.fill(buffer, '\0');
        }
    }

    private static boolean isAccessDenied(String errorCode) {
        return errorCode != null
                && (errorCode.equals("AccessDeniedException") || errorCode.equals("AccessDenied"));
    }

    private static String errorCode(AwsServiceException e) {
        return e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode();
    }

    private static SecretException failure(SecretReference ref, String what, SdkException e) {
        final String message = ref + ": " + what + " (" + failureClass(e) + ")";
        if (carriesNoResponseBody(e)) {
            return new SecretException(message, e);
        }
        // The SDK quotes what it could not parse: "Unable to unmarshall response (... Unrecognized token
        // 'the value' ...)". Such an exception stays out of the message and out of the cause chain.
        return new SecretException(message + "; details withheld, the SDK's message may quote the response");
    }

    /**
     * Whether {@code e}, its causes and its suppressed exceptions (the SDK attaches one per failed attempt)
     * are all either SDK exceptions or the JDK's own I/O exceptions (refused connection, unknown host,
     * timeout, TLS): these describe an error response or a request that got none, never a response body.
     * Anything else, such as the JSON parser's exceptions, may quote the body, which may hold the value.
     */
    static boolean carriesNoResponseBody(Throwable e) {
        final Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        final Deque<Throwable> todo = new ArrayDeque<>();
        todo.push(e);
        while (!todo.isEmpty()) {
            final Throwable t = todo.pop();
            if (!seen.add(t)) {
                continue;
            }
            if (seen.size() > 64 || !isSafeKind(t)) {
                return false;
            }
            if (t.getCause() != null) {
                todo.push(t.getCause());
            }
            for (Throwable suppressed : t.getSuppressed()) {
                todo.push(suppressed);
            }
        }
        return true;
    }

    private static boolean isSafeKind(Throwable t) {
        final String name = t.getClass().getName();
        if (t instanceof SdkException) {
            return name.startsWith("software.amazon.awssdk.") && !name.contains(".thirdparty.");
        }
        return t instanceof IOException && (name.startsWith("java.") || name.startsWith("javax."));
    }

    // "ResourceNotFoundException, HTTP 400, request id ..." or "SdkClientException <- ConnectException".
    static String failureClass(SdkException e) {
        final StringBuilder sb = new StringBuilder(e.getClass().getSimpleName());
        if (e instanceof AwsServiceException) {
            final AwsServiceException service = (AwsServiceException) e;
            final String code = errorCode(service);
            if (code != null && !code.equals(e.getClass().getSimpleName())) {
                sb.append(' ').append(code);
            }
            sb.append(", HTTP ").append(service.statusCode());
            if (service.requestId() != null) {
                sb.append(", request id ").append(service.requestId());
            }
        } else {
            // The chain of causes by class only: enough to tell a refused connection from an unknown host
            // or a timeout; the full story is in the attached cause.
            Throwable cause = e.getCause();
            for (int depth = 0; cause != null && depth < 4; depth++, cause = cause.getCause()) {
                sb.append(" <- ").append(cause.getClass().getSimpleName());
            }
        }
        return sb.toString();
    }

    /** Closes the SDK client and its HTTP client. Idempotent. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            client.close();
        }
    }

    /** Returns the scheme and the region and endpoint in use; never anything secret. */
    @Override
    public String toString() {
        return "AwsSecretsManagerProvider[" + description + "]";
    }
}
