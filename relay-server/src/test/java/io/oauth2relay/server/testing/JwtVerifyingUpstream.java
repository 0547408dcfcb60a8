package io.oauth2relay.server.testing;

import static java.util.Objects.requireNonNull;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.DefaultResourceRetriever;
import com.nimbusds.jose.util.JSONObjectUtils;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.MalformedURLException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * An upstream API for tests: answers any method on any path, but only to a valid bearer token.
 *
 * <p>A request whose single {@code Authorization: Bearer <jwt>} verifies against the JWKS (signature,
 * {@code exp} with no clock skew, and {@code iss} when an issuer was given) gets 200 and a JSON echo:
 *
 * <pre>{@code
 * {"method":"POST","path":"/v1/items","query":"a=1","sub":"...","preferred_username":"alice",
 *  "azp":"relay-client","bodyLength":12}
 * }</pre>
 *
 * <p>Anything else (no header, two headers, another scheme, a garbage, foreign or expired token) gets 401
 * with {@code WWW-Authenticate: Bearer error="invalid_token"}, the way a real resource server answers.
 *
 * <p>Counters and the last request's headers are updated before the response is sent, so they are
 * up to date as soon as the caller has its response. Thread-safe; requests are served on a cached pool of
 * daemon threads.
 */
public final class JwtVerifyingUpstream implements AutoCloseable {

    private static final Set<JWSAlgorithm> ACCEPTED_ALGORITHMS = Set.of(
            JWSAlgorithm.RS256, JWSAlgorithm.RS384, JWSAlgorithm.RS512,
            JWSAlgorithm.PS256, JWSAlgorithm.PS384, JWSAlgorithm.PS512,
            JWSAlgorithm.ES256, JWSAlgorithm.ES384, JWSAlgorithm.ES512,
            JWSAlgorithm.EdDSA);
    // Keycloak answers the JWKS quickly, but the first request after its start can be slow on 2 cores;
    // nimbus' defaults (500 ms) would turn that into a spurious 401.
    private static final int JWKS_TIMEOUT_MILLIS = 5_000;
    private static final int JWKS_SIZE_LIMIT = 256 * 1024;
    private static final String INVALID_TOKEN = "Bearer error=\"invalid_token\"";

    private final HttpServer server;
    private final ExecutorService executor;
    private final DefaultJWTProcessor<SecurityContext> processor;
    private final AtomicInteger accepted = new AtomicInteger();
    private final AtomicInteger rejected = new AtomicInteger();
    private final AtomicReference<Map<String, List<String>>> lastRequestHeaders =
            new AtomicReference<>(Map.of());
    private final AtomicReference<String> lastRejectionReason = new AtomicReference<>();

    private JwtVerifyingUpstream(URI jwksUrl, String expectedIssuer) throws IOException {
        processor = processor(jwksUrl, expectedIssuer);
        executor = Executors.newCachedThreadPool(runnable -> {
            final Thread thread = new Thread(runnable, "jwt-verifying-upstream");
            thread.setDaemon(true);
            return thread;
        });
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(executor);
        server.createContext("/", this::handle);
        server.start();
    }

    /**
     * Starts an upstream on {@code 127.0.0.1} and a free port.
     *
     * @param jwksUrl where the signing keys are published
     * @param expectedIssuer the required {@code iss} claim, or {@code null} to accept any issuer
     */
    public static JwtVerifyingUpstream start(URI jwksUrl, String expectedIssuer) throws IOException {
        return new JwtVerifyingUpstream(requireNonNull(jwksUrl, "jwksUrl"), expectedIssuer);
    }

    /** Starts an upstream that accepts the tokens of the given Keycloak's realm. */
    public static JwtVerifyingUpstream forKeycloak(KeycloakServer keycloak) throws IOException {
        requireNonNull(keycloak, "keycloak");
        return start(keycloak.jwksUrl(), keycloak.issuer());
    }

    /** {@code http://127.0.0.1:PORT}, without a trailing slash. */
    public URI baseUrl() {
        return URI.create("http://127.0.0.1:" + port());
    }

    public int port() {
        return server.getAddress().getPort();
    }

    /** Requests answered with 200. */
    public int acceptedRequests() {
        return accepted.get();
    }

    /** Requests answered with 401. */
    public int rejectedRequests() {
        return rejected.get();
    }

    /**
     * The headers of the last request, accepted or not, with case-insensitive names; empty before the first
     * request. A header sent twice has two values.
     */
    public Map<String, List<String>> lastRequestHeaders() {
        return lastRequestHeaders.get();
    }

