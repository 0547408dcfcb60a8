package io.oauth2relay.secrets.vault;

import static java.util.Objects.requireNonNull;

import io.oauth2relay.secrets.spi.Secret;
import io.oauth2relay.secrets.spi.SecretProvider;
import io.oauth2relay.secrets.spi.SecretProviderFactory;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Creates the {@code vault} secret provider, which reads HashiCorp Vault's KV engine through the
 * {@code io.github.jopenlibs:vault-java-driver}.
 *
 * <p>Settings (every other key is refused, so that typos surface at start-up):
 * <table>
 *   <caption>vault provider settings</caption>
 *   <tr><th>key</th><th>meaning</th></tr>
 *   <tr><td>{@code address}</td><td>required: {@code https://vault.example:8200} (or {@code http://})</td></tr>
 *   <tr><td>{@code auth}</td><td>{@code token} (default), {@code approle} or {@code kubernetes}</td></tr>
 *   <tr><td>{@code token}</td><td>auth=token: the Vault token</td></tr>
 *   <tr><td>{@code roleId}, {@code secretId}</td><td>auth=approle: the credentials</td></tr>
 *   <tr><td>{@code approlePath}</td><td>auth=approle: the auth mount, default {@code approle}</td></tr>
 *   <tr><td>{@code role}</td><td>auth=kubernetes: the Vault role</td></tr>
 *   <tr><td>{@code jwtFile}</td><td>auth=kubernetes: default
 *       {@code /var/run/secrets/kubernetes.io/serviceaccount/token}</td></tr>
 *   <tr><td>{@code kubernetesPath}</td><td>auth=kubernetes: the auth mount, default {@code kubernetes}</td></tr>
 *   <tr><td>{@code namespace}</td><td>Vault Enterprise namespace ({@code X-Vault-Namespace})</td></tr>
 *   <tr><td>{@code kvVersion}</td><td>{@code 1} or {@code 2} (default), for every mount</td></tr>
 *   <tr><td>{@code caFile}</td><td>https only: a PEM bundle; when set, only these CAs are trusted</td></tr>
 *   <tr><td>{@code timeoutSeconds}</td><td>connect and request timeout, 1 to 300, default 10</td></tr>
 * </table>
 *
 * <p>Vault's own environment variables ({@code VAULT_ADDR}, {@code VAULT_TOKEN}, {@code ~/.vault-token},
 * {@code VAULT_SSL_*}) are deliberately ignored: the driver would read them behind the configuration's
 * back. Put {@code ${env:VAULT_TOKEN}} in the configuration to use one.
 *
 * <p>{@link #create(Map)} logs in (or, with a token, looks it up) before it returns, so bad credentials
 * fail at start-up.
 */
public final class VaultProviderFactory implements SecretProviderFactory {

    static final String ADDRESS = "address";
    static final String AUTH = "auth";
    static final String TOKEN = "token";
    static final String ROLE_ID = "roleId";
    static final String SECRET_ID = "secretId";
    static final String APPROLE_PATH = "approlePath";
    static final String ROLE = "role";
    static final String JWT_FILE = "jwtFile";
    static final String KUBERNETES_PATH = "kubernetesPath";
    static final String NAMESPACE = "namespace";
    static final String KV_VERSION = "kvVersion";
    static final String CA_FILE = "caFile";
    static final String TIMEOUT_SECONDS = "timeoutSeconds";

    static final String DEFAULT_JWT_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/token";
    static final int DEFAULT_TIMEOUT_SECONDS = 10;
    static final int MAX_TIMEOUT_SECONDS = 300;

    private static final Set<String> KNOWN_KEYS = Set.of(ADDRESS, AUTH, TOKEN, ROLE_ID, SECRET_ID, APPROLE_PATH,
            ROLE, JWT_FILE, KUBERNETES_PATH, NAMESPACE, KV_VERSION, CA_FILE, TIMEOUT_SECONDS);

    // Settings that belong to one auth method: given with another, they are a mistake worth reporting.
    private static final Map<String, String> AUTH_OF_KEY = Map.of(
            TOKEN, "token",
            ROLE_ID, "approle", SECRET_ID, "approle", APPROLE_PATH, "approle",
            ROLE, "kubernetes", JWT_FILE, "kubernetes", KUBERNETES_PATH, "kubernetes");

    /** The no-arg constructor {@link java.util.ServiceLoader} needs; does nothing. */
    public VaultProviderFactory() {
    }

    @Override
    public String name() {
        return "vault";
    }

    /**
     * Validates the settings, authenticates to Vault and returns a provider that keeps its token alive.
     *
     * @throws IllegalArgumentException if a setting is missing, unknown or invalid; the message names the
     *     key, never the value
     * @throws io.oauth2relay.secrets.spi.SecretException if Vault cannot be reached or refuses the login
     */
    @Override
    public SecretProvider create(Map<String, String> config) {
        requireNonNull(config, "config");
        return new VaultProvider(parse(config));
    }

    static VaultSettings parse(Map<String, String> config) {
        final Map<String, String> settings = new HashMap<>();
        config.forEach((key, value) -> {
            if (!KNOWN_KEYS.contains(key)) {
                throw new IllegalArgumentException(
                        key + ": unknown vault setting (expected one of " + new TreeSet<>(KNOWN_KEYS) + ")");
            }
            // Blank counts as absent, so that an unset ${env:...} reads as "missing", not as "invalid".
            if (value != null && !value.isBlank()) {
                settings.put(key, value);
            }
        });

        final URI address = address(required(settings, ADDRESS));
        final String authName = settings.getOrDefault(AUTH, "token").strip();
        if (!Set.of("token", "approle", "kubernetes").contains(authName)) {
            throw new IllegalArgumentException(AUTH + ": expected token, approle or kubernetes");
        }
        for (String key : settings.keySet()) {
            final String owner = AUTH_OF_KEY.get(key);
            if (owner != null && !owner.equals(authName)) {
                throw new IllegalArgumentException(key + ": only used with auth=" + owner);
            }
        }
        final VaultAuth auth = auth(authName, settings);

        final String namespace = settings.containsKey(NAMESPACE)
                ? mountPath(NAMESPACE, settings.get(NAMESPACE)) : null;
        final int kvVersion = intSetting(settings, KV_VERSION, 2, 1, 2, "expected 1 or 2");
        final int timeoutSeconds = intSetting(settings, TIMEOUT_SECONDS, DEFAULT_TIMEOUT_SECONDS, 1,
                MAX_TIMEOUT_SECONDS, "expected whole seconds from 1 to " + MAX_TIMEOUT_SECONDS);

        SSLContext sslContext = null;
        if (settings.containsKey(CA_FILE)) {
            if (!"https".equals(address.getScheme())) {
                throw new IllegalArgumentException(CA_FILE + ": only used with an https address");
            }
            sslContext = trustingOnly(settings.get(CA_FILE).strip());
        }
        return new VaultSettings(address, auth, namespace, kvVersion, sslContext,
                Duration.ofSeconds(timeoutSeconds));
    }

    private static VaultAuth auth(String authName, Map<String, String> settings) {
        switch (authName) {
            case "approle":
                // The configuration map hands its values out as Strings, which we cannot zero; from here
                // on they are held as Secrets, zeroed when the provider closes.
                return new VaultAuth.AppRole(
                        mountPath(APPROLE_PATH, settings.getOrDefault(APPROLE_PATH, "approle")),
                        Secret.copyOf(required(settings, ROLE_ID)),
                        Secret.copyOf(required(settings, SECRET_ID)));
            case "kubernetes":
                return new VaultAuth.Kubernetes(
                        mountPath(KUBERNETES_PATH, settings.getOrDefault(KUBERNETES_PATH, "kubernetes")),
                        required(settings, ROLE).strip(),
                        path(JWT_FILE, settings.getOrDefault(JWT_FILE, DEFAULT_JWT_FILE)));
            default:
                // Same remark as above: the configuration's String copy is out of our hands.
                return new VaultAuth.Token(Secret.copyOf(required(settings, TOKEN)));
        }
    }

    private static String required(Map<String, String> settings, String key) {
        final String value = settings.get(key);
        if (value == null) {
            throw new IllegalArgumentException(key + ": required");
        }
        return value;
    }

    private static URI address(String value) {
        final URI uri;
        try {
            uri = new URI(value.strip());
        } catch (URISyntaxException e) {
            // Not chained: URISyntaxException quotes its input.
            throw new IllegalArgumentException(ADDRESS + ": not a URL (expected: https://host:port)");
        }
        final boolean web = "https".equals(uri.getScheme()) || "http".equals(uri.getScheme());
        if (!web || uri.getHost() == null || uri.getRawUserInfo() != null || uri.getRawQuery() != null
                || uri.getRawFragment() != null) {
            throw new IllegalArgumentException(
                    ADDRESS + ": expected http(s)://host[:port] with no user info, query or fragment");
        }
        final String text = uri.toString();
        return URI.create(text.endsWith("/") ? text.substring(0, text.length() - 1) : text);
    }

    // Auth mounts and namespaces are pasted into URLs and headers by the driver: same safe set as paths.
    private static String mountPath(String key, String value) {
        final String path = value.strip();
        for (String segment : path.split("/", -1)) {
            if (!VaultReference.isSafeSegment(segment)) {
                throw new IllegalArgumentException(
                        key + ": expected segments of letters, digits, '-', '_' and '.' separated by '/'");
            }
        }
        return path;
    }

    private static Path path(String key, String value) {
        try {
            return Path.of(value.strip());
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException(key + ": not a file path");
        }
    }

    private static int intSetting(Map<String, String> settings, String key, int defaultValue, int min, int max,
            String expected) {
        final String value = settings.get(key);
        if (value == null) {
            return defaultValue;
        }
        try {
            final int parsed = Integer.parseInt(value.strip());
            if (parsed >= min && parsed <= max) {
                return parsed;
            }
        } catch (NumberFormatException e) {
            // Reported below, without NumberFormatException's message, which quotes the value.
        }
        throw new IllegalArgumentException(key + ": " + expected);
    }

    /** Builds a TLS context that trusts the certificates of a PEM bundle, and nothing else. */
    private static SSLContext trustingOnly(String file) {
        final Path path = path(CA_FILE, file);
        try (InputStream in = Files.newInputStream(path)) {
            final Collection<? extends Certificate> certificates =
                    CertificateFactory.getInstance("X.509").generateCertificates(in);
            if (certificates.isEmpty()) {
                throw new IllegalArgumentException(CA_FILE + ": no PEM certificate in the file");
            }
            final KeyStore trusted = KeyStore.getInstance(KeyStore.getDefaultType());
            trusted.load(null, null);
            int index = 0;
            for (Certificate certificate : certificates) {
                trusted.setCertificateEntry("ca-" + index++, certificate);
            }
            final TrustManagerFactory trust =
                    TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(trusted);
            final SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, trust.getTrustManagers(), null);
            return context;
        } catch (IOException e) {
            throw new IllegalArgumentException(
                    CA_FILE + ": cannot read the file (" + e.getClass().getSimpleName() + ")");
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException(
                    CA_FILE + ": not a PEM certificate bundle (" + e.getClass().getSimpleName() + ")");
        }
    }
}
