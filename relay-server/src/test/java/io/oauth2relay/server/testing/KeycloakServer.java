package io.oauth2relay.server.testing;

import static java.util.Objects.requireNonNull;

import com.nimbusds.jose.util.JSONObjectUtils;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.SecureRandom;
import java.text.ParseException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real Keycloak, started once per test JVM and stopped (with its whole process tree) when the JVM exits.
 *
 * <pre>{@code
 * @RegisterExtension
 * static final KeycloakServer KEYCLOAK = KeycloakServer.shared();
 * }</pre>
 *
 * <p>Every accessor starts the server on first use, so {@code KeycloakServer.shared().tokenUrl()} also works
 * without the extension. When Keycloak cannot be started (no {@code keycloak.home}, no Java 21+, a failed
 * start), tests that use it are aborted (reported as skipped) with the reason, unless the environment
 * variable {@code CI} is set, in which case they fail. A failed start is not retried within the same JVM.
 *
 * <p>The realm {@value #REALM} (from {@code keycloak/relay-realm.json.template}) holds a confidential client
 * with the password, refresh_token and client_credentials grants, and one user. The client secret and the
 * user's password are fresh canary values per JVM ({@code CANARY-secret-...}, {@code CANARY-pass-...}, only
 * {@code [A-Za-z0-9-]}), so a test can grep logs and responses for them.
 *
 * <p>Where things live:
 *
 * <pre>
 *   keycloak.home (unpacked dist, never written to)
 *        | copied per JVM, because start-dev rewrites lib/quarkus and data/
 *        v
 *   target/keycloak-runs/PID/   bin/kc.sh start-dev, data/import/relay-realm.json, data/h2
 *   target/keycloak-run-PID.log Keycloak's stdout and stderr, kept after the run
 * </pre>
 *
 * <p>System properties: {@code keycloak.home} (else env {@code KEYCLOAK_HOME}); {@code keycloak.java}
 * (else env {@code KEYCLOAK_JAVA_HOME}, else Temurin 25 if installed, else this JVM if it is 21+);
 * {@code keycloak.workdir} (default {@code target}); {@code keycloak.accessTokenLifespan} in seconds
 * (default 10).
 *
 * <p>Thread-safe: starting is serialised on this instance; the accessors can be called from any thread.
 */
public final class KeycloakServer implements BeforeAllCallback, BeforeEachCallback {

    /** The realm every accessor refers to. */
    public static final String REALM = "relay";

    private static final String CLIENT_ID = "relay-client";
    private static final String USERNAME = "alice";
    private static final String ADMIN_USERNAME = "admin";
    private static final String REALM_TEMPLATE = "/keycloak/relay-realm.json.template";

    private static final int DEFAULT_ACCESS_TOKEN_LIFESPAN_SECONDS = 10;
    // The first start of a fresh copy re-augments Quarkus (about 10 s here, up to 60 s on a slow machine),
    // then creates the H2 schema and imports the realm.
    private static final Duration START_TIMEOUT = Duration.ofSeconds(180);
    private static final Duration POLL_INTERVAL = Duration.ofMillis(500);
    // Keycloak stops in about 4 s after SIGTERM; after this it gets SIGKILL.
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(15);
    private static final int LOG_TAIL_LINES = 40;
    private static final Path DEFAULT_JAVA_HOME = Path.of("/usr/lib/jvm/temurin-25-jdk-amd64");
    private static final int MIN_JAVA_FEATURE = 21;

    private static final KeycloakServer SHARED = new KeycloakServer();

    private final String clientSecret = canary("CANARY-secret-");
    private final String password = canary("CANARY-pass-");
    private final String adminPassword = canary("admin-");
    private final int accessTokenLifespanSeconds =
            Integer.getInteger("keycloak.accessTokenLifespan", DEFAULT_ACCESS_TOKEN_LIFESPAN_SECONDS);

    // Guarded by this.
    private Running running;
    private String failure;
    private Exception failureCause;

    private KeycloakServer() {}

    /** The one instance of this JVM; register it as a static extension or call its accessors directly. */
    public static KeycloakServer shared() {
        return SHARED;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        ensureRunning();
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        // Also registered as an instance field: then only beforeEach is called.
        ensureRunning();
    }

    /** {@code http://127.0.0.1:PORT}, without a trailing slash. */
    public URI baseUrl() {
        return URI.create("http://127.0.0.1:" + ensureRunning().port);
    }

    /** The {@code iss} claim of the realm's tokens. */
    public String issuer() {
        return baseUrl() + "/realms/" + REALM;
    }

    public URI tokenUrl() {
        return URI.create(issuer() + "/protocol/openid-connect/token");
    }

