package io.oauth2relay.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs the real {@code ./oauth2relay} launcher (and so the packaged jar) as a child process, in a working
 * folder of the test's own, capturing standard output and error to files there.
 */
final class RelayProcess implements AutoCloseable {
  private static final Pattern LISTENING = Pattern.compile("listening on [^ ]+:(\\d+)");

  private final Process process;
  private final Path stdout;
  private final Path stderr;

  private RelayProcess(Process process, Path stdout, Path stderr) {
    this.process = process;
    this.stdout = stdout;
    this.stderr = stderr;
  }

  static Path launcher() {
    Path repo = Path.of(System.getProperty("relay.repo", "..")).toAbsolutePath().normalize();
    Path script = repo.resolve("oauth2relay");
    assertThat(script).isExecutable();
    return script;
  }

  static RelayProcess start(Path workDir, Map<String, String> env, String... args) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(launcher().toString());
    command.addAll(List.of(args));
    Files.createDirectories(workDir);
    Path out = workDir.resolve("stdout.txt");
    Path err = workDir.resolve("stderr.txt");
    ProcessBuilder pb = new ProcessBuilder(command).directory(workDir.toFile());
    pb.environment().putAll(env);
    pb.redirectOutput(out.toFile()).redirectError(err.toFile());
    return new RelayProcess(pb.start(), out, err);
  }

  /** Runs a command that ends by itself and returns its exit code. */
  static RelayProcess run(Path workDir, Map<String, String> env, String... args) throws Exception {
    RelayProcess p = start(workDir, env, args);
    assertThat(p.process.waitFor(120, TimeUnit.SECONDS)).as("command finished").isTrue();
    return p;
  }

  /** The JVM's process id (the launcher execs java, so it is the launcher's too). */
  long pid() {
    return process.pid();
  }

  int exitCode() {
    return process.exitValue();
  }

  /** Waits for the "listening on HOST:PORT" log line and returns the port. */
  int awaitPort(Duration timeout) throws Exception {
    return Integer.parseInt(awaitStdout(LISTENING, timeout).group(1));
  }

  Matcher awaitStdout(Pattern pattern, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      Matcher m = pattern.matcher(stdout());
      if (m.find()) {
        return m;
      }
      if (!process.isAlive()) {
        throw new AssertionError("relay exited with " + process.exitValue() + "\nstdout:\n" + stdout() + "\nstderr:\n" + stderr());
      }
      Thread.sleep(50);
    }
    throw new AssertionError("no match for " + pattern + " within " + timeout + "\nstdout:\n" + stdout() + "\nstderr:\n" + stderr());
  }

  /** Sends SIGTERM and returns at once. */
  void terminate() {
    process.destroy();
  }

  /** Waits for the process to end by itself and returns its exit code. */
  int awaitExit(Duration timeout) throws InterruptedException {
    assertThat(process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)).as("relay exited").isTrue();
    return process.exitValue();
  }

  /** Sends SIGTERM and returns the exit code. */
  boolean isAlive() {
    return process.isAlive();
  }

  int stop() throws InterruptedException {
    process.destroy();
    assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("relay stopped after SIGTERM").isTrue();
    return process.exitValue();
  }

  String stdout() throws IOException {
    return Files.readString(stdout, StandardCharsets.UTF_8);
  }

  String stderr() throws IOException {
    return Files.readString(stderr, StandardCharsets.UTF_8);
  }

  @Override
  public void close() {
    process.destroyForcibly();
  }
}
