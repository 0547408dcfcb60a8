package io.oauth2relay.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.oauth2relay.server.config.ConfigLoader;
import io.oauth2relay.server.config.RelayConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What can be checked of the container image and the deployment examples without a Docker engine or a
 * cluster (neither runs here, so the image itself is never built by this test): the {@code Dockerfile}'s
 * user, secrets and entry point; that the launcher it runs works in the image's file layout; the
 * Kubernetes manifests' security context, probes and secret references; the config they carry; and the
 * GitHub Actions example's handling of secrets.
 */
class DeploymentArtifactsIT {
  private static final Path REPO = Path.of(System.getProperty("relay.repo", "..")).toAbsolutePath().normalize();
  private static final YAMLMapper YAML = new YAMLMapper();
  /** A name that suggests a secret value. */
  private static final Pattern SECRETISH =
      Pattern.compile("(?i).*(secret|passw|token|credential|api_?key|private|auth).*");
  /** A reference resolved by the relay, or Kubernetes' own {@code $(VAR)} expansion: never a literal. */
  private static final Pattern REFERENCE_ONLY = Pattern.compile("\\$\\{[^}]+}");

  @TempDir Path dir;

  // ---------------------------------------------------------------- Dockerfile

  /** Dockerfile instructions with continuation lines joined and comments dropped, per stage. */
  private static List<List<String>> stages() throws IOException {
    List<List<String>> stages = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    for (String line : Files.readAllLines(REPO.resolve("Dockerfile"))) {
      String trimmed = line.strip();
      if (trimmed.startsWith("#") || (trimmed.isEmpty() && current.length() == 0)) {
        continue;
      }
      if (trimmed.endsWith("\\")) {
        current.append(trimmed, 0, trimmed.length() - 1).append(' ');
        continue;
      }
      current.append(trimmed);
      String instruction = current.toString().strip();
      current.setLength(0);
      if (instruction.isEmpty()) {
        continue;
      }
      if (instruction.toUpperCase().startsWith("FROM ")) {
        stages.add(new ArrayList<>());
      }
      stages.get(stages.size() - 1).add(instruction);
    }
    return stages;
  }

  private static List<String> runtimeStage() throws IOException {
    List<List<String>> stages = stages();
    return stages.get(stages.size() - 1);
  }

  private static List<String> instructions(List<String> stage, String keyword) {
    return stage.stream().filter(i -> i.toUpperCase().startsWith(keyword + " ")).toList();
  }

  @Test
  void theImageIsBuiltInOneStageAndRunsAJre17InAnother() throws IOException {
    List<List<String>> stages = stages();

    assertThat(stages).hasSizeGreaterThanOrEqualTo(2);
    assertThat(stages.get(0).get(0)).containsIgnoringCase("maven").contains("temurin-17").endsWith("AS build");
    assertThat(runtimeStage().get(0)).containsIgnoringCase("temurin:17-jre");
    assertThat(instructions(runtimeStage(), "COPY")).anyMatch(c -> c.contains("--from=build"));
  }

  @Test
  void theRuntimeStageRunsAsANumericNonRootUser() throws IOException {
    List<String> users = instructions(runtimeStage(), "USER");

    assertThat(users).isNotEmpty();
    String last = users.get(users.size() - 1).substring("USER ".length()).strip();
    String uid = last.split(":")[0];
    // Numeric, so that Kubernetes' runAsNonRoot can verify it without reading the image's /etc/passwd.
    assertThat(uid).matches("[0-9]+").isNotEqualTo("0");
    assertThat(last).doesNotContain(":0").doesNotContainIgnoringCase("root");
  }

  @Test
  void noEnvOrArgInAnyStageLooksLikeASecret() throws IOException {
    Set<String> names = new LinkedHashSet<>();
    for (List<String> stage : stages()) {
      for (String i : stage) {
        String upper = i.toUpperCase();
        if (upper.startsWith("ENV ") || upper.startsWith("ARG ")) {
          Matcher m = Pattern.compile("([A-Za-z_][A-Za-z0-9_]*)(?==|\\s|$)").matcher(i.substring(4).strip());
          while (m.find()) {
            names.add(m.group(1));
            // Only the first name of "ENV NAME value"; "ENV A=1 B=2" has a name before each '='.
            if (!i.substring(4).strip().contains("=")) {
              break;
            }
          }
        }
      }
    }

    assertThat(names).isNotEmpty().noneMatch(n -> SECRETISH.matcher(n).matches());
  }

