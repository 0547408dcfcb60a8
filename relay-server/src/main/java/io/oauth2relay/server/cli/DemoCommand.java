package io.oauth2relay.server.cli;

import io.oauth2relay.server.internal.CoarseClock;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.oauth2relay.server.Relay;
import io.oauth2relay.server.config.ConfigLoader;
import io.oauth2relay.server.config.RelayConfig;
import io.oauth2relay.server.demo.DemoThirdParty;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "demo",
    description = "Runs the relay on loopback in front of a demo token endpoint and API, in one process.")
final class DemoCommand implements Callable<Integer> {
  /** The config a user would write, in the seed's format; the ${...} values come from {@link #call}. */
  private static final String CONFIG =
      """
      {
        "port": %d,
        "host": "127.0.0.1",
        "debug": %b,
        "login": {
          "user": "${DEMO_API_USER}",
          "password": "${DEMO_API_PASSWORD}",
          "method": "GET",
          "url": "%s/login",
          "headers": { "Authorization": "Basic ${AUTHSTRING}" },
          "parameters": { "AccessToken": "AccessToken", "ExpiresIn": "ExpiresIn",
                          "TokenType": "TokenType", "RefreshToken": "RefreshToken" }
        },
        "refresh": {
          "method": "POST",
          "url": "%s/refresh",
          "data": "{\\"token\\": \\"${REFRESHTOKEN}\\"}",
          "headers": { "Authorization": "${REFRESHTOKEN}", "Content-Type": "application/json" }
        },
        "relay": {
          "url": "%s/",
          "parameters": { "country_code": "US" },
          "headers": { "Authorization": "Bearer ${ACCESSTOKEN}" }
        }
      }
      """;

  @Option(names = "--port", defaultValue = "8080", description = "Relay port on 127.0.0.1 (0 = any free port; default ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--token-lifetime", defaultValue = "30", description = "Seconds each demo access token lives (default ${DEFAULT-VALUE}).")
  long lifetime;

  @Option(names = "--debug", description = "Log at debug level.")
  boolean debug;

  @Override
  public Integer call() throws Exception {
    Logging.configure(debug, null);
    Logger log = LoggerFactory.getLogger(DemoCommand.class);
    // Credentials made up for this run, handed over the way a deployment would: as environment values.
    Map<String, String> env = Map.of("DEMO_API_USER", "demo-client", "DEMO_API_PASSWORD", randomSecret());
    DemoThirdParty third = new DemoThirdParty(env.get("DEMO_API_USER"), env.get("DEMO_API_PASSWORD"), lifetime);
    String json = CONFIG.formatted(port, debug, third.identityUrl(), third.identityUrl(), third.apiUrl());
    RelayConfig config = new ConfigLoader(env::get).parse(new ObjectMapper().readTree(json), "demo config");
    Relay relay = new Relay(config, CoarseClock.systemUTC());
    int bound;
    try {
      bound = relay.start().getPort();
    } catch (Exception e) {
      relay.close();
      third.close();
      System.err.println("oauth2relay: error: cannot listen on 127.0.0.1:" + port + " (" + e.getMessage()
          + "); try --port 0");
      return Main.FAILED;
    }
    String relayUrl = "http://127.0.0.1:" + bound;
    System.out.println();
    System.out.println("oauth2relay demo is running (Ctrl-C stops it):");
    System.out.println("  token endpoint  " + third.identityUrl() + "/login   (seed dialect; tokens live " + lifetime + " s)");
    System.out.println("  third-party API " + third.apiUrl() + "/         (answers only tokens it issued)");
    System.out.println("  relay           " + relayUrl + "/");
    System.out.println();
    System.out.println("A request through the relay gets a token injected:");
    System.out.println("  curl -s " + relayUrl + "/hello?name=world");
    System.out.println("The same request straight to the API is refused:");
    System.out.println("  curl -s " + third.apiUrl() + "/hello?name=world");
    System.out.println();
    System.out.flush();
    try {
      return StartCommand.runUntilSignal(relay, config.ops().shutdownGrace(), log);
    } finally {
      third.close();
    }
  }

  private static String randomSecret() {
    byte[] b = new byte[18];
    new SecureRandom().nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }
}
