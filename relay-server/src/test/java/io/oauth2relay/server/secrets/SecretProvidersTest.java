package io.oauth2relay.server.secrets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.oauth2relay.secrets.spi.Secret;
import io.oauth2relay.secrets.spi.SecretException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SecretProvidersTest {
  @TempDir Path dir;

  private static String value(Secret s) {
    try (s) {
      return s.apply(String::new);
    }
  }

  private static SecretProviders noPlugins(Duration cache, Clock clock) {
    return SecretProviders.discover(null, Map.of(), cache, clock);
  }

  @Test
  void theBuiltInProvidersAreFoundOnTheClassPath() {
    try (SecretProviders providers = noPlugins(Duration.ZERO, Clock.systemUTC())) {
      assertThat(providers.names()).contains("file", "vault", "aws-sm");
    }
  }

  @Test
  void aFileReferenceIsTheWholeFileWithOneTrailingNewlineTrimmed() throws Exception {
    Path f = Files.writeString(dir.resolve("password"), "s3cr3t! \n", StandardCharsets.UTF_8);
    try (SecretProviders providers = noPlugins(Duration.ZERO, Clock.systemUTC())) {
      assertThat(value(providers.resolve("file", f.toString()))).isEqualTo("s3cr3t! ");
    }
  }

  @Test
  void aRotatedFileIsReadAgainAtTheNextResolution() throws Exception {
    Path f = Files.writeString(dir.resolve("password"), "first\n");
    try (SecretProviders providers = noPlugins(Duration.ZERO, Clock.systemUTC())) {
      assertThat(value(providers.resolve("file", f.toString()))).isEqualTo("first");
      Files.writeString(f, "second\r\n");
      assertThat(value(providers.resolve("file", f.toString()))).isEqualTo("second");
    }
  }

  @Test
  void aMissingFileNamesTheReferenceAndNoValue() {
    try (SecretProviders providers = noPlugins(Duration.ZERO, Clock.systemUTC())) {
      String missing = dir.resolve("nope").toString();
      assertThatThrownBy(() -> providers.resolve("file", missing))
          .isInstanceOf(SecretException.class)
          .hasMessage("file:" + missing + ": no such file");
    }
  }

  @Test
  void withACacheLifetimeAValueIsReusedUntilItExpiresOrIsForgotten() throws Exception {
    Path f = Files.writeString(dir.resolve("password"), "first");
    AtomicLong now = new AtomicLong(1_000_000);
    Clock clock =
        new Clock() {
          @Override
          public ZoneOffset getZone() {
            return ZoneOffset.UTC;
          }

          @Override
          public Clock withZone(java.time.ZoneId zone) {
            return this;
          }

          @Override
          public Instant instant() {
            return Instant.ofEpochMilli(now.get());
          }
        };
    try (SecretProviders providers = noPlugins(Duration.ofSeconds(60), clock)) {
      assertThat(value(providers.resolve("file", f.toString()))).isEqualTo("first");
      Files.writeString(f, "second");
      assertThat(value(providers.resolve("file", f.toString()))).isEqualTo("first");
      now.addAndGet(61_000);
      assertThat(value(providers.resolve("file", f.toString()))).isEqualTo("second");
      Files.writeString(f, "third");
      assertThat(providers.forget()).isTrue();
      assertThat(value(providers.resolve("file", f.toString()))).isEqualTo("third");
    }
  }

  @Test
  void forgetReportsWhetherAnythingWasCached() {
    try (SecretProviders providers = noPlugins(Duration.ZERO, Clock.systemUTC())) {
      assertThat(providers.forget()).isFalse();
    }
  }

  @Test
  void aProviderJarBuiltFromTheExampleProjectIsLoadedFromAPluginFolder() throws Exception {
    Path plugins = Files.createDirectory(dir.resolve("plugins"));
    PluginJars.build(PluginJars.exampleProject(), plugins.resolve("keyfile.jar"));
    Path keys = Files.writeString(dir.resolve("api.keys"), "api.user=client_123\napi.password=s3cr3t!\n");

    try (SecretProviders providers =
        SecretProviders.discover(
            plugins, Map.of("keyfile", Map.of("file", keys.toString())), Duration.ZERO, Clock.systemUTC())) {
      assertThat(providers.names()).contains("keyfile", "file");
      assertThat(value(providers.resolve("keyfile", "api.password"))).isEqualTo("s3cr3t!");
      assertThatThrownBy(() -> providers.resolve("keyfile", "api.missing"))
          .isInstanceOf(SecretException.class)
          .hasMessageContaining("api.missing")
          .hasMessageNotContaining("s3cr3t!");
    }
  }

  @Test
  void twoProvidersWithOneNameAreAStartUpErrorNamingBoth() throws Exception {
    Path plugins = Files.createDirectory(dir.resolve("plugins"));
    PluginJars.build(PluginJars.exampleProject(), plugins.resolve("a.jar"));
    Files.copy(plugins.resolve("a.jar"), plugins.resolve("b.jar"));

    assertThatThrownBy(() -> SecretProviders.discover(plugins, Map.of(), Duration.ZERO, Clock.systemUTC()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("two secret providers are named 'keyfile'")
        .hasMessageContaining("a.jar")
        .hasMessageContaining("b.jar");
  }

  @Test
  void aPluginFolderThatDoesNotExistIsNamed() {
    Path missing = dir.resolve("no-such-folder");
    assertThatThrownBy(() -> SecretProviders.discover(missing, Map.of(), Duration.ZERO, Clock.systemUTC()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("plugins: " + missing + " is not a folder");
  }

  @Test
  void aProviderSettingProblemIsReportedUnderItsSection() {
    try (SecretProviders providers =
        SecretProviders.discover(null, Map.of("file", Map.of("path", "x")), Duration.ZERO, Clock.systemUTC())) {
      assertThatThrownBy(() -> providers.resolve("file", "/etc/hostname"))
          .isInstanceOf(SecretException.class)
          .hasMessageContaining("secrets.file");
    }
  }
}