  @Test
  void theImageStartsThroughTheLauncherSoItsHardeningFlagsCannotDrift() throws IOException {
    List<String> runtime = runtimeStage();
    List<String> entrypoints = instructions(runtime, "ENTRYPOINT");

    assertThat(entrypoints).hasSize(1);
    assertThat(entrypoints.get(0)).isEqualTo("ENTRYPOINT [\"/opt/oauth2relay/oauth2relay\"]");
    // The launcher copied from the repository, and the jar where that launcher looks for it.
    assertThat(instructions(runtime, "COPY"))
        .anyMatch(c -> c.matches("COPY .*\\boauth2relay /opt/oauth2relay/oauth2relay"))
        .anyMatch(c -> c.endsWith("/opt/oauth2relay/relay-server/target/oauth2relay.jar"));
    // Nothing in the image's environment turns a hardening flag back off.
    for (String i : instructions(runtime, "ENV")) {
      for (String flag : launcherFlags()) {
        assertThat(i).doesNotContain(opposite(flag));
      }
      assertThat(i).doesNotContain("JAVA_TOOL_OPTIONS").doesNotContain("StartFlightRecording");
    }
  }

  /** The {@code -XX:} flags in the launcher's {@code hardening} array. */
  private static List<String> launcherFlags() throws IOException {
    String script = Files.readString(REPO.resolve("oauth2relay"));
    Matcher block = Pattern.compile("(?s)hardening=\\((.*?)\\n\\)").matcher(script);
    assertThat(block.find()).as("the launcher's hardening=( ... ) array").isTrue();
    List<String> flags = new ArrayList<>();
    Matcher m = Pattern.compile("-XX:[+-]\\w+").matcher(block.group(1));
    while (m.find()) {
      flags.add(m.group());
    }
    assertThat(flags).contains("-XX:+DisableAttachMechanism", "-XX:-HeapDumpOnOutOfMemoryError");
    return flags;
  }

  private static String opposite(String flag) {
    return flag.startsWith("-XX:+") ? "-XX:-" + flag.substring(5) : "-XX:+" + flag.substring(5);
  }

  /**
   * The image's layout rebuilt on disk (the launcher at /opt/oauth2relay, the jar under
   * relay-server/target/, no sources, no Maven): the launcher runs the jar without trying to build.
   */
  @Test
  void theLauncherRunsTheJarInTheImagesLayoutWithoutBuilding() throws Exception {
    Path opt = dir.resolve("opt/oauth2relay");
    Files.createDirectories(opt.resolve("relay-server/target"));
    Path launcher = Files.copy(REPO.resolve("oauth2relay"), opt.resolve("oauth2relay"));
    Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("r-xr-xr-x"));
    Path jar = Path.of(System.getProperty("relay.jar", "target/oauth2relay.jar")).toAbsolutePath();
    Files.copy(jar, opt.resolve("relay-server/target/oauth2relay.jar"));

    ProcessBuilder pb = new ProcessBuilder(launcher.toString(), "version").directory(dir.toFile());
    pb.environment().put("PATH", "/usr/bin:/bin"); // as in the image: java, but no mvn on the PATH
    pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
    Path out = dir.resolve("out.txt");
    Path err = dir.resolve("err.txt");
    Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();

