package io.oauth2relay.server.config;

import java.nio.file.Path;

/**
 * How a standard OAuth2 token call authenticates the client (RFC 6749 §2.3, RFC 7523, RFC 8705).
 *
 * @param method the authentication method
 * @param clientId {@code login.clientId}
 * @param clientSecret {@code login.clientSecret} (client_secret_basic and client_secret_post)
 * @param privateKey PEM private key file (private_key_jwt), or {@code null}
 * @param keyId the {@code kid} header of client assertions, or {@code null}
 * @param certificate PEM client certificate chain (tls_client_auth), or {@code null}
 */
public record ClientAuth(
    Method method,
    Template clientId,
    Template clientSecret,
    Path privateKey,
    String keyId,
    Path certificate) {

  /** The token endpoint authentication methods of the OAuth2 registry. */
  public enum Method {
    CLIENT_SECRET_BASIC("client_secret_basic"),
    CLIENT_SECRET_POST("client_secret_post"),
    PRIVATE_KEY_JWT("private_key_jwt"),
    TLS_CLIENT_AUTH("tls_client_auth"),
    NONE("none");

    private final String id;

    Method(String id) {
      this.id = id;
    }

    /** The registry name, as written in the config. */
    public String id() {
      return id;
    }

    static Method byId(String id) {
      for (Method m : values()) {
        if (m.id.equals(id)) {
          return m;
        }
      }
      return null;
    }
  }
}
