package io.oauth2relay.server.config;

import java.nio.file.Path;

/**
 * TLS on the relay's own listener (the top-level {@code tls} section): HTTPS with ALPN choosing
 * {@code h2} or {@code http/1.1}, and optionally client certificates (mutual TLS).
 *
 * @param certificate PEM certificate chain, leaf first
 * @param key PEM private key (PKCS#1, PKCS#8 or encrypted PKCS#8)
 * @param keyPassword the password of an encrypted {@code key}; empty when none
 * @param clientCa PEM certificates that caller certificates must chain to, or {@code null}
 * @param clientAuth whether callers must present a certificate
 */
public record ServerTls(
    Path certificate, Path key, Template keyPassword, Path clientCa, ClientCertificates clientAuth) {

  /** Whether callers present certificates. */
  public enum ClientCertificates {
    NONE("none"),
    OPTIONAL("optional"),
    REQUIRE("require");

    private final String id;

    ClientCertificates(String id) {
      this.id = id;
    }

    /** The name written in the config. */
    public String id() {
      return id;
    }
  }
}