    public URI jwksUrl() {
        return URI.create(issuer() + "/protocol/openid-connect/certs");
    }

    public URI introspectionUrl() {
        return URI.create(issuer() + "/protocol/openid-connect/token/introspect");
    }

    public String clientId() {
        ensureRunning();
        return CLIENT_ID;
    }

    /** A canary value, {@code CANARY-secret-} followed by random letters and digits. */
    public String clientSecret() {
        ensureRunning();
        return clientSecret;
    }

    public String username() {
        ensureRunning();
        return USERNAME;
    }

    /** A canary value, {@code CANARY-pass-} followed by random letters and digits. */
    public String password() {
        ensureRunning();
        return password;
    }

    /** The realm's {@code accessTokenLifespan}: the {@code expires_in} of every access token. */
    public int accessTokenLifespanSeconds() {
        ensureRunning();
        return accessTokenLifespanSeconds;
    }

    /** The bootstrap admin of the master realm (for the admin REST API through {@code admin-cli}). */
    public String adminUsername() {
        ensureRunning();
        return ADMIN_USERNAME;
    }

    public String adminPassword() {
        ensureRunning();
        return adminPassword;
    }

    /** Keycloak's output; worth attaching to a failure report. */
    public Path logFile() {
        return ensureRunning().log;
    }

    private synchronized Running ensureRunning() {
        if (running != null) {
            return running;
        }
        if (failure == null) {
            try {
                running = start();
                return running;
            } catch (Exception e) {
                failure = e.getMessage();
                failureCause = e;
            }
        }
        if (isCi()) {
            throw new IllegalStateException("Keycloak is required because CI is set: " + failure, failureCause);
        }
        return Assumptions.abort("Keycloak is not available, skipping: " + failure);
    }

    private static boolean isCi() {
        final String ci = System.getenv("CI");
        return ci != null && !ci.isEmpty();
    }

    private Running start() throws IOException, InterruptedException {
        final Path home = keycloakHome();
        final Path javaHome = keycloakJavaHome();
        final Path workDir = Path.of(System.getProperty("keycloak.workdir", "target")).toAbsolutePath();
        final long pid = ProcessHandle.current().pid();
        final Path runsDir = workDir.resolve("keycloak-runs");
        final Path runDir = runsDir.resolve(Long.toString(pid));
        final Path log = workDir.resolve("keycloak-run-" + pid + ".log");

        Files.createDirectories(runsDir);
        removeStaleRuns(runsDir);
        removeRun(runDir);
        copyDistribution(home, runDir);
        // A clean state: no database from an earlier start, only our realm to import.
        final Path importDir = Files.createDirectories(runDir.resolve("data/import"));
        Files.writeString(importDir.resolve(REALM + "-realm.json"), realmJson());

        final int port = freeLoopbackPort();
        final ProcessBuilder builder = new ProcessBuilder(
                        runDir.resolve("bin/kc.sh").toString(),
                        "start-dev",
                        "--http-port=" + port,
                        "--http-host=127.0.0.1",
                        "--import-realm")
                .directory(runDir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        final Map<String, String> env = builder.environment();
        // Nothing from the caller's environment may change how Keycloak starts.
        env.keySet().removeIf(name -> name.startsWith("KC_") || name.startsWith("JAVA_OPTS"));
        env.put("JAVA_HOME", javaHome.toString());
        env.put("KC_BOOTSTRAP_ADMIN_USERNAME", ADMIN_USERNAME);
        env.put("KC_BOOTSTRAP_ADMIN_PASSWORD", adminPassword);

        final long startedAt = System.nanoTime();
        final Process process = builder.start();
        process.getOutputStream().close();
        final Running started = new Running(process, runDir, log, port);
        // Registered before waiting, so an interrupted or failed start is cleaned up too.
        final Thread hook = new Thread(started::stop, "keycloak-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            awaitReady(started);
        } catch (IOException | InterruptedException | RuntimeException e) {
            started.stop();
            Runtime.getRuntime().removeShutdownHook(hook);
            throw e;
        }
        final long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - startedAt);
        System.out.printf("Keycloak %s ready on %s after %d s (log: %s)%n", home.getFileName(),
                started.readyUrl(), seconds, log);
        return started;
    }

