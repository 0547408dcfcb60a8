package io.oauth2relay.server.cli;

import io.oauth2relay.server.config.RelayConfig;
import io.oauth2relay.server.config.TokenCall;
import java.net.URI;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(
    name = "check",
    description = "Validates a config and that every variable it references is set; prints no secret value.")
final class CheckCommand implements Callable<Integer> {
  @Mixin ConfigOption config;

  @Override
  public Integer call() {
    RelayConfig c = config.load();
    if (c == null) {
      return Main.BAD_CONFIG;
    }
    System.out.println(c.source() + ": OK");
    System.out.println("  listen   " + c.host() + ":" + c.port() + (c.debug() ? " (debug)" : "")
        + (c.logfile() == null ? "" : ", log file " + c.logfile()));
    System.out.println("  relay    " + (c.relay().method() == null ? "any method" : c.relay().method())
        + " -> " + origin(c.relay().url()));
    if (!c.relay().fixedToken().isEmpty()) {
      System.out.println("  token    fixed (relay.fixedtoken)");
    }
    if (c.login() != null) {
      System.out.println("  login    " + call(c.login().call()));
    }
    System.out.println("  refresh  " + (c.refresh() == null ? "none (renewals log in again)" : call(c.refresh())));
    System.out.println("  variables resolved: " + (c.variables().isEmpty() ? "none" : String.join(", ", c.variables())));
    c.closeSecrets();
    return Main.OK;
  }

  private static String call(TokenCall call) {
    return call.method() + " " + origin(call.url());
  }

  /** scheme://host[:port]/path: a query may carry a credential, so it is never printed. */
  private static String origin(URI uri) {
    return uri.getScheme() + "://" + uri.getHost() + (uri.getPort() < 0 ? "" : ":" + uri.getPort())
        + (uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath());
  }
}
