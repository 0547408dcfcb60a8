package io.oauth2relay.secrets.aws;

import io.oauth2relay.secrets.spi.SecretException;

/**
 * A parsed {@code aws-sm} reference. The grammar is documented on {@link AwsSecretsManagerProvider}:
 *
 * <pre>
 * reference = secret-id [ "?" version ] [ "#" json-key ]
 * version   = "versionStage=" stage / "versionId=" id
 * </pre>
 *
 * <p>It splits without ambiguity because Secrets Manager allows neither {@code ?} nor {@code #} in a secret
 * name (names take {@code A-Za-z0-9/_+=.@-}; ARNs add {@code :}), and the version part ends at the first
 * {@code #}; the JSON key is everything after that {@code #}, so a key may itself contain {@code ?} or
 * {@code #}.
 */
final class SecretReference {

    private static final String VERSION_STAGE = "versionStage=";
    private static final String VERSION_ID = "versionId=";

    private final String text;
    private final String secretId;
    private final String versionStage;
    private final String versionId;
    private final String jsonKey;

    private SecretReference(
            String text, String secretId, String versionStage, String versionId, String jsonKey) {
        this.text = text;
        this.secretId = secretId;
        this.versionStage = versionStage;
        this.versionId = versionId;
        this.jsonKey = jsonKey;
    }

    /**
     * Parses a reference.
     *
     * @throws SecretException if it does not follow the grammar; the message names the reference
     */
    static SecretReference parse(String text) {
        final int hash = text.indexOf('#');
        final String beforeKey = hash < 0 ? text : text.substring(0, hash);
        final String jsonKey = hash < 0 ? null : text.substring(hash + 1);
        final int question = beforeKey.indexOf('?');
        final String secretId = question < 0 ? beforeKey : beforeKey.substring(0, question);
        final String version = question < 0 ? null : beforeKey.substring(question + 1);

        if (secretId.isBlank()) {
            throw malformed(text, "empty secret name or ARN");
        }
        if (!secretId.strip().equals(secretId)) {
            throw malformed(text, "secret name or ARN has leading or trailing spaces");
        }
        if (jsonKey != null && jsonKey.isEmpty()) {
            throw malformed(text, "empty JSON key after '#'");
        }
        String versionStage = null;
        String versionId = null;
        if (version != null) {
            if (version.startsWith(VERSION_STAGE)) {
                versionStage = version.substring(VERSION_STAGE.length());
            } else if (version.startsWith(VERSION_ID)) {
                versionId = version.substring(VERSION_ID.length());
            } else {
                throw malformed(text,
                        "unknown version selector (expected: ?versionStage=STAGE or ?versionId=ID)");
            }
            final String value = versionStage != null ? versionStage : versionId;
            if (value.isEmpty() || value.indexOf('&') >= 0 || value.indexOf('=') >= 0) {
                throw malformed(text, "expected exactly one version selector with a non-empty value "
                        + "(?versionStage=STAGE or ?versionId=ID)");
            }
        }
        return new SecretReference(text, secretId, versionStage, versionId, jsonKey);
    }

    private static SecretException malformed(String text, String why) {
        return new SecretException(text + ": malformed aws-sm reference: " + why);
    }

    /** The secret's name or ARN, as given. */
    String secretId() {
        return secretId;
    }

    /** The staging label to read, or {@code null} for the SDK's default ({@code AWSCURRENT}). */
    String versionStage() {
        return versionStage;
    }

    /** The version id to read, or {@code null}. */
    String versionId() {
        return versionId;
    }

    /** The top-level JSON field to select, or {@code null} for the whole value. */
    String jsonKey() {
        return jsonKey;
    }

    /** The reference as written: safe for messages, it carries no value. */
    @Override
    public String toString() {
        return text;
    }
}
