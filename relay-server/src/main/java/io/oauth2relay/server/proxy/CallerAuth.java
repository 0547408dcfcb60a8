package io.oauth2relay.server.proxy;

import io.oauth2relay.server.config.Cidr;
import io.oauth2relay.server.config.OpsSpec;
import io.oauth2relay.server.config.TemplateValues;
import java.net.InetAddress;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Who may call the relay (the {@code inbound} section), and which route each caller may use (a route's
 * {@code callers}): source networks and API keys. Only SHA-256 digests of the keys are kept; a presented
 * key is hashed and compared with every digest in constant time ({@link MessageDigest#isEqual}, all
 * digests, no early exit), so neither the content nor the length of a key, nor which entry it matched,
 * leaks through timing.
 */
public final class CallerAuth {
  /** {@link #match} of a key that is none of the configured ones. */
  static final int NO_KEY = -1;

  private final String header;
  private final List<byte[]> keyDigests;
  /** The name of each key, by index; {@code null} for a key of the list form. */
  private final List<String> keyNames;
  /** Route name to the key names that may use it; a route not in the map admits every caller. */
  private final Map<String, Set<String>> routeCallers;
  private final List<Cidr> networks;

  /** Caller authentication with every route open to every authenticated caller. */
  public CallerAuth(OpsSpec.Inbound inbound) {
    this(inbound, Map.of());
  }

  /** @param routeCallers route name to the names of the keys that may use it (routes absent: everyone) */
  public CallerAuth(OpsSpec.Inbound inbound, Map<String, Set<String>> routeCallers) {
    this.header = inbound.header();
    this.networks = inbound.allowFrom();
    List<byte[]> digests = new ArrayList<>();
    List<String> names = new ArrayList<>();
    for (OpsSpec.ApiKey key : inbound.apiKeys()) {
      byte[] bytes = key.key().render(TemplateValues.NONE);
      digests.add(sha256(bytes));
      Arrays.fill(bytes, (byte) 0);
      names.add(key.name());
    }
    this.keyDigests = List.copyOf(digests);
    this.keyNames = java.util.Collections.unmodifiableList(names);
    Map<String, Set<String>> callers = new HashMap<>();
    routeCallers.forEach((route, allowed) -> callers.put(route, Set.copyOf(allowed)));
    this.routeCallers = Map.copyOf(callers);
  }

  String header() {
    return header;
  }

  boolean requiresKey() {
    return !keyDigests.isEmpty();
  }

  /** Whether a caller at {@code address} may connect at all. */
  boolean allows(InetAddress address) {
    if (networks.isEmpty()) {
      return true;
    }
    for (Cidr network : networks) {
      if (network.contains(address)) {
        return true;
      }
    }
    return false;
  }

  /** Whether {@code presented} (the header's raw bytes; zeroed here) is one of the configured keys. */
  boolean acceptsKey(byte[] presented) {
    return match(presented) != NO_KEY;
  }

  /**
   * Which configured key {@code presented} (the header's raw bytes; zeroed here) is, or {@link #NO_KEY}.
   * Every digest is compared, and the index is picked without a branch on the outcome.
   */
  int match(byte[] presented) {
    byte[] digest = sha256(presented);
    Arrays.fill(presented, (byte) 0);
    int match = NO_KEY;
    for (int i = 0; i < keyDigests.size(); i++) {
      int equal = MessageDigest.isEqual(digest, keyDigests.get(i)) ? 1 : 0;
      int mask = -equal; // all ones when equal, else zero
      match = (i & mask) | (match & ~mask);
    }
    return match;
  }

  /**
   * Whether the caller holding key {@code key} (an index from {@link #match}, or {@link #NO_KEY} when no
   * key is required) may use the route named {@code route}.
   */
  boolean mayUse(int key, String route) {
    Set<String> allowed = routeCallers.get(route);
    if (allowed == null) {
      return true;
    }
    String name = key == NO_KEY ? null : keyNames.get(key);
    return name != null && allowed.contains(name);
  }

  /** Whether any route admits only some callers (then the route is looked up for each request). */
  boolean restrictsRoutes() {
    return !routeCallers.isEmpty();
  }

  private static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every Java platform", e);
    }
  }

  @Override
  public String toString() {
    return "CallerAuth[header=" + header + ", keys=" + keyDigests.size() + ", networks=" + networks
        + ", restrictedRoutes=" + routeCallers.keySet() + "]";
  }
}
