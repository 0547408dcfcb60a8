package io.oauth2relay.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.oauth2relay.server.secrets.PluginJars;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code ./oauth2relay} as a user runs it: the launcher script, the packaged jar, a child process. */
class CommandLineIT {
  private static final String CANARY = "CANARY-" + UUID.randomUUID();

  @TempDir Path dir;

  private final HttpClient http = HttpClient.newHttpClient();

  private static String seedSample() throws Exception {
    try (var in = CommandLineIT.class.getResourceAsStream("/seed/sample-config.json")) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private Path write(String name, String content) throws Exception {
    Path file = dir.resolve(name);
    Files.writeString(file, content);
    return file;
  }

  @Test
  void checkNamesAMissingVariableAndItsFieldAndExitsNonZero() throws Exception {
    Path config = write("c.json", seedSample().replace("\"YOUR_PASSWORD\"", "\"${ENV_API_PASSWORD_UNSET}\""));

    RelayProcess p = RelayProcess.run(dir, Map.of("YOUR_AUTHSTRING", CANARY), "check", "--config", config.toString());

    assertThat(p.exitCode()).isEqualTo(2);
    assertThat(p.stderr().lines()).singleElement().asString()
        .contains(config.toString(), "login.password", "ENV_API_PASSWORD_UNSET")
        .doesNotContain(CANARY);
    assertThat(p.stdout() + p.stderr()).doesNotContain("\tat ").doesNotContain("Exception");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "an invalid URL     | \"https://saas.example.com/\"  | \"not a url\"          | relay.url",
        "a missing section  | \"relay\": {                   | \"relya\": {           | relay",
        "malformed JSON     | \"debug\": true,               | \"debug\": true,,      | malformed JSON at line 4",
        "a wrong type       | \"port\": 8080                 | \"port\": \"eighty\"   | port",
      })
  void aBadConfigExitsNonZeroWithOneLineNamingTheField(String what, String from, String to, String named)
      throws Exception {
    Path config = write("bad.json", seedSample().replace(from, to));

    RelayProcess p = RelayProcess.run(dir, Map.of("YOUR_AUTHSTRING", CANARY), "start", "--config", config.toString());

    assertThat(p.exitCode()).isEqualTo(2);
    assertThat(p.stderr()).contains(config.toString()).contains(named).doesNotContain(CANARY).doesNotContain("\tat ");
    assertThat(p.stderr().lines().filter(l -> l.contains(config + ": " + named))).hasSize(1);
  }

  @Test
  void checkLoadsACustomProviderFromThePluginsFolderAndPrintsTheReferenceNotTheValue() throws Exception {
    Path plugins = Files.createDirectory(dir.resolve("plugins"));
    PluginJars.build(PluginJars.exampleProject(), plugins.resolve("keyfile.jar"));
    Path keys = write("api.keys", "api.password=" + CANARY + "\n");
    Path config = write("c.json", seedSample()
        .replace("\"login\": {", "\"secrets\": { \"keyfile\": { \"file\": \"" + keys + "\" } },\n\"login\": {")
        .replace("\"YOUR_PASSWORD\"", "\"${keyfile:api.password}\""));

    RelayProcess p = RelayProcess.run(dir, Map.of("YOUR_AUTHSTRING", "dXNlcjpwYXNz"),
        "check", "--config", config.toString(), "--plugins", plugins.toString());

    assertThat(p.exitCode()).as(p.stderr()).isEqualTo(0);
    assertThat(p.stdout()).contains("keyfile:api.password");
    assertThat(p.stdout() + p.stderr()).doesNotContain(CANARY);
  }

  @Test
  void twoPluginsWithOneProviderNameStopTheRelayWithOneLineNamingBothJars() throws Exception {
    Path plugins = Files.createDirectory(dir.resolve("plugins"));
    PluginJars.build(PluginJars.exampleProject(), plugins.resolve("ours.jar"));
    Files.copy(plugins.resolve("ours.jar"), plugins.resolve("theirs.jar"));
    Path config = write("c.json", seedSample());

    RelayProcess p = RelayProcess.run(dir, Map.of("YOUR_AUTHSTRING", CANARY),
        "start", "--config", config.toString(), "--plugins", plugins.toString());

    assertThat(p.exitCode()).isEqualTo(2);
    assertThat(p.stderr().lines()).singleElement().asString()
        .contains("plugins", "two secret providers are named 'keyfile'", "ours.jar", "theirs.jar");
    assertThat(p.stderr()).doesNotContain("\tat ");
  }

