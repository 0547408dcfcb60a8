package io.oauth2relay.server.config;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import javax.security.auth.x500.X500Principal;

/**
 * How the relay is operated and who may call it: the top-level {@code admin}, {@code inbound},
 * {@code requireCallerAuth}, {@code shutdownGraceSeconds}, {@code logFormat}, {@code accessLog},
 * {@code sensitiveQueryParams}, {@code requestHeaderTimeoutSeconds} and {@code ioThreads} fields (read by
 * {@link OpsSections}).
 *
 * @param admin the admin listener, or {@code null} when there is none
 * @param inbound caller authentication, or {@link Inbound#NONE}
 * @param shutdownGrace how long in-flight requests may take to finish after SIGTERM/SIGINT
 * @param jsonLogs one JSON object per log line instead of the text pattern
 * @param accessLog one log line per relayed request
 * @param sensitiveQueryParams lower-case query parameter names whose values the access log masks
 * @param requestHeaderTimeout how long an HTTP/1.1 caller may take to send a request head once its first
 *     byte arrived ({@code requestHeaderTimeoutSeconds}; slow-loris protection)
 * @param ioThreads event loops carrying requests ({@code ioThreads}); 0 is Netty's default, two per available processor
 */
public record OpsSpec(
    Admin admin,
    Inbound inbound,
    Duration shutdownGrace,
    boolean jsonLogs,
    boolean accessLog,
    Set<String> sensitiveQueryParams,
    Duration requestHeaderTimeout,
    int ioThreads) {

  /** Masked in the access log whatever the config adds. */
  public static final Set<String> DEFAULT_SENSITIVE =
      Set.of(
          "access_token", "token", "id_token", "refresh_token", "code", "password", "passwd", "secret",
          "client_secret", "api_key", "apikey", "key", "signature", "sig", "assertion");

  public static final OpsSpec DEFAULTS =
      new OpsSpec(null, Inbound.NONE, Duration.ofSeconds(20), false, true, DEFAULT_SENSITIVE, Duration.ofSeconds(30), 0);

  /** Whether {@code host} is a loopback literal or {@code localhost} (no name is looked up). */
  public static boolean isLoopback(String host) {
    String h = host.trim().toLowerCase(Locale.ROOT);
    if (h.startsWith("[") && h.endsWith("]")) {
      h = h.substring(1, h.length() - 1);
    }
    if (h.equals("localhost")) {
      return true;
    }
    Cidr address = Cidr.parse(h);
    return address != null
        && (Cidr.parse("127.0.0.0/8").contains(toInet(address)) || Cidr.parse("::1").equals(address));
  }

  private static java.net.InetAddress toInet(Cidr c) {
    try {
      return java.net.InetAddress.getByAddress(c.network());
    } catch (java.net.UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The admin listener: {@code /healthz}, {@code /readyz}, {@code /metrics}. */
  public record Admin(String host, int port) {}

  /**
   * Caller authentication.
   *
   * @param header the request header carrying an API key
   * @param apiKeys accepted keys, resolved from secret references (empty: no key required)
   * @param allowFrom source networks allowed to call (empty: any)
   * @param certificates accepted client certificates (empty: none required); the TLS handshake has
   *     already checked that a presented certificate chains to {@code tls.clientCa}
   */
  public record Inbound(String header, List<ApiKey> apiKeys, List<Cidr> allowFrom, List<Certificate> certificates) {
    public static final Inbound NONE = new Inbound("X-Api-Key", List.of(), List.of(), List.of());

    /** Caller authentication without client certificates. */
    public Inbound(String header, List<ApiKey> apiKeys, List<Cidr> allowFrom) {
      this(header, apiKeys, allowFrom, List.of());
    }

    /** Whether any caller check is configured. */
    public boolean authenticates() {
      return !apiKeys.isEmpty() || !allowFrom.isEmpty() || !certificates.isEmpty();
    }

    @Override
    public String toString() {
      return "Inbound[header=" + header + ", apiKeys=" + apiKeys.size() + " (****), allowFrom=" + allowFrom
          + ", certificates=" + certificates + "]";
    }
  }

  /**
   * One accepted client certificate: its subject, the SHA-256 pin of its public key, or both (then both
   * must match). Neither is a secret: a certificate is shown to anyone the caller connects to.
   *
   * @param name the caller's name that routes' {@code callers} lists refer to
   * @param subject the subject distinguished name, compared in canonical form; {@code null}: any
   * @param spki the SHA-256 digest of the certificate's SubjectPublicKeyInfo (32 bytes; the
   *     {@code sha256/BASE64} pin of RFC 7469 decoded); {@code null}: any
   */
  public record Certificate(String name, X500Principal subject, byte[] spki) {
    public Certificate {
      spki = spki == null ? null : spki.clone();
    }

    @Override
    public byte[] spki() {
      return spki == null ? null : spki.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Certificate c
          && name.equals(c.name)
          && java.util.Objects.equals(subject, c.subject)
          && java.util.Arrays.equals(spki, c.spki);
    }

    @Override
    public int hashCode() {
      return java.util.Objects.hash(name, subject, java.util.Arrays.hashCode(spki));
    }

    @Override
    public String toString() {
      return "Certificate[name=" + name + (subject == null ? "" : ", subject=" + subject.getName())
          + (spki == null ? "" : ", spki=sha256/" + java.util.Base64.getEncoder().encodeToString(spki)) + "]";
    }
  }

  /**
   * One accepted API key.
   *
   * @param name the caller's name that routes' {@code callers} lists refer to, or {@code null} for a key
   *     of the list form ({@code "apiKeys": ["${KEY}"]}), which may use every route open to all callers
   * @param key the key, resolved at start-up
   */
  public record ApiKey(String name, Template key) {
    @Override
    public String toString() {
      return "ApiKey[name=" + name + ", key=****]";
    }
  }
}
