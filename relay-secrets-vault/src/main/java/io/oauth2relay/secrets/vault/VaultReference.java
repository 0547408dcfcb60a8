package io.oauth2relay.secrets.vault;

import io.oauth2relay.secrets.spi.SecretException;

/**
 * A parsed {@code vault} reference: which secret, which version of it, which key inside it.
 *
 * <pre>
 * reference = path [ "?version=" version ] "#" key
 * path      = mount 1*( "/" segment )          ; the first segment is the mount
 * mount     = segment
 * segment   = 1*( ALPHA / DIGIT / "-" / "_" / "." ) ; but not "." or ".."
 * version   = a positive decimal integer          ; KV v2 only
 * key       = 1*( any character but "#", "?" and control characters )
 * </pre>
 *
 * <p>The path is the <em>logical</em> path, the one {@code vault kv get} takes: for KV v2 it never contains
 * the {@code data/} segment, which the driver inserts after the mount ({@code secret/app/db} is read from
 * {@code GET /v1/secret/data/app/db}); for KV v1 it is the API path as is. The mount is one segment: a
 * mount such as {@code team/kv} is not supported. The version goes before the key, where a URL puts its
 * query: {@code secret/app/db?version=3#password}.
 *
 * <p>Segments are restricted to a safe set on purpose: the driver pastes the path into a URL, so
 * {@code ..}, {@code %}, spaces or {@code ?} would reach Vault as something else than what was written.
 *
 * @param path the logical path, for example {@code secret/app/db}
 * @param version the KV v2 version to read, or {@code null} for the latest
 * @param key the key inside the secret's data, for example {@code password}
 */
record VaultReference(String path, Integer version, String key) {

    static final String GRAMMAR = "<mount>/<path>[?version=N]#<key>";

    private static final String VERSION_PREFIX = "version=";
    private static final int MAX_VERSION_DIGITS = 9;

    /**
     * Parses a reference.
     *
     * @param reference the part of {@code ${vault:...}} after the scheme
     * @return the parsed reference
     * @throws SecretException if the reference does not follow the grammar; the message names the
     *     reference, which holds no secret
     */
    static VaultReference parse(String reference) {
        final int hash = reference.indexOf('#');
        if (hash < 0 || hash != reference.lastIndexOf('#')) {
            throw malformed(reference, "expected exactly one '#' before the key");
        }
        String path = reference.substring(0, hash);
        final String key = reference.substring(hash + 1);
        if (key.indexOf('?') >= 0) {
            throw malformed(reference, "put ?version=N before #<key>");
        }
        if (key.isEmpty() || key.chars().anyMatch(Character::isISOControl)) {
            throw malformed(reference, "the key is empty or has control characters");
        }

        Integer version = null;
        final int question = path.indexOf('?');
        if (question >= 0) {
            version = parseVersion(reference, path.substring(question + 1));
            path = path.substring(0, question);
        }

        final String[] segments = path.split("/", -1);
        if (segments.length < 2) {
            throw malformed(reference, "the path needs a mount and at least one more segment");
        }
        for (String segment : segments) {
            if (!isSafeSegment(segment)) {
                throw malformed(reference,
                        "path segments are letters, digits, '-', '_' and '.', not empty, '.' or '..'");
            }
        }
        return new VaultReference(path, version, key);
    }

    /** Returns the mount, the first segment of the path. */
    String mount() {
        return path.substring(0, path.indexOf('/'));
    }

    /** Returns whether the second segment is {@code data}, a hint that a KV v2 API path was written. */
    boolean looksLikeApiPath() {
        final String[] segments = path.split("/");
        return segments.length > 2 && segments[1].equals("data");
    }

    static boolean isSafeSegment(String segment) {
        if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
            return false;
        }
        for (int i = 0; i < segment.length(); i++) {
            final char c = segment.charAt(i);
            final boolean safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '-' || c == '_' || c == '.';
            if (!safe) {
                return false;
            }
        }
        return true;
    }

    private static Integer parseVersion(String reference, String query) {
        if (!query.startsWith(VERSION_PREFIX)) {
            throw malformed(reference, "the only query parameter is version=N");
        }
        final String digits = query.substring(VERSION_PREFIX.length());
        if (digits.isEmpty() || digits.length() > MAX_VERSION_DIGITS
                || !digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw malformed(reference, "version must be a positive integer");
        }
        final int version = Integer.parseInt(digits);
        if (version < 1) {
            throw malformed(reference, "version must be a positive integer");
        }
        return version;
    }

    private static SecretException malformed(String reference, String why) {
        return new SecretException(reference + ": malformed vault reference, " + why
                + " (expected: " + GRAMMAR + ")");
    }
}
