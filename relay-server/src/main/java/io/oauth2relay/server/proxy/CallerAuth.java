package io.oauth2relay.server.proxy;

import io.oauth2relay.server.config.Cidr;
import io.oauth2relay.server.config.OpsSpec;
import io.oauth2relay.server.config.TemplateValues;
import java.net.InetAddress;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.security.auth.x500.X500Principal;

/**
 * Who may call the relay (the {@code inbound} section), and which route each caller may use (a route's
 * {@code callers}): source networks, client certificates and API keys. Only SHA-256 digests of the keys are
 * kept; a presented key is hashed and compared with every digest in constant time
 * ({@link MessageDigest#isEqual}, all digests, no early exit), so neither the content nor the length of a
 * key, nor which entry it matched, leaks through timing.
 *
 * <p>A client certificate has already chained to {@code tls.clientCa} in the handshake; here it is matched
 * against the {@code inbound.certificates} entries: the subject in canonical form
 * ({@link X500Principal#equals}), the SHA-256 of its SubjectPublicKeyInfo compared like a key with every
 * pin. A certificate may satisfy several entries (one by subject, another by pin); it is then each of
 * those callers, as a route's {@code callers} sees it.
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
  private final List<String> certificateNames;
  /** By entry: the subject a certificate must have, or {@code null} for any. */
  private final List<X500Principal> subjects;
  /** By entry: the SHA-256 of the SubjectPublicKeyInfo a certificate must have, or {@code null} for any. */
  private final List<byte[]> pins;

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
    List<String> certificateNames = new ArrayList<>();
    List<X500Principal> subjects = new ArrayList<>();
    List<byte[]> pins = new ArrayList<>();
    for (OpsSpec.Certificate c : inbound.certificates()) {
      certificateNames.add(c.name());
      subjects.add(c.subject());
      pins.add(c.spki());
    }
    this.certificateNames = List.copyOf(certificateNames);
    this.subjects = java.util.Collections.unmodifiableList(subjects);
    this.pins = java.util.Collections.unmodifiableList(pins);
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

  /** Whether a caller must present a client certificate that an {@code inbound.certificates} entry admits. */
  boolean requiresCertificate() {
    return !certificateNames.isEmpty();
  }

  /**
   * The names of the {@code inbound.certificates} entries that {@code certificate} (the caller's leaf,
   * already verified by the handshake) satisfies; empty when none does. Every entry is checked, and the
   * pin is compared with every configured pin ({@link MessageDigest#isEqual}, no early exit).
   */
  List<String> matchCertificate(X509Certificate certificate) {
    X500Principal subject = certificate.getSubjectX500Principal();
    byte[] spki = sha256(certificate.getPublicKey().getEncoded()); // X.509 encoding: the SubjectPublicKeyInfo
    List<String> matched = new ArrayList<>(1);
    for (int i = 0; i < certificateNames.size(); i++) {
      X500Principal wanted = subjects.get(i);
      byte[] pin = pins.get(i);
      boolean subjectOk = wanted == null || wanted.equals(subject); // canonical (RFC 2253) comparison
      boolean pinOk = pin == null || MessageDigest.isEqual(pin, spki);
      if (subjectOk & pinOk) {
        matched.add(certificateNames.get(i));
      }
    }
    return List.copyOf(matched);
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
    return mayUse(key, List.of(), route);
  }

  /**
   * Whether a caller may use the route named {@code route}: the route admits everyone, or its
   * {@code callers} lists the name of the caller's key ({@code key}, as for {@link #mayUse(int, String)}) or
   * one of the names its certificate matched ({@code certificates}, from {@link #matchCertificate}).
   */
  boolean mayUse(int key, List<String> certificates, String route) {
    Set<String> allowed = routeCallers.get(route);
    if (allowed == null) {
      return true;
    }
    String name = key == NO_KEY ? null : keyNames.get(key);
    if (name != null && allowed.contains(name)) {
      return true;
    }
    for (String c : certificates) {
      if (allowed.contains(c)) {
        return true;
      }
    }
    return false;
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
        + ", certificates=" + certificateNames + ", restrictedRoutes=" + routeCallers.keySet() + "]";
  }
}
