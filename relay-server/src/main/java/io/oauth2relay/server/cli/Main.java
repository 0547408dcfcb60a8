package io.oauth2relay.server.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code oauth2relay start|check|demo|version}. Exit codes: 0 success, 1 runtime failure, 2 bad config or
 * usage. Errors are one line each on standard error, never with a stack trace or a secret value.
 */
@Command(
    name = "oauth2relay",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Relays requests to a third-party API with a valid OAuth2 access token injected.",
    subcommands = {StartCommand.class, CheckCommand.class, DemoCommand.class, VersionCommand.class})
public final class Main implements Runnable {
  static final int OK = 0;
  static final int FAILED = 1;
  static final int BAD_CONFIG = 2;

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the command line and returns its exit code (for tests, which must not exit the JVM). */
  public static int run(String... args) {
    CommandLine cli = new CommandLine(new Main());
    cli.setExecutionExceptionHandler(
        (e, commandLine, parseResult) -> {
          // Anything unexpected: its type and message, never a stack trace (which could hold a value).
          commandLine.getErr().println("oauth2relay: error: " + e.getClass().getSimpleName()
              + (e.getMessage() == null ? "" : ": " + e.getMessage()));
          return FAILED;
        });
    return cli.execute(args);
  }

  @Override
  public void run() {
    new CommandLine(this).usage(System.out);
  }

  /** The version from the jar manifest. */
  static String version() {
    String v = Main.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"oauth2relay " + version()};
    }
  }
}
