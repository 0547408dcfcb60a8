package io.oauth2relay.secrets.vault;

import static java.util.Objects.requireNonNull;

import io.github.jopenlibs.vault.EnvironmentLoader;
import io.github.jopenlibs.vault.Vault;
import io.github.jopenlibs.vault.VaultConfig;
import io.github.jopenlibs.vault.VaultException;
import io.github.jopenlibs.vault.response.AuthResponse;
import io.github.jopenlibs.vault.response.LogicalResponse;
import io.github.jopenlibs.vault.response.LookupResponse;
import io.oauth2relay.secrets.spi.Secret;
import io.oauth2relay.secrets.spi.SecretException;
import io.oauth2relay.secrets.spi.SecretProvider;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Resolves {@code <mount>/<path>[?version=N]#<key>} (see {@link VaultReference}) by reading Vault's KV
 * engine, and keeps its own Vault token alive in the background.
 *
 * <pre>
 *   resolve(ref) ──> session.get().vault ──> GET /v1/&lt;mount&gt;[/data]/&lt;path&gt; ──> data[key] ──> Secret
 *                          ▲
 *   renewer thread ────────┘ renew-self at 2/3 of the TTL; log in again (AppRole, Kubernetes) when
 *                            renewal fails, the token is not renewable, or it hit its max TTL
 * </pre>
 *
 * <p>Thread-safety: {@link #resolve(String)} may be called from any number of threads at once. The current
 * token lives in an immutable {@link Session} (a driver instance bound to one token) published through an
 * {@link AtomicReference}; resolvers only read it. Only the single renewer thread replaces it, so there is
 * no lock and no race between renewing and logging in. A resolve that races with a re-login uses either
 * the old token (still valid: it is replaced at 2/3 of its TTL) or the new one. {@code resolve} blocks on
 * network I/O for at most the configured timeout.
 *
 * <p>The driver forces {@code String}s on us in three places: the token ({@code VaultConfig.token}), the
 * login credentials (its JSON bodies), and the values it reads (its response parser). Those copies cannot
 * be zeroed; each spot says so. What this class creates itself (the JWT bytes) it zeroes.
 */
final class VaultProvider implements SecretProvider {

    private static final System.Logger LOG = System.getLogger(VaultProvider.class.getName());

    /** Floor of the delay before a renewal, so that a tiny TTL cannot make the renewer spin. */
    static final Duration MIN_RENEW_DELAY = Duration.ofMillis(500);
    /** Delay before retrying a failed renewal or login. */
    static final Duration RETRY_DELAY = Duration.ofSeconds(5);

    // The driver would otherwise fill unset settings from VAULT_ADDR, VAULT_TOKEN, ~/.vault-token and
    // VAULT_SSL_*, behind the relay configuration's back.
    private static final EnvironmentLoader NO_ENVIRONMENT = new EnvironmentLoader() {
        private static final long serialVersionUID = 1L;

        @Override
        public String loadVariable(String name) {
            return null;
        }
    };

    private final VaultSettings settings;
    private final VaultAuth auth;
    // One client for every request: without it the driver builds a new HttpClient (and its selector
    // thread) per request. It also carries the caFile trust and the connect timeout.
    private final HttpClient http;
    private final AtomicReference<Session> session = new AtomicReference<>();
    private final ScheduledExecutorService renewer;
    private volatile boolean closed;

    /**
     * A driver instance bound to one token, and what Vault last said about that token. Never mutated once
     * published: a new token or a new TTL means a new {@code Session}.
     *
     * @param vault the driver, with the token in its configuration
     * @param ttl the token's remaining TTL when Vault answered; zero for a token that never expires
     * @param renewable whether Vault allows renew-self
     * @param loginTtl the TTL granted at login, to notice a renewal capped by the token's max TTL
     * @param expiresAt when the token expires, by our clock
     */
    private record Session(Vault vault, Duration ttl, boolean renewable, Duration loginTtl, Instant expiresAt) {
        static Session of(Vault vault, long ttlSeconds, boolean renewable, Duration loginTtl) {
            final Duration ttl = Duration.ofSeconds(Math.max(0, ttlSeconds));
            return new Session(vault, ttl, renewable, loginTtl, Instant.now().plus(ttl));
        }
    }

    VaultProvider(VaultSettings settings) {
        this.settings = requireNonNull(settings, "settings");
        this.auth = settings.auth();
        final HttpClient.Builder builder = HttpClient.newBuilder()
                // What the driver itself uses; it also avoids an h2c upgrade attempt on http:// addresses.
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(settings.timeout())
                .followRedirects(HttpClient.Redirect.NEVER);
        if (settings.sslContext() != null) {
            builder.sslContext(settings.sslContext());
        }
        this.http = builder.build();

        final Session first;
        try {
            first = auth.canLogIn() ? logIn() : tokenSession((VaultAuth.Token) auth);
        } catch (RuntimeException e) {
            auth.destroy();
            throw e;
        }
        session.set(first);
        renewer = Executors.newSingleThreadScheduledExecutor(task -> {
            final Thread thread = new Thread(task, "vault-token-renewer");
            thread.setDaemon(true);
            return thread;
        });
        scheduleNext(first);
    }

    @Override
    public Secret resolve(String reference) {
        requireNonNull(reference, "reference");
        if (closed) {
            throw new IllegalStateException("vault provider closed");
        }
        final VaultReference ref = VaultReference.parse(reference);
        if (ref.version() != null && settings.kvVersion() != 2) {
            throw new SecretException(reference + ": ?version=N needs kvVersion 2 (configured: 1)");
        }

        final Vault vault = session.get().vault();
        final LogicalResponse response;
        try {
            response = ref.version() == null
                    ? vault.logical().read(ref.path())
                    : vault.logical().read(ref.path(), Boolean.TRUE, ref.version());
        } catch (VaultException e) {
            throw failure(reference, "read", e);
        }

        // The driver returns 4xx answers as responses rather than exceptions.
        final int status = response.getRestResponse().getStatus();
        if (status == 404) {
            final String hint = settings.kvVersion() == 2 && ref.looksLikeApiPath()
                    ? "; with kvVersion 2 write the path without 'data/', the driver inserts it" : "";
            throw new SecretException(reference + ": not found (HTTP 404)" + hint);
        }
        if (status == 403) {
            throw new SecretException(reference + ": permission denied (HTTP 403)");
        }
        if (status != 200) {
            throw new SecretException(reference + ": refused by Vault (HTTP " + status + ")");
        }
        // The driver parses the body into a Map<String, String>: the value reaches us as a String, and so
        // do the other keys of the same secret. Those copies cannot be zeroed; the Secret's copy can.
        final String value = response.getData().get(ref.key());
        if (value == null) {
            throw new SecretException(reference + ": no key '" + ref.key() + "' in the secret");
        }
        return Secret.copyOf(value);
    }

    /**
     * Stops the renewer (waiting briefly for a renewal in flight) and zeroes the login credentials. The
     * token itself is not revoked: it expires at the end of its TTL.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        renewer.shutdownNow();
        try {
            renewer.awaitTermination(settings.timeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        auth.destroy();
    }

    /** Visible for tests: whether the renewer thread has stopped. */
    boolean renewerTerminated() {
        return renewer.isTerminated();
    }

    // ---- authentication (constructor thread first, then only the renewer thread) ----

    private Session tokenSession(VaultAuth.Token token) {
        // VaultConfig.token takes a String: this copy of the token stays on the heap until collected.
        final Vault vault = driver(token.token().apply(String::new));
        // The driver now holds the only copy we need; zero ours.
        token.destroy();
        try {
            final LookupResponse lookup = vault.auth().lookupSelf();
            return Session.of(vault, lookup.getTTL(), lookup.isRenewable(), Duration.ofSeconds(lookup.getTTL()));
        } catch (VaultException e) {
            // A token may be allowed to read secrets without being allowed lookup-self (no default policy):
            // keep it, but without knowing its TTL it is not renewed.
            LOG.log(Level.WARNING, "vault: token lookup-self failed ({0}); the token will not be renewed",
                    describe(e));
            return Session.of(vault, 0, false, Duration.ZERO);
        }
    }

    private Session logIn() {
        final Vault anonymous = driver(null);
        final AuthResponse response;
        try {
            if (auth instanceof VaultAuth.AppRole appRole) {
                // The driver builds its JSON body from Strings: these two copies cannot be zeroed.
                final String roleId = appRole.roleId().apply(String::new);
                final String secretId = appRole.secretId().apply(String::new);
                response = anonymous.auth().loginByAppRole(appRole.mount(), roleId, secretId);
            } else {
                final VaultAuth.Kubernetes kubernetes = (VaultAuth.Kubernetes) auth;
                final String jwt = readJwt(kubernetes);
                // Not loginByKubernetes(role, jwt, mount): in driver 6.x its third argument is the whole
                // auth path ("auth/kubernetes"), an easy trap. loginByJwt names it for what it is.
                response = anonymous.auth().loginByJwt("kubernetes", kubernetes.role(), jwt,
                        "auth/" + kubernetes.mount());
            }
        } catch (VaultException e) {
            throw failure("vault " + authName() + " login", null, e);
        }
        // The client token arrives as a String from the driver's parser and goes back into its config as
        // one: out of our hands.
        final String clientToken = response.getAuthClientToken();
        if (clientToken == null || clientToken.isEmpty()) {
            throw new SecretException("vault " + authName() + " login: no client token in Vault's answer");
        }
        final Duration ttl = Duration.ofSeconds(Math.max(0, response.getAuthLeaseDuration()));
        return Session.of(driver(clientToken), response.getAuthLeaseDuration(), response.isAuthRenewable(), ttl);
    }

    private static String readJwt(VaultAuth.Kubernetes kubernetes) {
        byte[] bytes = null;
        try {
            bytes = Files.readAllBytes(kubernetes.jwtFile());
            int end = bytes.length;
            while (end > 0 && Character.isWhitespace(bytes[end - 1])) {
                end--;
            }
            // loginByJwt takes a String: this copy cannot be zeroed; the bytes we read can.
            return new String(bytes, 0, end, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new SecretException(VaultProviderFactory.JWT_FILE + ": cannot read the service-account token ("
                    + e.getClass().getSimpleName() + ")");
        } finally {
            if (bytes != null) {
                Arrays.fill(bytes, (byte) 0);
            }
        }
    }

    private Vault driver(String token) {
        final VaultConfig config = new VaultConfig()
                .environmentLoader(NO_ENVIRONMENT)
                .address(settings.address().toString())
                .httpClient(http)
                .openTimeout((int) settings.timeout().toSeconds())
                .readTimeout((int) settings.timeout().toSeconds())
                .engineVersion(settings.kvVersion());
        if (token != null) {
            config.token(token);
        }
        try {
            if (settings.namespace() != null) {
                config.nameSpace(settings.namespace());
            }
            return Vault.create(config.build());
        } catch (VaultException e) {
            // build() fails only on settings the factory already validated.
            throw new IllegalStateException("vault: driver configuration rejected", e);
        }
    }

    // ---- renewal (renewer thread only) ----

    private void scheduleNext(Session current) {
        if (current.ttl().isZero()) {
            return; // a token without expiry (or one we could not look up): nothing to keep alive
        }
        final boolean cappedByMaxTtl = current.ttl().compareTo(current.loginTtl()) < 0;
        final Runnable next;
        if (current.renewable() && !(cappedByMaxTtl && auth.canLogIn())) {
            next = this::renew;
        } else if (auth.canLogIn()) {
            next = this::logInAgain;
        } else {
            LOG.log(Level.INFO, "vault: the token is not renewable and expires in {0}s", current.ttl().toSeconds());
            return;
        }
        final Duration delay = current.ttl().multipliedBy(2).dividedBy(3);
        schedule(next, delay.compareTo(MIN_RENEW_DELAY) < 0 ? MIN_RENEW_DELAY : delay);
    }

    private void renew() {
        final Session current = session.get();
        try {
            final AuthResponse response = current.vault().auth().renewSelf();
            final Session renewed = Session.of(current.vault(), response.getAuthLeaseDuration(),
                    response.isAuthRenewable(), current.loginTtl());
            session.set(renewed);
            LOG.log(Level.DEBUG, "vault: token renewed for {0}s", renewed.ttl().toSeconds());
            scheduleNext(renewed);
        } catch (VaultException e) {
            if (closed) {
                return;
            }
            if (auth.canLogIn()) {
                LOG.log(Level.WARNING, "vault: token renewal failed ({0}); logging in again", describe(e));
                logInAgain();
            } else if (Instant.now().isBefore(current.expiresAt())) {
                LOG.log(Level.WARNING, "vault: token renewal failed ({0}); retrying in {1}s", describe(e),
                        RETRY_DELAY.toSeconds());
                schedule(this::renew, RETRY_DELAY);
            } else {
                LOG.log(Level.ERROR, "vault: token renewal failed ({0}) and the token has expired; "
                        + "reads will fail until the relay is given a new token", describe(e));
            }
        }
    }

    private void logInAgain() {
        try {
            final Session fresh = logIn();
            session.set(fresh);
            scheduleNext(fresh);
        } catch (SecretException e) {
            if (!closed) {
                LOG.log(Level.WARNING, "{0}; retrying in {1}s", e.getMessage(), RETRY_DELAY.toSeconds());
                schedule(this::logInAgain, RETRY_DELAY);
            }
        }
    }

    private void schedule(Runnable task, Duration delay) {
        if (closed) {
            return;
        }
        try {
            renewer.schedule(() -> {
                try {
                    task.run();
                } catch (RuntimeException e) {
                    // A scheduled task's exception would otherwise vanish into its unread Future.
                    LOG.log(Level.ERROR, "vault: token renewal stopped (" + e.getClass().getSimpleName() + ")");
                }
            }, delay.toMillis(), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // close() won the race: nothing more to renew.
        }
    }

    // ---- failures ----

    private String authName() {
        return auth instanceof VaultAuth.AppRole ? "approle" : "kubernetes";
    }

    /**
     * Turns a driver exception into a {@link SecretException} that names the reference (or operation) and
     * the class of failure. The driver's messages quote Vault's response bodies, so they are never copied,
     * and the driver exception is not chained; an underlying I/O exception (which carries no body) is.
     */
    private static SecretException failure(String what, String operation, VaultException e) {
        final String prefix = what + ": ";
        final int status = e.getHttpStatusCode();
        if (status == 403) {
            return new SecretException(prefix + "permission denied (HTTP 403)");
        }
        if (status >= 400 && status < 500) {
            return new SecretException(prefix + "refused by Vault (HTTP " + status + ")");
        }
        if (status >= 500) {
            return new SecretException(prefix + "Vault error (HTTP " + status + ")");
        }
        if (status > 0) {
            return new SecretException(prefix + "unexpected answer from Vault (HTTP " + status + ")");
        }
        final Throwable cause = underlying(e);
        if (cause instanceof InterruptedException) {
            Thread.currentThread().interrupt();
            return new SecretException(prefix + "interrupted");
        }
        if (cause instanceof IOException) {
            return new SecretException(prefix + "Vault unreachable (" + cause.getClass().getSimpleName() + ")", cause);
        }
        return new SecretException(prefix + "Vault " + (operation == null ? "request" : operation)
                + " failed (" + cause.getClass().getSimpleName() + ")");
    }

    private static String describe(VaultException e) {
        return e.getHttpStatusCode() > 0 ? "HTTP " + e.getHttpStatusCode() : underlying(e).getClass().getSimpleName();
    }

    /**
     * Returns the first I/O or interruption in the cause chain (the outermost one is the most telling: the
     * JDK client reports a refused connection as a ConnectException caused by a ClosedChannelException),
     * or else the root cause.
     */
    private static Throwable underlying(Throwable e) {
        Throwable current = e;
        while (true) {
            if (current instanceof IOException || current instanceof InterruptedException) {
                return current;
            }
            if (current.getCause() == null || current.getCause() == current) {
                return current;
            }
            current = current.getCause();
        }
    }
}
