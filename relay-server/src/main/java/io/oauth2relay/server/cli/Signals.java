package io.oauth2relay.server.cli;

import sun.misc.Signal;

/**
 * SIGTERM and SIGINT end the relay in an orderly way (wipe, exit 0) rather than through the JVM's
 * shutdown-hook exit code 143. {@code sun.misc.Signal} is the JDK's supported-but-unofficial API for this
 * (module jdk.unsupported).
 */
final class Signals {
  private Signals() {}

  static void onTermination(Runnable action) {
    for (String name : new String[] {"TERM", "INT"}) {
      try {
        Signal.handle(new Signal(name), s -> action.run());
      } catch (IllegalArgumentException e) {
        // the signal is not available on this platform, or already used by the JVM: nothing to do
      }
    }
  }
}
