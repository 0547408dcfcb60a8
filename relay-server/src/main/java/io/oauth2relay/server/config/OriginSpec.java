package io.oauth2relay.server.config;

import java.nio.file.Path;
import java.time.Duration;

/**
 * How the relay talks to one route's upstream (a route's optional {@code origin} section).
 *
 * @param protocol which HTTP version to speak to the upstream
 * @param caBundle PEM certificates trusted for the upstream's TLS certificate instead of the system trust
 *     store, or {@code null}
 * @param clientCertificate PEM certificate chain presented to the upstream (mutual TLS), or {@code null}
 * @param clientKey PEM private key of {@code clientCertificate} (PKCS#1, PKCS#8 or encrypted PKCS#8), or
 *     {@code null}
 * @param clientKeyPassword the password of an encrypted {@code clientKey}; empty when none
 * @param connectTimeout how long a connection to the upstream may take
 * @param responseTimeout how long the upstream may take to start its response once the request is sent
 * @param idleTimeout nothing read or written for this long: a pooled connection is closed, and an exchange
 *     that stalls mid-response is cut
 * @param maxConnections the most connections to the upstream per event loop (HTTP/1.1), beyond which
 *     requests wait for one to come free
 * @param forwardedHeaders whether to add {@code X-Forwarded-For}, {@code -Proto} and {@code -Host}
 * @param via the {@code Via} pseudonym the relay adds (RFC 9110 §7.6.3), or {@code null} for none
 * @param totalTimeout the longest a whole exchange with the upstream may take, from sending the request to
 *     the end of the response; {@link Duration#ZERO} for no limit (streams of any length)
 */
public record OriginSpec(
    Protocol protocol,
    Path caBundle,
    Path clientCertificate,
    Path clientKey,
    Template clientKeyPassword,
    Duration connectTimeout,
    Duration responseTimeout,
    Duration idleTimeout,
    int maxConnections,
    boolean forwardedHeaders,
    String via,
    Duration totalTimeout) {

  /** Without a whole-exchange limit. */
  public OriginSpec(
      Protocol protocol,
      Path caBundle,
      Path clientCertificate,
      Path clientKey,
      Template clientKeyPassword,
      Duration connectTimeout,
      Duration responseTimeout,
      Duration idleTimeout,
      int maxConnections,
      boolean forwardedHeaders,
      String via) {
    this(protocol, caBundle, clientCertificate, clientKey, clientKeyPassword, connectTimeout, responseTimeout,
        idleTimeout, maxConnections, forwardedHeaders, via, Duration.ZERO);
  }

  /** The defaults documented in docs/CONFIG.md. */
  public static final OriginSpec DEFAULTS =
      new OriginSpec(
          Protocol.AUTO,
          null,
          null,
          null,
          Template.empty(),
          Duration.ofSeconds(10),
          Duration.ofSeconds(60),
          Duration.ofSeconds(60),
          512,
          true,
          "oauth2relay");

  /** The HTTP version spoken to an upstream. */
  public enum Protocol {
    /** HTTP/1.1 only. */
    HTTP1("http1"),
    /** HTTP/2 only: ALPN {@code h2} over TLS, prior knowledge over cleartext. */
    HTTP2("h2"),
    /** Over TLS, ALPN offers {@code h2} and {@code http/1.1} and the upstream chooses; cleartext is HTTP/1.1. */
    AUTO("auto");

    private final String id;

    Protocol(String id) {
      this.id = id;
    }

    /** The name written in the config. */
    public String id() {
      return id;
    }
  }
}