    assertThat(p.exitValue()).as(Files.readString(err)).isZero();
    assertThat(Files.readString(err)).doesNotContain("building");
    assertThat(Files.readString(out)).containsIgnoringCase("oauth2relay");
  }

  @Test
  void theBuildContextLeavesOutBuildOutputGitAndKeyFiles() throws IOException {
    List<String> ignored =
        Files.readAllLines(REPO.resolve(".dockerignore")).stream()
            .map(String::strip)
            .filter(l -> !l.isEmpty() && !l.startsWith("#"))
            .toList();

    assertThat(ignored).contains("**/target/", ".git/", ".env", "**/*.pem", "**/*.key");
    // No pattern that would drop the sources the build stage compiles (say, the "secrets" packages).
    assertThat(ignored).noneMatch(l -> l.contains("secrets") || l.contains("src"));
  }

  // ---------------------------------------------------------------- Kubernetes

  private static Map<String, JsonNode> manifests() throws IOException {
    Map<String, JsonNode> byKind = new java.util.LinkedHashMap<>();
    try (var files = Files.list(REPO.resolve("examples/kubernetes"))) {
      for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
        var parser = new YAMLFactory().createParser(f.toFile());
        for (JsonNode doc : YAML.readValues(parser, JsonNode.class).readAll()) {
          byKind.put(doc.get("kind").asText(), doc);
        }
      }
    }
    assertThat(byKind).containsKeys("Deployment", "Secret", "Service", "ConfigMap");
    return byKind;
  }

  private static JsonNode podSpec() throws IOException {
    return manifests().get("Deployment").at("/spec/template/spec");
  }

  /** The relay's container: a native sidecar (an init container that restarts always) or a container. */
  private static JsonNode relayContainer() throws IOException {
    JsonNode spec = podSpec();
    for (String list : List.of("initContainers", "containers")) {
      for (JsonNode c : spec.path(list)) {
        if (c.get("name").asText().equals("oauth2relay")) {
          if (list.equals("initContainers")) {
            assertThat(c.path("restartPolicy").asText()).as("a native sidecar").isEqualTo("Always");
          }
          return c;
        }
      }
    }
    throw new AssertionError("no container named oauth2relay");
  }

  /** The relay's config as the ConfigMap carries it. */
  private static String configJson() throws IOException {
    return manifests().get("ConfigMap").at("/data/config.json").asText();
  }

  @Test
  void theRelayRunsNonRootOnAReadOnlyRootFileSystemWithoutPrivileges() throws IOException {
    JsonNode pod = podSpec().path("securityContext");
    JsonNode c = relayContainer().path("securityContext");

    assertThat(c.path("readOnlyRootFilesystem").asBoolean()).isTrue();
    assertThat(c.path("runAsNonRoot").asBoolean() || pod.path("runAsNonRoot").asBoolean()).isTrue();
    assertThat(c.path("allowPrivilegeEscalation").isBoolean()).isTrue();
    assertThat(c.path("allowPrivilegeEscalation").asBoolean()).isFalse();
    assertThat(c.at("/capabilities/drop").toString()).contains("\"ALL\"");
    long uid = c.has("runAsUser") ? c.get("runAsUser").asLong() : pod.path("runAsUser").asLong(0);
    assertThat(uid).isPositive();
    assertThat(podSpec().path("automountServiceAccountToken").asBoolean(true)).isFalse();
  }

  @Test
  void theOnlyWritablePathIsAnInMemoryTmp() throws IOException {
    Map<String, JsonNode> volumes = new java.util.HashMap<>();
    podSpec().path("volumes").forEach(v -> volumes.put(v.get("name").asText(), v));

    for (JsonNode m : relayContainer().path("volumeMounts")) {
      JsonNode v = volumes.get(m.get("name").asText());
      assertThat(v).as("volume " + m.get("name")).isNotNull();
      if (m.get("mountPath").asText().equals("/tmp")) {
        assertThat(v.at("/emptyDir/medium").asText()).isEqualTo("Memory");
      } else {
        assertThat(m.path("readOnly").asBoolean()).as(m.get("mountPath").asText()).isTrue();
      }
    }
    assertThat(relayContainer().path("volumeMounts").toString()).contains("\"/tmp\"");
  }

  @Test
  void probesCheckHealthAndReadinessOnTheAdminPortTheConfigOpens() throws Exception {
    JsonNode c = relayContainer();
    int containerPort = -1;
    for (JsonNode p : c.path("ports")) {
      if (p.path("name").asText().equals("admin")) {
        containerPort = p.get("containerPort").asInt();
      }
    }
    RelayConfig config = loadConfig();

    assertThat(c.at("/livenessProbe/httpGet/path").asText()).isEqualTo("/healthz");
    assertThat(c.at("/readinessProbe/httpGet/path").asText()).isEqualTo("/readyz");
    assertThat(c.at("/livenessProbe/httpGet/port").asText()).isEqualTo("admin");
    assertThat(c.at("/readinessProbe/httpGet/port").asText()).isEqualTo("admin");
    assertThat(config.ops().admin()).as("an admin section").isNotNull();
    assertThat(config.ops().admin().port()).isEqualTo(containerPort);
    // The kubelet probes the pod's IP, so the admin port must not be loopback only.
    assertThat(config.ops().admin().host()).isEqualTo("0.0.0.0");
  }

  @Test
  void theRelaysOwnPortStaysOnThePodsLoopback() throws Exception {
    RelayConfig config = loadConfig();

    assertThat(config.host()).isEqualTo("127.0.0.1");
    assertThat(relayContainer().path("ports").toString()).doesNotContain(":" + config.port());
    JsonNode service = manifests().get("Service");
    for (JsonNode p : service.at("/spec/ports")) {
      assertThat(p.path("targetPort").asText()).isNotIn("8080", "9090", "admin");
    }
  }

  @Test
  void secretsReachTheRelayOnlyByReferenceAsEnvAndAsAMountedFile() throws Exception {
    JsonNode c = relayContainer();
    String secretName = manifests().get("Secret").at("/metadata/name").asText();
    boolean fromEnv = false;
    for (JsonNode e : c.path("env")) {
      String name = e.get("name").asText();
      if (e.has("valueFrom")) {
        fromEnv |= e.at("/valueFrom/secretKeyRef/name").asText().equals(secretName);
      } else {
        assertThat(name).as("a literal env value").doesNotMatch(SECRETISH.pattern());
      }
    }
    boolean mounted = false;
    for (JsonNode v : podSpec().path("volumes")) {
      mounted |= v.at("/secret/secretName").asText().equals(secretName);
    }

    assertThat(fromEnv).as("a Secret key as an environment variable").isTrue();
    assertThat(mounted).as("the Secret as a mounted file").isTrue();
    String json = configJson();
    assertThat(json).contains("${OAUTH2_CLIENT_ID}").contains("${file:/var/run/secrets/oauth2relay/client-secret}");
    JsonNode login = relaxedJson(json).get("login");
    for (String field : List.of("clientId", "clientSecret")) {
      assertThat(login.get(field).asText()).as("login." + field).matches(REFERENCE_ONLY);
    }
  }

  @Test
  void theSecretManifestHoldsPlaceholdersOnly() throws IOException {
    JsonNode data = manifests().get("Secret").path("stringData");

    assertThat(data.size()).isPositive();
    data.forEach(v -> assertThat(v.asText()).startsWith("REPLACE-"));
    assertThat(manifests().get("Secret").has("data")).isFalse();
  }

  @Test
  void theDrainEndsBeforeKubernetesGivesUp() throws Exception {
    long grace = podSpec().path("terminationGracePeriodSeconds").asLong(30);

    assertThat(loadConfig().ops().shutdownGrace().toSeconds()).isLessThan(grace);
  }

  /**
   * The ConfigMap's config through the relay's own loader, with the Secret's values supplied as the
   * cluster would: the environment variable, and the mounted file at a path of the test's own.
   */
  private RelayConfig loadConfig() throws Exception {
    Path secretFile = dir.resolve("client-secret");
    Files.writeString(secretFile, "placeholder-client-secret\n");
    String json = configJson().replace("/var/run/secrets/oauth2relay/client-secret", secretFile.toString());
    Map<String, String> env = Map.of("OAUTH2_CLIENT_ID", "orders-service");
    return new ConfigLoader(env::get).parse(relaxedJson(json), "configmap.yaml#config.json");
  }

  private static JsonNode relaxedJson(String json) throws IOException {
    ObjectMapper m = new ObjectMapper();
    m.enable(com.fasterxml.jackson.core.JsonParser.Feature.ALLOW_COMMENTS);
    return m.readTree(json);
  }

  // ---------------------------------------------------------------- GitHub Actions

  @Test
  void theWorkflowHandsCredentialsToTheRelayFromTheRunnersSecretsOnly() throws IOException {
    Path file = REPO.resolve("examples/github-actions/relay.yml");
    JsonNode workflow = YAML.readTree(file.toFile());
    String text = Files.readString(file, StandardCharsets.UTF_8);
    List<String> secretEnv = new ArrayList<>();

    for (JsonNode job : iterable(workflow.path("jobs"))) {
      for (JsonNode step : job.path("steps")) {
        for (Map.Entry<String, JsonNode> e : iterable(step.path("env").fields())) {
          if (SECRETISH.matcher(e.getKey()).matches()) {
            assertThat(e.getValue().asText()).as(e.getKey()).matches("\\$\\{\\{ secrets\\.[A-Z0-9_]+ }}");
            secretEnv.add(e.getKey());
          }
        }
        // A secret is never interpolated into a script (it would land in the runner's script file).
        assertThat(step.path("run").asText()).doesNotContain("secrets.");
      }
    }

    assertThat(secretEnv).contains("OAUTH2_CLIENT_SECRET");
    assertThat(text).contains("\"clientSecret\": \"${OAUTH2_CLIENT_SECRET}\"");
    assertThat(text).contains("kill -TERM"); // stopped by a signal: drained and wiped, not killed
  }

  private static <T> Iterable<T> iterable(java.util.Iterator<T> it) {
    return () -> it;
  }

  private static Iterable<JsonNode> iterable(JsonNode node) {
    return node::elements;
  }
}
