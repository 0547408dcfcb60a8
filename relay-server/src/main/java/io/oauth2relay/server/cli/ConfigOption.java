package io.oauth2relay.server.cli;

import io.oauth2relay.server.config.ConfigException;
import io.oauth2relay.server.config.ConfigLoader;
import io.oauth2relay.server.config.RelayConfig;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The {@code --config FILE} and {@code --plugins DIR} options shared by {@code start} and {@code check}. */
final class ConfigOption {
  @Option(
      names = {"-c", "--config"},
      required = true,
      paramLabel = "FILE",
      description = "The relay's JSON config file.")
  Path file;

  @Option(
      names = "--plugins",
      paramLabel = "DIR",
      description = "A folder of secret-provider jars (overrides the config's \"plugins\" field).")
  Path plugins;

  /** Loads the config, printing each problem on its own line and returning {@code null} on failure. */
  RelayConfig load() {
    try {
      return new ConfigLoader(System::getenv, plugins).load(file);
    } catch (ConfigException e) {
      for (String problem : e.problems()) {
        System.err.println("oauth2relay: config error: " + problem);
      }
      return null;
    }
  }
}
