package io.oauth2relay.server.config;

import io.oauth2relay.server.secrets.SecretProviders;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * A validated, resolved config file.
 *
 * @param source the file it was read from, as the user named it
 * @param host the address the relay listens on
 * @param port the port the relay listens on (0 picks a free one)
 * @param debug whether to log at debug level
 * @param logfile where to write the log besides the console, or {@code null}
 * @param login the login call, or {@code null} when {@code relay.fixedtoken} is set
 * @param refresh the refresh call, or {@code null} when there is none (then every renewal is a login)
 * @param relay the forwarding rules
 * @param policy how tokens are kept fresh (the {@code token} section)
 * @param variables names of the environment variables and secret references the config resolved (names
 *     only)
 * @param secrets the secret providers its {@code ${scheme:reference}}s use (closed with the relay), or
 *     {@code null}
 * @param ops admin port, caller authentication, shutdown and logging ({@link OpsSpec})
 * @param routes the routes, at least one; the seed format gives one, named {@code relay}, at {@code /}
 *     from {@code login}, {@code refresh}, {@code relay} and {@code token}
 * @param tls TLS on the listener, or {@code null} for cleartext
 */
public record RelayConfig(
    String source,
    String host,
    int port,
    boolean debug,
    Path logfile,
    LoginSpec login,
    TokenCall refresh,
    RelaySpec relay,
    TokenPolicy policy,
    Set<String> variables,
    SecretProviders secrets,
    OpsSpec ops,
    List<RouteSpec> routes,
    ServerTls tls) {

  /** Closes the secret providers, zeroing what they cached; for a config that is not run (check). */
  public void closeSecrets() {
    if (secrets != null) {
      secrets.close();
    }
  }
}
