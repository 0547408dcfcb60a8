package io.oauth2relay.server.config;

import java.util.Set;

/**
 * One third-party API behind the relay: which caller requests it takes, how it gets its token, and how
 * it forwards them. The seed format is one route named {@code relay} at {@code /}; a {@code routes} list
 * gives several, each with its own token, so tokens never cross routes.
 *
 * @param name the route's name in metrics, readiness and the access log
 * @param pathPrefix caller paths this route takes: {@code /} for all, else a prefix without a trailing
 *     slash that matches whole segments ({@code /crm} takes {@code /crm} and {@code /crm/x}, not {@code /crmx})
 * @param host the caller's {@code Host} (or {@code :authority}) this route takes, lower case and without
 *     port, or {@code null} for any
 * @param stripPrefix whether {@code pathPrefix} is taken off the caller's path before it is appended to
 *     {@code relay.url}'s path
 * @param login the login call, or {@code null} when {@code relay.fixedtoken} is set
 * @param refresh the refresh call, or {@code null}
 * @param relay the forwarding rules
 * @param policy how this route's token is kept fresh
 * @param origin how the relay connects to this route's upstream
 * @param callers names of the {@code inbound.apiKeys} that may use this route, or {@code null} for every
 *     authenticated caller
 */
public record RouteSpec(
    String name,
    String pathPrefix,
    String host,
    boolean stripPrefix,
    LoginSpec login,
    TokenCall refresh,
    RelaySpec relay,
    TokenPolicy policy,
    OriginSpec origin,
    Set<String> callers) {

  public RouteSpec {
    callers = callers == null ? null : Set.copyOf(callers);
  }

  /** A route open to every authenticated caller. */
  public RouteSpec(
      String name,
      String pathPrefix,
      String host,
      boolean stripPrefix,
      LoginSpec login,
      TokenCall refresh,
      RelaySpec relay,
      TokenPolicy policy,
      OriginSpec origin) {
    this(name, pathPrefix, host, stripPrefix, login, refresh, relay, policy, origin, null);
  }
}
