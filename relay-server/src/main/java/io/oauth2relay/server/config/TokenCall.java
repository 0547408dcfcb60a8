package io.oauth2relay.server.config;

import java.net.URI;
import java.util.Map;

/**
 * One call to the identity provider: the seed's {@code login} or {@code refresh} section.
 *
 * @param method HTTP method, upper case
 * @param url absolute http(s) URL of the endpoint
 * @param headers header templates, in config order
 * @param body the request body; {@link Body#NONE} for none
 * @param mapping where the response keeps each token value
 * @param clientAuth standard client authentication added at call time, or {@code null} (seed style)
 * @param issuer when {@code url} is {@code null}: the issuer whose metadata names the token endpoint
 */
public record TokenCall(
    String method,
    URI url,
    Map<String, Template> headers,
    Body body,
    ResponseMapping mapping,
    ClientAuth clientAuth,
    URI issuer) {

  /** The RFC 6749 names of a token response's fields. */
  public static final ResponseMapping RFC6749 =
      new ResponseMapping("access_token", "expires_in", "", "token_type", "refresh_token");

  /**
   * A request body: either one template sent as it renders ({@code "data": "..."}), or fields that are
   * encoded by content type ({@code "data": {"k": "v"}}): form-urlencoded unless the call's
   * {@code Content-Type} says JSON.
   */
  public record Body(Template raw, Map<String, Template> fields, boolean json) {
    public static final Body NONE = new Body(Template.empty(), Map.of(), false);

    public boolean isEmpty() {
      return raw.isEmpty() && fields.isEmpty();
    }
  }
}