    private static Path keycloakHome() {
        final String configured = Optional.ofNullable(System.getProperty("keycloak.home"))
                .filter(s -> !s.isBlank())
                .orElse(System.getenv("KEYCLOAK_HOME"));
        if (configured == null || configured.isBlank()) {
            throw new IllegalStateException("neither the system property keycloak.home nor KEYCLOAK_HOME is set"
                    + " (`mvn verify` unpacks Keycloak and sets it for failsafe)");
        }
        final Path home = Path.of(configured).toAbsolutePath();
        if (!Files.isRegularFile(home.resolve("bin/kc.sh"))) {
            throw new IllegalStateException("keycloak.home: " + home + " (expected: an unpacked Keycloak"
                    + " distribution with bin/kc.sh; `mvn verify` unpacks it in pre-integration-test)");
        }
        return home;
    }

    private static Path keycloakJavaHome() {
        final String configured = Optional.ofNullable(System.getProperty("keycloak.java"))
                .filter(s -> !s.isBlank())
                .orElse(System.getenv("KEYCLOAK_JAVA_HOME"));
        final Path javaHome;
        if (configured != null && !configured.isBlank()) {
            javaHome = Path.of(configured);
        } else if (Files.isExecutable(DEFAULT_JAVA_HOME.resolve("bin/java"))) {
            javaHome = DEFAULT_JAVA_HOME;
        } else if (Runtime.version().feature() >= MIN_JAVA_FEATURE) {
            javaHome = Path.of(System.getProperty("java.home"));
        } else {
            throw new IllegalStateException("no Java " + MIN_JAVA_FEATURE + "+ for Keycloak: set -Dkeycloak.java"
                    + " or KEYCLOAK_JAVA_HOME (this JVM is " + Runtime.version() + ")");
        }
        if (!Files.isExecutable(javaHome.resolve("bin/java"))) {
            throw new IllegalStateException("Java home for Keycloak: " + javaHome + " (expected: bin/java)");
        }
        final int feature = javaFeatureVersion(javaHome);
        if (feature != 0 && feature < MIN_JAVA_FEATURE) {
            throw new IllegalStateException("Java home for Keycloak: " + javaHome + " is Java " + feature
                    + " (expected: " + MIN_JAVA_FEATURE + "+)");
        }
        return javaHome;
    }

