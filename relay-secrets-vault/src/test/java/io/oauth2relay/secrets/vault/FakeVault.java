package io.oauth2relay.secrets.vault;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.github.jopenlibs.vault.json.Json;
import io.github.jopenlibs.vault.json.JsonArray;
import io.github.jopenlibs.vault.json.JsonObject;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import javax.net.ssl.SSLContext;

/**
 * A loopback HTTP server that replays the responses Vault documents for the few endpoints the provider
 * uses, and records every request. It is not Vault: it checks only what each test sets up.
 *
 * <ul>
 *   <li>{@code GET /v1/<kv1 mount>/<path>}: KV v1 read, {@code {"data":{...}}}</li>
 *   <li>{@code GET /v1/<kv2 mount>/data/<path>[?version=N]}: KV v2 read,
 *       {@code {"data":{"data":{...},"metadata":{...}}}}</li>
 *   <li>{@code POST /v1/auth/<approle mount>/login}, {@code POST /v1/auth/<kubernetes mount>/login}:
 *       {@code {"auth":{"client_token":...,"lease_duration":...,"renewable":...}}}</li>
 *   <li>{@code GET /v1/auth/token/lookup-self}, {@code POST /v1/auth/token/renew-self}</li>
 *   <li>errors as Vault answers them: {@code 404 {"errors":[]}}, {@code 403 {"errors":["permission denied"]}},
 *       {@code 400 {"errors":["invalid role or secret ID"]}}</li>
 * </ul>
 *
 * <p>References: developer.hashicorp.com/vault/api-docs/secret/kv/kv-v1, .../kv/kv-v2,
 * .../auth/approle, .../auth/kubernetes, .../auth/token.
 */
final class FakeVault implements AutoCloseable {

    /** One recorded request; header names are lower-case. */
    record Request(String method, String path, String query, Map<String, String> headers, String body) {
        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }

