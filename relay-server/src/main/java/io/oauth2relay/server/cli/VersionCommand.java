package io.oauth2relay.server.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(name = "version", description = "Prints the version.")
final class VersionCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    System.out.println("oauth2relay " + Main.version() + " (Java " + Runtime.version() + ")");
    return Main.OK;
  }
}