    /** The feature version from the JDK's {@code release} file, or 0 when it cannot be read. */
    private static int javaFeatureVersion(Path javaHome) {
        try (Stream<String> lines = Files.lines(javaHome.resolve("release"))) {
            return lines.filter(line -> line.startsWith("JAVA_VERSION="))
                    .map(line -> line.substring("JAVA_VERSION=".length()).replace("\"", ""))
                    .map(version -> Integer.parseInt(version.split("[.+-]", 2)[0]))
                    .findFirst()
                    .orElse(0);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    private String realmJson() throws IOException {
        final String template;
        try (InputStream in = KeycloakServer.class.getResourceAsStream(REALM_TEMPLATE)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource " + REALM_TEMPLATE);
            }
            template = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        // Plain substitution is safe: every value is [A-Za-z0-9-] or a number.
        final String json = template.replace("${ACCESS_TOKEN_LIFESPAN}", Integer.toString(accessTokenLifespanSeconds))
                .replace("${CLIENT_ID}", CLIENT_ID)
                .replace("${CLIENT_SECRET}", clientSecret)
                .replace("${USERNAME}", USERNAME)
                .replace("${PASSWORD}", password);
        try {
            // Fail here rather than with Keycloak's less direct import error.
            JSONObjectUtils.parse(json);
        } catch (ParseException e) {
            throw new IllegalStateException(REALM_TEMPLATE + " is not valid JSON after substitution", e);
        }
        return json;
    }

    private static void awaitReady(Running keycloak) throws IOException, InterruptedException {
        final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        final HttpRequest request = HttpRequest.newBuilder(keycloak.readyUrl())
                .timeout(Duration.ofSeconds(5))
                .GET()
                .build();
        final long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (true) {
            if (!keycloak.process.isAlive()) {
                throw new IllegalStateException("Keycloak exited with status " + keycloak.process.exitValue()
                        + " before it was ready" + keycloak.logTail());
            }
            try {
                final HttpResponse<Void> response = client.send(request, HttpResponse.BodyHandlers.discarding());
                if (response.statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // Not listening yet.
            }
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("Keycloak was not ready within " + START_TIMEOUT.toSeconds()
                        + " s (" + keycloak.readyUrl() + ")" + keycloak.logTail());
            }
            Thread.sleep(POLL_INTERVAL.toMillis());
        }
    }

    private static int freeLoopbackPort() throws IOException {
        // Another process may take the port before Keycloak binds it; the start then fails with the
        // bind error in the log tail. Rare enough on a test machine not to retry.
        try (ServerSocket socket = new ServerSocket(0, 0, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    /** Copies the distribution without its {@code data} directory (which only a started server creates). */
    private static void copyDistribution(Path home, Path target) throws IOException {
        final Path data = home.resolve("data");
        Files.walkFileTree(home, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                if (dir.equals(data)) {
                    return FileVisitResult.SKIP_SUBTREE;
                }
                Files.createDirectories(target.resolve(home.relativize(dir).toString()));
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                // COPY_ATTRIBUTES keeps bin/kc.sh executable.
                Files.copy(file, target.resolve(home.relativize(file).toString()),
                        StandardCopyOption.COPY_ATTRIBUTES, StandardCopyOption.REPLACE_EXISTING);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    /**
     * Removes the run directories of test JVMs that are gone, and the Keycloak they started if it survived
     * them (a JVM killed with SIGKILL runs no shutdown hook).
     */
    private static void removeStaleRuns(Path runsDir) throws IOException {
        final List<Path> stale = new ArrayList<>();
        try (Stream<Path> runs = Files.list(runsDir)) {
            runs.filter(run -> isStale(run.getFileName().toString())).forEach(stale::add);
        }
        for (Path run : stale) {
            removeRun(run);
        }
    }

    private static boolean isStale(String name) {
        final long pid;
        try {
            pid = Long.parseLong(name);
        } catch (NumberFormatException e) {
            return false;
        }
        return ProcessHandle.of(pid).map(handle -> !handle.isAlive()).orElse(true);
    }

    /** Stops any process started from {@code runDir} (its command line names it), then deletes it. */
    private static void removeRun(Path runDir) throws IOException {
        if (!Files.exists(runDir)) {
            return;
        }
        final String marker = runDir.toAbsolutePath() + "/";
        final List<ProcessHandle> leftovers = ProcessHandle.allProcesses()
                .filter(handle -> handle.info().commandLine().filter(line -> line.contains(marker)).isPresent())
                .toList();
        destroyAll(leftovers);
        deleteTree(runDir);
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }

    /** SIGTERM to all, then SIGKILL to whatever is still alive after {@link #STOP_TIMEOUT}. */
    private static void destroyAll(List<ProcessHandle> handles) {
        handles.forEach(ProcessHandle::destroy);
        final long deadline = System.nanoTime() + STOP_TIMEOUT.toNanos();
        for (ProcessHandle handle : handles) {
            try {
                handle.onExit().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException | ExecutionException e) {
                handle.destroyForcibly();
            } catch (InterruptedException e) {
                handle.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    private static String canary(String prefix) {
        final String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        final SecureRandom random = new SecureRandom();
        final StringBuilder value = new StringBuilder(prefix);
        for (int i = 0; i < 24; i++) {
            value.append(alphabet.charAt(random.nextInt(alphabet.length())));
        }
        return value.toString();
    }

    @Override
    public String toString() {
        // Never prints the canary values.
        return "KeycloakServer{realm=" + REALM + "}";
    }

    /** One started Keycloak: kc.sh, the java process it forks, and the run directory they use. */
    private static final class Running {

        private final Process process;
        private final Path runDir;
        private final Path log;
        private final int port;
        private boolean stopped;

        Running(Process process, Path runDir, Path log, int port) {
            this.process = requireNonNull(process, "process");
            this.runDir = requireNonNull(runDir, "runDir");
            this.log = requireNonNull(log, "log");
            this.port = port;
        }

        URI readyUrl() {
            return URI.create("http://127.0.0.1:" + port + "/realms/" + REALM + "/.well-known/openid-configuration");
        }

        /** Idempotent; called by the shutdown hook or after a failed start. */
        synchronized void stop() {
            if (stopped) {
                return;
            }
            stopped = true;
            // Collect the tree before signalling: once kc.sh exits, its java child is reparented and no
            // longer a descendant.
            final List<ProcessHandle> tree = new ArrayList<>(process.descendants().toList());
            tree.add(process.toHandle());
            destroyAll(tree);
            try {
                deleteTree(runDir);
            } catch (IOException | UncheckedIOException e) {
                System.err.println("Could not delete " + runDir + ": " + e);
            }
        }

        String logTail() {
            try {
                // Decoded leniently: a tail is wanted even if the output holds malformed bytes.
                final List<String> lines =
                        new String(Files.readAllBytes(log), StandardCharsets.UTF_8).lines().toList();
                final List<String> tail = lines.subList(Math.max(0, lines.size() - LOG_TAIL_LINES), lines.size());
                return "\n--- last " + tail.size() + " lines of " + log + " ---\n" + String.join("\n", tail);
            } catch (IOException | UncheckedIOException e) {
                return " (no log at " + log + ": " + e + ")";
            }
        }
    }
}
