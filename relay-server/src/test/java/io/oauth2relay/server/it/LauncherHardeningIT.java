package io.oauth2relay.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./oauth2relay} starts the JVM so that no token can reach the disk or another process: no core file,
 * no heap dump, no hs_err file, no attach (so no jcmd/jmap heap dump and no JFR started from outside), and
 * JAVA_OPTS after the hardening flags. Checked on the running process itself, through /proc and jcmd.
 */
class LauncherHardeningIT {
  @TempDir Path dir;

  @Test
  void theRelayJvmRunsHardenedWithJavaOptsLastAndNoCoreFileLimit() throws Exception {
    Path config = dir.resolve("c.json");
    Files.writeString(config, "{\"port\": 0, \"relay\": {\"url\": \"http://127.0.0.1:9/\", \"fixedtoken\": \"${T}\"}}");
    RelayProcess relay =
        RelayProcess.start(
            dir, Map.of("T", "canary-fixed", "JAVA_OPTS", "-Xmx96m"), "start", "--config", config.toString());
    try (relay) {
      relay.awaitPort(Duration.ofSeconds(120));
      long pid = relay.pid();

      List<String> args = Arrays.asList(
          new String(Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline")), StandardCharsets.UTF_8).split("\0"));
      assertThat(args)
          .contains(
              "-XX:-HeapDumpOnOutOfMemoryError", "-XX:-CreateCoredumpOnCrash", "-XX:+DisableAttachMechanism",
              "-XX:+SuppressFatalErrorMessage", "-XX:+ExitOnOutOfMemoryError", "-XX:-UsePerfData", "-Xmx96m")
          .noneMatch(a -> a.contains("FlightRecording"));
      assertThat(args.indexOf("-Xmx96m")).as("JAVA_OPTS comes after the hardening flags")
          .isGreaterThan(args.indexOf("-XX:+DisableAttachMechanism"));
      assertThat(args.indexOf("-Dio.netty.leakDetection.level=disabled"))
          .as("leak detection off by default, before JAVA_OPTS so that it can turn it back on")
          .isPositive().isLessThan(args.indexOf("-Xmx96m"));

      String coreLimit = Files.readAllLines(Path.of("/proc/" + pid + "/limits")).stream()
          .filter(l -> l.startsWith("Max core file size")).findFirst().orElseThrow();
      assertThat(coreLimit.split("\\s{2,}")).as(coreLimit).contains("0");

      Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
      Process attach = new ProcessBuilder(jcmd.toString(), Long.toString(pid), "GC.heap_dump", dir.resolve("heap.hprof").toString())
          .redirectErrorStream(true).start();
      assertThat(attach.waitFor(60, TimeUnit.SECONDS)).isTrue();
      String said = new String(attach.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(attach.exitValue()).as(said).isNotZero();
      assertThat(dir.resolve("heap.hprof")).doesNotExist();
      assertThat(Path.of(System.getProperty("java.io.tmpdir"), "hsperfdata_" + System.getProperty("user.name"), Long.toString(pid)))
          .as("no perf-data file").doesNotExist();

      assertThat(relay.stop()).isZero();
    }
  }
}
