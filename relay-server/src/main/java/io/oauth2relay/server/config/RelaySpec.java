package io.oauth2relay.server.config;

import java.net.URI;
import java.util.Map;

/**
 * The seed's {@code relay} section: where and how caller requests are forwarded.
 *
 * @param url the upstream base URL; a caller's path and query are appended to its path
 * @param method the only method callers may use, or {@code null} to keep each caller's method
 * @param contentType the {@code Content-Type} given to a request body that has none (from {@code type})
 * @param fixedToken a static access token used instead of any login, empty when none
 * @param data a body sent when the caller sends none, empty when none
 * @param parameters query parameters added to every forwarded request (replacing the caller's of one name)
 * @param headers headers set on every forwarded request (replacing the caller's of one name)
 */
public record RelaySpec(
    URI url,
    String method,
    String contentType,
    Template fixedToken,
    Template data,
    Map<String, Template> parameters,
    Map<String, Template> headers) {}