        JsonObject json() {
            return Json.parse(body).asObject();
        }
    }

    private record TokenInfo(long ttl, boolean renewable) {
    }

    private final HttpServer server;
    private final List<Request> requests = new ArrayList<>(); // guarded by "this"
    private final Map<String, Integer> mounts = new ConcurrentHashMap<>();
    private final Map<String, List<Map<String, String>>> secrets = new ConcurrentHashMap<>();
    private final Map<String, TokenInfo> tokens = new ConcurrentHashMap<>();
    private final Set<String> forbiddenPaths = ConcurrentHashMap.newKeySet();
    private final Set<String> failingRenewals = ConcurrentHashMap.newKeySet();
    private final Map<String, String[]> appRoles = new ConcurrentHashMap<>();
    private final Map<String, String[]> kubernetesRoles = new ConcurrentHashMap<>();
    private final AtomicInteger issued = new AtomicInteger();
    private volatile long loginTtl = 3600;
    private volatile boolean loginRenewable = true;

    FakeVault() throws IOException {
        this(null);
    }

    /** Serves https with {@code tls} when it is not {@code null}. */
    FakeVault(SSLContext tls) throws IOException {
        final InetSocketAddress loopback = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
        if (tls == null) {
            server = HttpServer.create(loopback, 0);
        } else {
            final HttpsServer https = HttpsServer.create(loopback, 0);
            https.setHttpsConfigurator(new HttpsConfigurator(tls));
            server = https;
        }
        server.createContext("/", this::handle);
        server.start();
    }

    String address() {
        return (server instanceof HttpsServer ? "https" : "http") + "://127.0.0.1:" + server.getAddress().getPort();
    }

    // ---- set-up ----

    FakeVault kvMount(String mount, int version) {
        mounts.put(mount, version);
        return this;
    }

    /** Adds a version of the secret at {@code mount/path} (KV v1 keeps only the last). */
    FakeVault secret(String mountAndPath, Map<String, String> data) {
        secrets.computeIfAbsent(mountAndPath, k -> new ArrayList<>()).add(Map.copyOf(data));
        return this;
    }

    FakeVault forbid(String mountAndPath) {
        forbiddenPaths.add(mountAndPath);
        return this;
    }

    FakeVault token(String token, long ttl, boolean renewable) {
        tokens.put(token, new TokenInfo(ttl, renewable));
        return this;
    }

    FakeVault appRole(String mount, String roleId, String secretId) {
        appRoles.put(mount, new String[] {roleId, secretId});
        return this;
    }

    FakeVault kubernetesRole(String mount, String role, String jwt) {
        kubernetesRoles.put(mount, new String[] {role, jwt});
        return this;
    }

    /** TTL and renewability of the tokens that later logins issue. */
    FakeVault loginTokens(long ttl, boolean renewable) {
        this.loginTtl = ttl;
        this.loginRenewable = renewable;
        return this;
    }

    /** Makes renew-self with this token answer 403, as Vault does for an expired or revoked token. */
    FakeVault failRenewalOf(String token) {
        failingRenewals.add(token);
        return this;
    }

    // ---- what the driver sent ----

    synchronized List<Request> requests() {
        return List.copyOf(requests);
    }

    synchronized List<Request> requests(Predicate<Request> filter) {
        return requests.stream().filter(filter).toList();
    }

    /**
     * Waits until {@code count} recorded requests match, and returns the last of them: the latch the
     * renewal tests wait on instead of sleeping.
     */
    synchronized Request await(Predicate<Request> filter, int count, Duration timeout) throws InterruptedException {
        final long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            final List<Request> matching = requests.stream().filter(filter).toList();
            if (matching.size() >= count) {
                return matching.get(count - 1);
            }
            final long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new AssertionError("timed out waiting for " + count + " matching request(s); got "
                        + requests);
            }
            wait(Math.max(1, left / 1_000_000));
        }
    }

    static Predicate<Request> to(String method, String path) {
        return r -> r.method().equals(method) && r.path().equals(path);
    }

    @Override
    public void close() {
        server.stop(0);
    }

    // ---- the replay ----

    private void handle(HttpExchange exchange) throws IOException {
        final String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        final Map<String, String> headers = new ConcurrentHashMap<>();
        exchange.getRequestHeaders().forEach((name, values) -> headers.put(name.toLowerCase(Locale.ROOT),
                values.get(0)));
        final String path = exchange.getRequestURI().getPath();
        final String query = exchange.getRequestURI().getRawQuery();
        final Request request = new Request(exchange.getRequestMethod(), path, query, Map.copyOf(headers), body);
        synchronized (this) {
            requests.add(request);
            notifyAll();
        }
        try {
            answer(exchange, request);
        } finally {
            exchange.close();
        }
    }

    private void answer(HttpExchange exchange, Request request) throws IOException {
        final String path = request.path();
        final String token = request.header("X-Vault-Token");

        if (request.method().equals("POST") && path.startsWith("/v1/auth/") && path.endsWith("/login")) {
            logIn(exchange, request, path.substring("/v1/auth/".length(), path.length() - "/login".length()));
            return;
        }
        if (path.equals("/v1/auth/token/lookup-self") && request.method().equals("GET")) {
            final TokenInfo info = token == null ? null : tokens.get(token);
            if (info == null) {
                send(exchange, 403, errors("permission denied"));
                return;
            }
            send(exchange, 200, "{\"request_id\":\"r\",\"lease_id\":\"\",\"renewable\":false,\"lease_duration\":0,"
                    + "\"data\":{\"accessor\":\"a\",\"creation_time\":1700000000,\"creation_ttl\":" + info.ttl()
                    + ",\"display_name\":\"token\",\"explicit_max_ttl\":0,\"id\":\"" + token + "\","
                    + "\"num_uses\":0,\"orphan\":false,\"path\":\"auth/token/create\",\"policies\":[\"default\"],"
                    + "\"renewable\":" + info.renewable() + ",\"ttl\":" + info.ttl() + ",\"type\":\"service\"},"
                    + "\"wrap_info\":null,\"warnings\":null,\"auth\":null}");
            return;
        }
        if (path.equals("/v1/auth/token/renew-self") && request.method().equals("POST")) {
            final TokenInfo info = token == null ? null : tokens.get(token);
            if (info == null || failingRenewals.contains(token)) {
                send(exchange, 403, errors("permission denied"));
                return;
            }
            send(exchange, 200, authAnswer(token, info.ttl(), info.renewable()));
            return;
        }
        if (!request.method().equals("GET") || !path.startsWith("/v1/")) {
            send(exchange, 405, errors("unsupported operation"));
            return;
        }
        if (token == null || !tokens.containsKey(token)) {
            send(exchange, 403, errors("permission denied"));
            return;
        }
        read(exchange, request, path.substring("/v1/".length()));
    }

    private void read(HttpExchange exchange, Request request, String apiPath) throws IOException {
        final int slash = apiPath.indexOf('/');
        final String mount = slash < 0 ? apiPath : apiPath.substring(0, slash);
        final Integer kv = mounts.get(mount);
        if (kv == null || slash < 0) {
            send(exchange, 403, errors("permission denied")); // Vault: no mount there, no policy either
            return;
        }
        String rest = apiPath.substring(slash + 1);
        if (kv == 2) {
            if (!rest.startsWith("data/")) {
                send(exchange, 404, errors());
                return;
            }
            rest = rest.substring("data/".length());
        }
        final String key = mount + "/" + rest;
        if (forbiddenPaths.contains(key)) {
            send(exchange, 403, errors("1 error occurred:\n\t* permission denied\n\n"));
            return;
        }
        final List<Map<String, String>> versions = secrets.get(key);
        if (versions == null) {
            send(exchange, 404, errors());
            return;
        }
        if (kv == 1) {
            send(exchange, 200, "{\"request_id\":\"r\",\"lease_id\":\"\",\"renewable\":false,"
                    + "\"lease_duration\":2764800,\"data\":" + object(versions.get(versions.size() - 1))
                    + ",\"wrap_info\":null,\"warnings\":null,\"auth\":null}");
            return;
        }
        int version = versions.size();
        final String query = request.query();
        if (query != null && query.startsWith("version=")) {
            version = Integer.parseInt(query.substring("version=".length()));
        }
        if (version < 1 || version > versions.size()) {
            send(exchange, 404, errors());
            return;
        }
        send(exchange, 200, "{\"request_id\":\"r\",\"lease_id\":\"\",\"renewable\":false,\"lease_duration\":0,"
                + "\"data\":{\"data\":" + object(versions.get(version - 1)) + ",\"metadata\":{"
                + "\"created_time\":\"2018-03-22T02:24:06.945319214Z\",\"custom_metadata\":null,"
                + "\"deletion_time\":\"\",\"destroyed\":false,\"version\":" + version + "}},"
                + "\"wrap_info\":null,\"warnings\":null,\"auth\":null}");
    }

    private void logIn(HttpExchange exchange, Request request, String mount) throws IOException {
        final JsonObject body;
        try {
            body = request.json();
        } catch (RuntimeException e) {
            send(exchange, 400, errors("failed to parse JSON input"));
            return;
        }
        final String[] appRole = appRoles.get(mount);
        if (appRole != null) {
            if (appRole[0].equals(body.getString("role_id", null))
                    && appRole[1].equals(body.getString("secret_id", null))) {
                send(exchange, 200, authAnswer(issue(), loginTtl, loginRenewable));
            } else {
                send(exchange, 400, errors("invalid role or secret ID"));
            }
            return;
        }
        final String[] kubernetes = kubernetesRoles.get(mount);
        if (kubernetes != null) {
            if (kubernetes[0].equals(body.getString("role", null))
                    && kubernetes[1].equals(body.getString("jwt", null))) {
                send(exchange, 200, authAnswer(issue(), loginTtl, loginRenewable));
            } else {
                send(exchange, 403, errors("permission denied"));
            }
            return;
        }
        send(exchange, 404, errors("no handler for route \"auth/" + mount + "/login\""));
    }

    private String issue() {
        final String token = "hvs.issued-" + issued.incrementAndGet();
        tokens.put(token, new TokenInfo(loginTtl, loginRenewable));
        return token;
    }

    private static String authAnswer(String token, long ttl, boolean renewable) {
        return "{\"request_id\":\"r\",\"lease_id\":\"\",\"renewable\":false,\"lease_duration\":0,\"data\":null,"
                + "\"wrap_info\":null,\"warnings\":null,\"auth\":{\"client_token\":\"" + token + "\","
                + "\"accessor\":\"acc\",\"policies\":[\"default\",\"relay\"],"
                + "\"token_policies\":[\"default\",\"relay\"],\"metadata\":{\"role_name\":\"relay\"},"
                + "\"lease_duration\":" + ttl + ",\"renewable\":" + renewable + ",\"entity_id\":\"e\","
                + "\"token_type\":\"service\",\"orphan\":true}}";
    }

    private static String object(Map<String, String> data) {
        final JsonObject object = Json.object();
        data.forEach(object::add);
        return object.toString();
    }

    private static String errors(String... messages) {
        final JsonArray array = new JsonArray();
        for (String message : messages) {
            array.add(message);
        }
        return "{\"errors\":" + array + "}";
    }

    private static void send(HttpExchange exchange, int status, String json) throws IOException {
        final byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }
}