    /** The first value of a header of the last request, or {@code null}. */
    public String lastRequestHeader(String name) {
        final List<String> values = lastRequestHeaders.get().get(requireNonNull(name, "name"));
        return values == null || values.isEmpty() ? null : values.get(0);
    }

    /** Why the last rejected request was rejected, or {@code null}; handy in assertion messages. */
    public String lastRejectionReason() {
        return lastRejectionReason.get();
    }

    /** Zeroes the counters and forgets the last request, for a fixture shared between tests. */
    public void reset() {
        accepted.set(0);
        rejected.set(0);
        lastRequestHeaders.set(Map.of());
        lastRejectionReason.set(null);
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }

    @Override
    public String toString() {
        return "JwtVerifyingUpstream{" + baseUrl() + ", accepted=" + accepted + ", rejected=" + rejected + "}";
    }

    private static DefaultJWTProcessor<SecurityContext> processor(URI jwksUrl, String expectedIssuer)
            throws MalformedURLException {
        final JWKSource<SecurityContext> keys = JWKSourceBuilder.<SecurityContext>create(
                        jwksUrl.toURL(),
                        new DefaultResourceRetriever(JWKS_TIMEOUT_MILLIS, JWKS_TIMEOUT_MILLIS, JWKS_SIZE_LIMIT))
                .build();
        final JWTClaimsSet exactMatch = expectedIssuer == null
                ? new JWTClaimsSet.Builder().build()
                : new JWTClaimsSet.Builder().issuer(expectedIssuer).build();
        final DefaultJWTClaimsVerifier<SecurityContext> claims =
                new DefaultJWTClaimsVerifier<>(exactMatch, Set.of("exp"));
        // Nimbus forgives 60 s by default. The relay must replace a token before it expires, so an
        // expired token must be refused the moment it expires.
        claims.setMaxClockSkew(0);
        final DefaultJWTProcessor<SecurityContext> processor = new DefaultJWTProcessor<>();
        processor.setJWSKeySelector(new JWSVerificationKeySelector<>(ACCEPTED_ALGORITHMS, keys));
        processor.setJWTClaimsSetVerifier(claims);
        return processor;
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            final long bodyLength;
            try (InputStream body = exchange.getRequestBody()) {
                bodyLength = body.transferTo(OutputStream.nullOutputStream());
            }
            final Map<String, List<String>> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
            exchange.getRequestHeaders().forEach((name, values) -> headers.put(name, List.copyOf(values)));
            lastRequestHeaders.set(Collections.unmodifiableMap(headers));

            final JWTClaimsSet claims;
            try {
                claims = verify(headers.getOrDefault("Authorization", List.of()));
            } catch (Exception e) {
                rejected.incrementAndGet();
                lastRejectionReason.set(e.toString());
                exchange.getResponseHeaders().set("WWW-Authenticate", INVALID_TOKEN);
                respond(exchange, 401, Map.of("error", "invalid_token"));
                return;
            }

            final Map<String, Object> echo = new LinkedHashMap<>();
            echo.put("method", exchange.getRequestMethod());
            echo.put("path", exchange.getRequestURI().getRawPath());
            final String query = exchange.getRequestURI().getRawQuery();
            echo.put("query", query == null ? "" : query);
            putIfPresent(echo, "sub", claims.getSubject());
            putIfPresent(echo, "preferred_username", claims.getClaim("preferred_username"));
            putIfPresent(echo, "azp", claims.getClaim("azp"));
            echo.put("bodyLength", bodyLength);
            accepted.incrementAndGet();
            respond(exchange, 200, echo);
        }
    }

    private JWTClaimsSet verify(List<String> authorization) throws Exception {
        if (authorization.size() != 1) {
            throw new IllegalArgumentException("Authorization headers: " + authorization.size() + " (expected: 1)");
        }
        final String value = authorization.get(0).strip();
        // The scheme is case-insensitive (RFC 9110, section 11.1).
        if (!value.toLowerCase(Locale.ROOT).startsWith("bearer ")) {
            throw new IllegalArgumentException("Authorization scheme is not Bearer");
        }
        return processor.process(value.substring("bearer ".length()).strip(), null);
    }

    private static void putIfPresent(Map<String, Object> map, String key, Object value) {
        if (value != null) {
            map.put(key, value);
        }
    }

    private static void respond(HttpExchange exchange, int status, Map<String, ?> json) throws IOException {
        final byte[] body = JSONObjectUtils.toJSONString(json).getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        if ("HEAD".equals(exchange.getRequestMethod())) {
            exchange.sendResponseHeaders(status, -1);
            return;
        }
        exchange.sendResponseHeaders(status, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }
}
