package io.oauth2relay.server.cli;

import io.oauth2relay.server.internal.CoarseClock;
import io.oauth2relay.server.Relay;
import io.oauth2relay.server.config.RelayConfig;
import java.net.BindException;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "start", description = "Starts the relay with a config file; runs until SIGTERM or SIGINT.")
final class StartCommand implements Callable<Integer> {
  @Mixin ConfigOption config;

  @Override
  public Integer call() throws Exception {
    RelayConfig c = config.load();
    if (c == null) {
      return Main.BAD_CONFIG;
    }
    Logging.configure(c.debug(), c.logfile(), c.ops().jsonLogs());
    Logger log = LoggerFactory.getLogger(StartCommand.class);
    log.info("oauth2relay {} starting with {} ({} environment variables resolved)",
        Main.version(), c.source(), c.variables().size());
    Relay relay;
    try {
      relay = new Relay(c, CoarseClock.systemUTC());
    } catch (IllegalArgumentException e) {
      // A key or certificate file that exists but cannot be used: a config problem, named without content.
      System.err.println("oauth2relay: config error: " + c.source() + ": " + e.getMessage());
      c.closeSecrets();
      return Main.BAD_CONFIG;
    }
    try {
      relay.start();
    } catch (java.io.UncheckedIOException e) {
      relay.close();
      System.err.println("oauth2relay: error: cannot listen on the admin port " + c.ops().admin().host() + ":"
          + c.ops().admin().port() + " (" + e.getCause().getClass().getSimpleName() + ")");
      return Main.FAILED;
    } catch (Exception e) {
      relay.close();
      System.err.println("oauth2relay: error: cannot listen on " + c.host() + ":" + c.port() + " ("
          + (e instanceof BindException ? e.getMessage() : e.toString()) + ")");
      return Main.FAILED;
    }
    return runUntilSignal(relay, c.ops().shutdownGrace(), log);
  }

  /**
   * Waits for SIGTERM/SIGINT, then drains the started {@code relay}: no new connections, requests in flight
   * get up to {@code grace} to finish, then everything closes and every token is zeroed; returns 0. A
   * second signal during the drain cuts it short.
   */
  static int runUntilSignal(Relay relay, java.time.Duration grace, Logger log) throws InterruptedException {
    CountDownLatch stop = new CountDownLatch(1);
    Signals.onTermination(
        () -> {
          if (stop.getCount() == 0) {
            relay.close(); // a second signal: stop waiting for requests in flight
          }
          stop.countDown();
        });
    stop.await();
    log.info("stopping: draining requests in flight (up to {} s), then closing connections and wiping tokens",
        grace.toSeconds());
    int cut = relay.drain(grace);
    if (cut > 0) {
      log.warn("{} request(s) still in flight after the grace period were cut off", cut);
    }
    log.info("stopped: connections closed, tokens wiped");
    return Main.OK;
  }
}
