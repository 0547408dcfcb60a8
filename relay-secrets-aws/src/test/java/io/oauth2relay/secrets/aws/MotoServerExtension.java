package io.oauth2relay.secrets.aws;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Runs a real {@code moto_server} (moto's stand-alone AWS mock) on a free loopback port, once per test
 * class, and resets its state before each test.
 *
 * <p>{@code moto_server} is looked up on {@code PATH} (or taken from {@code MOTO_SERVER}). When it is
 * missing, the tests are skipped, unless {@code CI} is set: there a missing server is a broken build, not a
 * reason to pass quietly.
 *
 * <p>Register it as a static field with {@code @RegisterExtension}. Its output goes to
 * {@code target/moto-server-<port>.log}.
 */
public final class MotoServerExtension implements BeforeAllCallback, BeforeEachCallback, AfterAllCallback {

    private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(30);

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private Process process;
    private Path log;
    private int port;

    /** The server's base URL, {@code http://127.0.0.1:PORT}. */
    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + port);
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        final Optional<Path> executable = findExecutable();
        if (executable.isEmpty()) {
            final String why = "moto_server not found on PATH (install it with: pip install \"moto[server]\", "
                    + "or point MOTO_SERVER at it)";
            if (System.getenv("CI") != null) {
                fail(why + "; CI is set, so this is an error rather than a skip");
            }
            Assumptions.abort(why);
        }
        port = freePort();
        log = Path.of("target", "moto-server-" + port + ".log");
        Files.createDirectories(log.getParent());
        process = new ProcessBuilder(executable.get().toString(), "-H", "127.0.0.1", "-p", String.valueOf(port))
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        awaitReady();
    }

    @Override
    public void beforeEach(ExtensionContext context) throws Exception {
        final HttpResponse<Void> response = reset();
        if (response.statusCode() != 200) {
            fail("moto_server reset answered HTTP " + response.statusCode());
        }
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        if (process == null) {
            return;
        }
        // moto_server may run behind a shim (pyenv) or spawn a reloader: stop the whole tree we started.
        final List<ProcessHandle> descendants = process.descendants().toList();
        process.destroy();
        descendants.forEach(ProcessHandle::destroy);
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            descendants.forEach(ProcessHandle::destroyForcibly);
            process.waitFor(5, TimeUnit.SECONDS);
        }
        process = null;
    }

    private void awaitReady() throws IOException, InterruptedException {
        final long deadline = System.nanoTime() + STARTUP_TIMEOUT.toNanos();
        while (true) {
            if (!process.isAlive()) {
                fail("moto_server exited with code " + process.exitValue() + " before answering:\n" + logText());
            }
            try {
                if (reset().statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // Not listening yet.
            }
            if (System.nanoTime() > deadline) {
                fail("moto_server did not answer within " + STARTUP_TIMEOUT + ":\n" + logText());
            }
            Thread.sleep(100);
        }
    }

    private HttpResponse<Void> reset() throws IOException, InterruptedException {
        final HttpRequest request = HttpRequest.newBuilder(endpoint().resolve("/moto-api/reset"))
                .timeout(Duration.ofSeconds(5))
                .POST(HttpRequest.BodyPublishers.noBody())
                .build();
        return http.send(request, HttpResponse.BodyHandlers.discarding());
    }

    private String logText() throws IOException {
        return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "(no output)";
    }

    private static Optional<Path> findExecutable() {
        final String explicit = System.getenv("MOTO_SERVER");
        if (explicit != null && !explicit.isBlank()) {
            return Optional.of(Path.of(explicit)).filter(Files::isExecutable);
        }
        final String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String dir : path.split(File.pathSeparator)) {
            if (dir.isEmpty()) {
                continue;
            }
            final Path candidate = Path.of(dir, "moto_server");
            if (Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    // Another process could take the port between close() and moto_server's bind; on a test machine the
    // window is small, and a clash shows up as moto_server exiting, with its log in the failure message.
    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