  @Test
  void checkPassesOnTheSeedSampleAndPrintsNoSecretValue() throws Exception {
    Path config = write("seed.json", seedSample());

    RelayProcess p = RelayProcess.run(dir, Map.of("YOUR_AUTHSTRING", CANARY), "check", "--config", config.toString());

    assertThat(p.exitCode()).isZero();
    assertThat(p.stdout()).contains("OK").contains("YOUR_AUTHSTRING").doesNotContain(CANARY);
  }

  @Test
  void theSeedSampleConfigStartsUnchangedAndRelaysWithoutPrintingASecret() throws Exception {
    String authstring = Base64.getEncoder().encodeToString(("client_123:" + CANARY).getBytes(StandardCharsets.UTF_8));
    try (SeedDialectThirdParty third = new SeedDialectThirdParty(authstring)) {
      third.tokenPrefix = CANARY + "-token";
      third.lifetimeSeconds = 1;
      // Only the third party's address changes (and the port, should 8080 be taken on this machine);
      // everything else is the seed's sample as written.
      String sample =
          seedSample()
              .replace("https://saas.example.com/login", third.url() + "/login")
              .replace("https://saas.example.com/refresh", third.url() + "/refresh")
              .replace("https://saas.example.com/", third.url() + "/api/");
      Path config = write("oauth2relay.json", portFree(8080) ? sample : sample.replace("\"port\": 8080", "\"port\": 0"));
      RelayProcess relay =
          RelayProcess.start(dir, Map.of("YOUR_AUTHSTRING", authstring), "start", "--config", config.toString());
      try (relay) {
        String base = "http://127.0.0.1:" + relay.awaitPort(Duration.ofSeconds(120));

        assertThat(get(base + "/orders?id=7").statusCode()).isEqualTo(200);
        Thread.sleep(1_200); // expire the 1 s token: the next request refreshes
        assertThat(get(base + "/orders?id=8").statusCode()).isEqualTo(200);
        third.refreshStatus = 401;
        Thread.sleep(1_200); // expire again, with refresh now rejected: the next request logs in again
        assertThat(get(base + "/orders?id=9").statusCode()).isEqualTo(200);

        assertThat(relay.stop()).isZero();
        // The sample config renews ahead of expiry in the background, so counts are lower bounds.
        assertThat(third.logins.get()).isGreaterThanOrEqualTo(2);
        assertThat(third.refreshes.get()).isGreaterThanOrEqualTo(2);
        assertThat(third.rejectedApiCalls.get()).isZero();
        String log = Files.readString(dir.resolve("oauth2relay.log"));
        assertThat(log).contains("DEBUG").contains("refresh succeeded").contains("wiping tokens");
        for (String output : new String[] {relay.stdout(), relay.stderr(), log}) {
          assertThat(output).doesNotContain(CANARY).doesNotContain(authstring);
        }
      }
    }
  }

  @Test
  void demoShowsARelayedRequestSucceedInOneCommand() throws Exception {
    RelayProcess demo = RelayProcess.start(dir, Map.of(), "demo", "--port", "0");
    try (demo) {
      Matcher curl = demo.awaitStdout(Pattern.compile("curl -s (http://127\\.0\\.0\\.1:\\d+/hello\\?name=world)"), Duration.ofSeconds(120));
      Matcher direct = demo.awaitStdout(Pattern.compile("straight to the API is refused:\\s+curl -s (\\S+)"), Duration.ofSeconds(5));

      HttpResponse<String> relayed = get(curl.group(1));
      HttpResponse<String> refused = get(direct.group(1));

      assertThat(relayed.statusCode()).isEqualTo(200);
      assertThat(relayed.body()).contains("hello from the demo third-party API").contains("country_code=US");
      assertThat(refused.statusCode()).isEqualTo(401);
      assertThat(demo.stop()).isZero();
    }
  }

  @Test
  void versionPrintsTheVersion() throws Exception {
    RelayProcess p = RelayProcess.run(dir, Map.of(), "version");

    assertThat(p.exitCode()).isZero();
    assertThat(p.stdout()).startsWith("oauth2relay 0.1.0");
  }

  private static boolean portFree(int port) {
    try (java.net.ServerSocket s = new java.net.ServerSocket(port)) {
      return true;
    } catch (java.io.IOException e) {
      return false;
    }
  }

  private HttpResponse<String> get(String url) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
  }
}
