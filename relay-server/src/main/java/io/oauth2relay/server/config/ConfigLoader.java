package io.oauth2relay.server.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Pattern;
import io.oauth2relay.server.secrets.SecretProviders;

/**
 * Reads the seed's config format: validates every field, resolves {@code ${NAME}} references from the
 * environment, and reports every problem at once, each naming the field and what was expected. No message
 * ever contains a configured value: a value may be a secret, and even a URL may carry one.
 */
public final class ConfigLoader {
  private static final ObjectMapper JSON =
      JsonMapper.builder()
          .enable(JsonParser.Feature.ALLOW_COMMENTS)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .build();

  private static final Pattern METHOD = Pattern.compile("[A-Z][A-Z0-9_-]*");
  private static final Pattern HEADER_NAME = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");

  private static final Set<String> TOP = union(
      Set.of("port", "host", "debug", "logfile", "login", "refresh", "relay", "token", "secrets", "plugins", "routes",
          "tls"),
      OpsSections.FIELDS);
  private static final Set<String> TOKEN =
      Set.of(
          "refreshAhead", "refreshAt", "jitter", "expiryMargin", "defaultLifetime", "expiresInUnit", "retryMin",
          "retryMax", "rejectedRetry", "replayLimit", "revokeOnShutdown");
  private static final Set<String> LOGIN =
      Set.of(
          "user", "password", "authstring", "refreshtoken", "method", "data", "url", "headers",
          "parameters", "grant", "tokenUrl", "issuer", "clientId", "clientSecret", "clientAuth", "scope",
          "audience", "resource", "extra", "assertion", "subjectToken", "subjectTokenType", "actorToken",
          "actorTokenType", "requestedTokenType", "privateKey", "keyId", "certificate", "revocationUrl");
  /** Seed-style fields that a {@code grant} login sets itself. */
  private static final Set<String> SEED_CALL_FIELDS = Set.of("url", "method", "data");
  /** Standard-grant fields that mean nothing in a seed-style login. */
  private static final Set<String> GRANT_FIELDS =
      Set.of(
          "tokenUrl", "issuer", "clientId", "clientSecret", "clientAuth", "scope", "audience", "resource",
          "extra", "assertion", "subjectToken", "subjectTokenType", "actorToken", "actorTokenType",
          "requestedTokenType", "privateKey", "keyId", "certificate", "revocationUrl");
  private static final Set<String> REFRESH =
      Set.of("token", "method", "data", "url", "headers", "parameters");
  private static final Set<String> RELAY =
      Set.of("url", "method", "type", "fixedtoken", "data", "parameters", "headers", "origin");
  /** The one route of the seed format, in metrics, readiness and the access log. */
  static final String SEED_ROUTE = "relay";
  private static final Set<String> ROUTE =
      Set.of("name", "path", "host", "stripPrefix", "callers", "login", "refresh", "relay", "token", "origin");
  private static final Pattern ROUTE_NAME = Pattern.compile("[a-z0-9][a-z0-9_-]*");
  /** Whole segments of unreserved and sub-delimiter characters: no {@code %}, so one path has one spelling. */
  private static final Pattern PATH_PREFIX = Pattern.compile("(/[A-Za-z0-9._~!$&'()*+,;=:@-]+)*/?");
  private static final Pattern ROUTE_HOST =
      Pattern.compile("[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*|\\[[0-9a-f:.]+]");
  private static final Set<String> ORIGIN =
      Set.of(
          "protocol", "caBundle", "clientCertificate", "clientKey", "clientKeyPassword", "connectTimeoutSeconds",
          "responseTimeoutSeconds", "idleTimeoutSeconds", "totalTimeoutSeconds", "maxConnections", "forwardedHeaders",
          "via");
  private static final Set<String> TLS = Set.of("certificate", "key", "keyPassword", "clientCa", "clientAuth");
  private static final Set<String> MAPPING =
      Set.of("AccessToken", "ExpiresIn", "ExpiresAt", "TokenType", "RefreshToken");

  static final String JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
  static final String TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
  private static final String ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";
  /** Accepted {@code login.grant} values, short names included, to the {@code grant_type} sent. */
  private static final Map<String, String> GRANTS =
      Map.of(
          "client_credentials", "client_credentials",
          "password", "password",
          "refresh_token", "refresh_token",
          JWT_BEARER, JWT_BEARER,
          "jwt-bearer", JWT_BEARER,
          TOKEN_EXCHANGE, TOKEN_EXCHANGE,
          "token-exchange", TOKEN_EXCHANGE);

  private final Function<String, String> env;
  private final Path pluginDir;

  /** A loader reading variables from {@code env} (normally {@code System::getenv}). */
  public ConfigLoader(Function<String, String> env) {
    this(env, null);
  }

  /**
   * A loader reading variables from {@code env} and secret-provider jars from {@code pluginDir} (the
   * command line's {@code --plugins}; {@code null} for the config's own {@code plugins} field, if any).
   */
  public ConfigLoader(Function<String, String> env, Path pluginDir) {
    this.env = env;
    this.pluginDir = pluginDir;
  }

  /** Loads {@code file}; {@code source} is how the user named it, used in every message. */
  public RelayConfig load(Path file) throws ConfigException {
    String source = file.toString();
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new ConfigException(source, List.of("cannot read the file (it does not exist)"));
    } catch (IOException e) {
      throw new ConfigException(source, List.of("cannot read the file (" + e.getClass().getSimpleName() + ")"));
    }
    JsonNode root;
    try {
      root = JSON.readTree(bytes);
    } catch (JsonProcessingException e) {
      // Jackson's own message may quote the text around the error, which could be a hard-coded secret:
      // report the location only.
      JsonLocation at = e.getLocation();
      String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
      throw new ConfigException(source, List.of("malformed JSON" + where + " (expected a JSON object)"));
    } catch (IOException e) {
      throw new ConfigException(source, List.of("cannot read the file (" + e.getClass().getSimpleName() + ")"));
    } finally {
      java.util.Arrays.fill(bytes, (byte) 0);
    }
    return parse(root, source);
  }

  /** Validates an already-parsed document. */
  public RelayConfig parse(JsonNode root, String source) throws ConfigException {
    if (root == null || !root.isObject()) {
      throw new ConfigException(source, List.of("(top level): expected a JSON object"));
    }
    Problems problems = new Problems();
    Set<String> resolved = new TreeSet<>();
    Reader r = new Reader(problems, resolved);

    r.unknownFields(root, "", TOP);
    Problems secretProblems = new Problems();
    r.providers = SecretSettings.discover(root, pluginDir, env, secretProblems, resolved);
    if (!secretProblems.isEmpty()) {
      problems.addAll(secretProblems);
      // Without its providers the rest of the file would only yield follow-up errors.
      closeQuietly(r.providers);
      throw new ConfigException(source, problems.lines());
    }
    try {
      return parse(root, source, r, problems, resolved);
    } catch (ConfigException | RuntimeException e) {
      closeQuietly(r.providers);
      throw e;
    }
  }

  private static void closeQuietly(SecretProviders providers) {
    if (providers != null) {
      providers.close();
    }
  }

  private RelayConfig parse(JsonNode root, String source, Reader r, Problems problems, Set<String> resolved)
      throws ConfigException {
    String host = r.text(root, "host", "127.0.0.1");
    int port = r.port(root, "port", 8080);
    boolean debug = r.bool(root, "debug", false);
    String logfileText = r.text(root, "logfile", "");
    Path logfile = logfileText.isEmpty() ? null : Path.of(logfileText);

    List<RouteSpec> routes;
    List<CallerRef> callers = new ArrayList<>();
    JsonNode routesNode = root.get("routes");
    if (routesNode == null || routesNode.isNull()) {
      Sections seed = sections(root, r, problems, TokenPolicy.DEFAULTS);
      routes = List.of(new RouteSpec(SEED_ROUTE, "/", null, false, seed.login(), seed.refresh(), seed.relay(),
          seed.policy(), seed.origin()));
    } else {
      routes = routes(routesNode, root, r, problems, resolved, callers);
    }
    ServerTls tls = r.tls(root.get("tls"));
    OpsSpec ops = new OpsSections(env, r.providers, problems, resolved).read(root, host);
    checkCallers(callers, ops.inbound(), tls, problems);
    if (!problems.isEmpty()) {
      throw new ConfigException(source, problems.lines());
    }
    // The seed-era components are the first route's, so code written for one relay keeps working.
    RouteSpec first = routes.get(0);
    return new RelayConfig(
        source, host, port, debug, logfile, first.login(), first.refresh(), first.relay(), first.policy(),
        Set.copyOf(resolved), r.providers, ops, routes, tls);
  }

  /** One route's token and forwarding sections. */
  private record Sections(LoginSpec login, TokenCall refresh, RelaySpec relay, TokenPolicy policy, OriginSpec origin) {}

  /**
   * Reads {@code login}, {@code refresh}, {@code relay} (with its {@code origin}) and {@code token} of
   * {@code node}: the top level in the seed format, or one entry of {@code routes}. For a route, {@code r}
   * and {@code problems} are scoped to the entry, so the same code names {@code routes[1].login.url}.
   *
   * @param basePolicy what a field the {@code token} section leaves out defaults to
   */
  private Sections sections(JsonNode node, Reader r, Problems problems, TokenPolicy basePolicy) {
    RelaySpec relay = null;
    JsonNode relayNode = node.get("relay");
    if (relayNode == null || relayNode.isNull()) {
      problems.add("relay", "missing section (expected an object with at least \"url\")");
    } else if (!relayNode.isObject()) {
      problems.add("relay", "expected an object");
    } else {
      relay = r.relay(relayNode);
    }
    boolean fixed = relay != null && !relay.fixedToken().isEmpty();

    LoginSpec login = null;
    JsonNode loginNode = node.get("login");
    TokenCall refresh = null;
    JsonNode refreshNode = node.get("refresh");
    Template initialRefresh = Template.empty();
    if (refreshNode != null && !refreshNode.isNull()) {
      if (!refreshNode.isObject()) {
        problems.add("refresh", "expected an object");
      } else {
        r.unknownFields(refreshNode, "refresh.", REFRESH);
        initialRefresh = r.template(refreshNode, "token", "refresh.token");
        JsonNode urlNode = refreshNode.get("url");
        if (urlNode != null && !urlNode.isNull()) {
          r.defer = true; // token-call templates re-read their secrets at every call (rotation)
          refresh = r.call(refreshNode, "refresh", "POST");
          r.defer = false;
        }
      }
    }
    if (loginNode == null || loginNode.isNull()) {
      if (!fixed) {
        problems.add(
            "login", "missing section (expected an object with at least \"url\", or relay.fixedtoken)");
      }
    } else if (!loginNode.isObject()) {
      problems.add("login", "expected an object");
    } else {
      r.unknownFields(loginNode, "login.", LOGIN);
      r.defer = true; // token-call templates re-read their secrets at every login (rotation)
      Template user = r.template(loginNode, "user", "login.user");
      Template password = r.template(loginNode, "password", "login.password");
      Template authstring = r.template(loginNode, "authstring", "login.authstring");
      Template loginRefresh = r.template(loginNode, "refreshtoken", "login.refreshtoken");
      Template startRefresh = loginRefresh.isEmpty() ? initialRefresh : loginRefresh;
      if (loginNode.has("grant")) {
        TokenCall call = r.grantCall(loginNode, user, password, startRefresh);
        URI revocation = r.url(loginNode, "revocationUrl", "login.revocationUrl", false);
        login = new LoginSpec(call, user, password, authstring, startRefresh, revocation);
        if (refresh == null && call != null) {
          refresh = r.refreshGrantCall(call);
        }
      } else if (!fixed || loginNode.has("url")) {
        for (String f : GRANT_FIELDS) {
          if (loginNode.has(f)) {
            problems.add("login." + f, "only used with login.grant (expected a \"grant\" or no " + f + ")");
          }
        }
        TokenCall call = r.call(loginNode, "login", "GET");
        login = new LoginSpec(call, user, password, authstring, startRefresh);
      }
      r.defer = false;
    }
    if (login != null) {
      boolean haveAuthstring =
          !login.authstring().isEmpty() || !login.user().isEmpty() || !login.password().isEmpty();
      r.requireAuthstringSource(login.call(), "login", haveAuthstring);
      if (refresh != null) {
        r.requireAuthstringSource(refresh, "refresh", haveAuthstring);
      }
    }
    TokenPolicy policy = basePolicy;
    JsonNode tokenNode = node.get("token");
    if (tokenNode != null && !tokenNode.isNull()) {
      if (!tokenNode.isObject()) {
        problems.add("token", "expected an object");
      } else {
        policy = r.policy(tokenNode, basePolicy);
      }
    }
    if (policy.revokeOnShutdown()
        && (login == null || (login.revocationUrl() == null && login.call().issuer() == null))) {
      problems.add(
          "token.revokeOnShutdown",
          "needs a revocation endpoint (expected login.revocationUrl, or login.issuer whose metadata names one)");
    }
    OriginSpec origin = OriginSpec.DEFAULTS;
    if (relayNode != null && relayNode.isObject() && relayNode.hasNonNull("origin")) {
      origin = r.origin(relayNode.get("origin"), "relay.origin", relay == null ? null : relay.url());
    }
    return new Sections(login, refresh, relay, policy, origin);
  }

  /** A name in a route's {@code callers}, checked against {@code inbound.apiKeys} and {@code inbound.certificates} once read. */
  private record CallerRef(String field, String name) {}

  /** The {@code routes} list; each entry's problems carry its path, {@code routes[i].}. */
  private List<RouteSpec> routes(
      JsonNode node, JsonNode root, Reader top, Problems problems, Set<String> resolved, List<CallerRef> callers) {
    List<String> seedSections = new ArrayList<>();
    for (String section : List.of("login", "refresh", "relay")) {
      if (root.has(section)) {
        seedSections.add(section);
      }
    }
    if (!seedSections.isEmpty()) {
      problems.add(
          "routes",
          "cannot be combined with the top-level " + String.join(", ", seedSections)
              + " (expected either routes, each with its own login/refresh/relay, or the top-level sections alone)");
    }
    if (!node.isArray() || node.isEmpty()) {
      problems.add("routes", "expected a non-empty array of route objects");
      return List.of();
    }
    // A top-level token section holds the defaults of every route's own token section.
    TokenPolicy base = TokenPolicy.DEFAULTS;
    JsonNode tokenNode = root.get("token");
    if (tokenNode != null && !tokenNode.isNull()) {
      if (!tokenNode.isObject()) {
        problems.add("token", "expected an object");
      } else {
        base = top.policy(tokenNode, TokenPolicy.DEFAULTS);
      }
    }
    List<RouteSpec> routes = new ArrayList<>();
    Map<String, String> names = new HashMap<>();
    Map<String, String> places = new HashMap<>();
    for (int i = 0; i < node.size(); i++) {
      String at = "routes[" + i + "]";
      JsonNode entry = node.get(i);
      if (!entry.isObject()) {
        problems.add(at, "expected an object with a name, a path and a relay section");
        continue;
      }
      Problems scoped = problems.scoped(at + ".");
      Reader r = new Reader(scoped, resolved);
      r.providers = top.providers;
      r.unknownFields(entry, "", ROUTE);
      String name = r.text(entry, "name", "").trim();
      if (name.isEmpty()) {
        scoped.add("name", "missing (expected a unique name of lower-case letters, digits, _ and -)");
      } else if (!ROUTE_NAME.matcher(name).matches()) {
        scoped.add("name", "expected lower-case letters, digits, _ and -, starting with a letter or digit");
      } else if (names.putIfAbsent(name, at) != null) {
        scoped.add("name", "the same name as " + names.get(name) + " (expected a unique name)");
      }
      String path = r.routePath(entry);
      String host = r.routeHost(entry);
      boolean strip = r.bool(entry, "stripPrefix", "stripPrefix", !path.equals("/"));
      String place = (host == null ? "*" : host) + " " + path;
      if (places.putIfAbsent(place, at) != null) {
        scoped.add("path", "the same host and path as " + places.get(place) + " (expected each host and path once)");
      }
      Sections s = sections(entry, r, scoped, base);
      OriginSpec origin = s.origin();
      JsonNode originNode = entry.get("origin");
      if (originNode != null && !originNode.isNull()) {
        JsonNode relayNode = entry.get("relay");
        if (relayNode != null && relayNode.isObject() && relayNode.hasNonNull("origin")) {
          scoped.add("origin", "expected either origin or relay.origin, not both");
        } else {
          origin = r.origin(originNode, "origin", s.relay() == null ? null : s.relay().url());
        }
      }
      Set<String> allowed = null;
      JsonNode callersNode = entry.get("callers");
      if (callersNode != null && !callersNode.isNull()) {
        allowed = new LinkedHashSet<>();
        if (!callersNode.isArray() || callersNode.isEmpty()) {
          scoped.add("callers", "expected a non-empty array of inbound.apiKeys or inbound.certificates names (omit it to admit every authenticated caller)");
        } else {
          for (int j = 0; j < callersNode.size(); j++) {
            JsonNode c = callersNode.get(j);
            if (!c.isTextual() || c.textValue().isBlank()) {
              scoped.add("callers[" + j + "]", "expected the name of an inbound.apiKeys entry (or of an inbound.certificates entry)");
            } else {
              allowed.add(c.textValue().trim());
              callers.add(new CallerRef(at + ".callers[" + j + "]", c.textValue().trim()));
            }
          }
        }
      }
      routes.add(new RouteSpec(name, path, host, strip, s.login(), s.refresh(), s.relay(), s.policy(), origin, allowed));
    }
    return routes;
  }

  /**
   * Whether every name in a route's {@code callers} is a named API key or a certificate entry, and whether
   * the listener asks for the client certificates that {@code inbound.certificates} checks.
   */
  private static void checkCallers(List<CallerRef> callers, OpsSpec.Inbound inbound, ServerTls tls, Problems problems) {
    // With clientAuth optional or require but no clientCa, the tls section has already said so.
    if (!inbound.certificates().isEmpty() && (tls == null || tls.clientAuth() == ServerTls.ClientCertificates.NONE)) {
      problems.add("inbound.certificates", "needs tls.clientAuth require or optional"
          + " (client certificates are only asked for with tls.clientCa)");
    }
    Set<String> names = new TreeSet<>();
    for (OpsSpec.ApiKey key : inbound.apiKeys()) {
      if (key.name() != null) {
        names.add(key.name());
      }
    }
    for (OpsSpec.Certificate certificate : inbound.certificates()) {
      names.add(certificate.name());
    }
    boolean withCertificates = !inbound.certificates().isEmpty();
    for (CallerRef ref : callers) {
      if (names.contains(ref.name())) {
        continue;
      }
      problems.add(
          ref.field(),
          names.isEmpty()
              ? "names a caller, but inbound.apiKeys has no named key (expected entries such as"
                  + " {\"name\": \"billing\", \"key\": \"${BILLING_KEY}\"}, or inbound.certificates)"
              : "no inbound.apiKeys " + (withCertificates ? "or inbound.certificates " : "")
                  + "entry has this name (expected one of: " + String.join(", ", names) + ")");
    }
  }

  private static Set<String> union(Set<String> a, Set<String> b) {
    Set<String> all = new java.util.HashSet<>(a);
    all.addAll(b);
    return Set.copyOf(all);
  }

  /** Field-by-field reading; each method reports its own problems and returns a usable default. */
  private final class Reader {
    private final Problems problems;
    private final Set<String> resolved;
    /** The secret providers {@code ${scheme:reference}} may name, or {@code null}. */
    SecretProviders providers;
    /** Whether secret references are kept and resolved at every render (token calls) or resolved now. */
    boolean defer;

    Reader(Problems problems, Set<String> resolved) {
      this.problems = problems;
      this.resolved = resolved;
    }

    void unknownFields(JsonNode node, String prefix, Set<String> known) {
      for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
        String name = it.next();
        if (!known.contains(name)) {
          problems.add(prefix + name, "unknown field (expected one of: " + String.join(", ", new TreeSet<>(known)) + ")");
        }
      }
    }

    String text(JsonNode parent, String name, String dflt) {
      return text(parent, name, name, dflt);
    }

    String text(JsonNode parent, String name, String field, String dflt) {
      JsonNode node = parent.get(name);
      if (node == null || node.isNull()) {
        return dflt;
      }
      if (!node.isTextual()) {
        problems.add(field, "expected a string");
        return dflt;
      }
      Template t = Template.parse(node.textValue(), field, env, providers, false, problems, resolved);
      return t.isConstant() ? t.constantText() : placeholderNotAllowed(field, dflt);
    }

    private String placeholderNotAllowed(String field, String dflt) {
      problems.add(field, "runtime placeholders such as ${ACCESSTOKEN} are not allowed here");
      return dflt;
    }

    int port(JsonNode parent, String name, int dflt) {
      JsonNode node = parent.get(name);
      if (node == null || node.isNull()) {
        return dflt;
      }
      int value;
      if (node.canConvertToInt() && node.isIntegralNumber()) {
        value = node.intValue();
      } else if (node.isTextual()) {
        String text = text(parent, name, "");
        try {
          value = Integer.parseInt(text.trim());
        } catch (NumberFormatException e) {
          value = -1;
        }
      } else {
        value = -1;
      }
      if (value < 0 || value > 65535) {
        problems.add(name, "expected a port number between 0 and 65535");
        return dflt;
      }
      return value;
    }

    boolean bool(JsonNode parent, String name, boolean dflt) {
      return bool(parent, name, name, dflt);
    }

    boolean bool(JsonNode parent, String name, String field, boolean dflt) {
      JsonNode node = parent.get(name);
      if (node == null || node.isNull()) {
        return dflt;
      }
      if (node.isBoolean()) {
        return node.booleanValue();
      }
      String text = node.isTextual() ? text(parent, name, field, "").trim().toLowerCase(Locale.ROOT) : "";
      if (text.equals("true") || text.equals("false")) {
        return text.equals("true");
      }
      problems.add(field, "expected true or false");
      return dflt;
    }

    Template template(JsonNode parent, String name, String field) {
      JsonNode node = parent.get(name);
      if (node == null || node.isNull()) {
        return Template.empty();
      }
      if (!node.isTextual()) {
        problems.add(field, "expected a string");
        return Template.empty();
      }
      return Template.parse(node.textValue(), field, env, providers, defer, problems, resolved);
    }

    Map<String, Template> templates(JsonNode parent, String name, String field, boolean headerNames) {
      JsonNode node = parent.get(name);
      Map<String, Template> out = new LinkedHashMap<>();
      if (node == null || node.isNull()) {
        return out;
      }
      if (!node.isObject()) {
        problems.add(field, "expected an object of string values");
        return out;
      }
      for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        String key = e.getKey();
        if (headerNames && !HEADER_NAME.matcher(key).matches()) {
          problems.add(field + "." + key, "expected a valid HTTP header name");
          continue;
        }
        Template t = template(node, key, field + "." + key);
        if (!t.isEmpty() || !headerNames) {
          out.put(key, t);
        }
      }
      return out;
    }

    URI url(JsonNode parent, String name, String field, boolean required) {
      JsonNode node = parent.get(name);
      if (node == null || node.isNull() || (node.isTextual() && node.textValue().isEmpty())) {
        if (required) {
          problems.add(field, "missing (expected an absolute http or https URL)");
        }
        return null;
      }
      if (!node.isTextual()) {
        problems.add(field, "expected an absolute http or https URL");
        return null;
      }
      Template t = Template.parse(node.textValue(), field, env, providers, false, problems, resolved);
      if (!t.isConstant()) {
        placeholderNotAllowed(field, "");
        return null;
      }
      String text = t.constantText().trim();
      try {
        URI uri = new URI(text);
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if ((scheme.equals("http") || scheme.equals("https"))
            && uri.getHost() != null
            && uri.getRawUserInfo() == null
            && uri.getRawFragment() == null) {
          return uri;
        }
      } catch (URISyntaxException e) {
        // reported below, without the text: a URL may carry a secret in its query
      }
      problems.add(field, "expected an absolute http or https URL with a host and no user-info or fragment");
      return null;
    }

    String method(JsonNode parent, String field, String dflt) {
      JsonNode node = parent.get("method");
      if (node == null || node.isNull()) {
        return dflt;
      }
      if (!node.isTextual()) {
        problems.add(field, "expected an HTTP method such as \"GET\" or \"POST\"");
        return dflt;
      }
      String text = node.textValue().trim().toUpperCase(Locale.ROOT);
      if (text.isEmpty() || text.equals("*")) {
        return dflt;
      }
      if (!METHOD.matcher(text).matches()) {
        problems.add(field, "expected an HTTP method such as \"GET\" or \"POST\"");
        return dflt;
      }
      return text;
    }

    TokenCall call(JsonNode node, String section, String defaultMethod) {
      String method = method(node, section + ".method", defaultMethod);
      URI url = url(node, "url", section + ".url", true);
      Map<String, Template> headers = templates(node, "headers", section + ".headers", true);
      boolean json =
          headers.entrySet().stream()
              .anyMatch(
                  e ->
                      e.getKey().equalsIgnoreCase("Content-Type")
                          && e.getValue().isConstant()
                          && e.getValue().constantText().toLowerCase(Locale.ROOT).contains("json"));
      TokenCall.Body body = TokenCall.Body.NONE;
      JsonNode data = node.get("data");
      if (data != null && data.isObject()) {
        body = new TokenCall.Body(Template.empty(), templates(node, "data", section + ".data", false), json);
      } else if (data != null && !data.isNull()) {
        if (!data.isTextual()) {
          problems.add(section + ".data", "expected a string or an object of string values");
        } else {
          body = new TokenCall.Body(template(node, "data", section + ".data"), Map.of(), json);
        }
      }
      ResponseMapping mapping = mapping(node, section + ".parameters", ResponseMapping.SEED);
      return new TokenCall(method, url, headers, body, mapping, null, null);
    }

    ResponseMapping mapping(JsonNode node, String field, ResponseMapping dflt) {
      JsonNode p = node.get("parameters");
      if (p == null || p.isNull()) {
        return dflt;
      }
      if (!p.isObject()) {
        problems.add(field, "expected an object mapping AccessToken, ExpiresIn, ExpiresAt, TokenType, RefreshToken");
        return ResponseMapping.SEED;
      }
      unknownFields(p, field + ".", MAPPING);
      ResponseMapping m =
          new ResponseMapping(
              mapped(p, "AccessToken", field, dflt.accessToken()),
              mapped(p, "ExpiresIn", field, dflt.expiresIn()),
              mapped(p, "ExpiresAt", field, dflt.expiresAt()),
              mapped(p, "TokenType", field, dflt.tokenType()),
              mapped(p, "RefreshToken", field, dflt.refreshToken()));
      if (m.accessToken().isEmpty()) {
        problems.add(field + ".AccessToken", "expected the name of the response field holding the access token");
      }
      return m;
    }

    private String mapped(JsonNode p, String name, String field, String dflt) {
      JsonNode n = p.get(name);
      if (n == null) {
        return dflt;
      }
      if (!n.isTextual()) {
        problems.add(field + "." + name, "expected a response field name (a string)");
        return "";
      }
      return n.textValue().trim();
    }

    RelaySpec relay(JsonNode node) {
      unknownFields(node, "relay.", RELAY);
      URI url = url(node, "url", "relay.url", true);
      String method = method(node, "relay.method", null);
      String type = text(node, "type", "relay.type", "json").trim().toLowerCase(Locale.ROOT);
      String contentType =
          switch (type) {
            case "json" -> "application/json";
            case "form" -> "application/x-www-form-urlencoded";
            case "xml" -> "application/xml";
            case "text" -> "text/plain; charset=utf-8";
            case "", "none", "raw" -> null;
            default -> {
              // Sent as Content-Type on each request, unchecked there (RelayRoute): checked here.
              if (type.contains("/") && io.netty.handler.codec.http.HttpHeaderValidationUtil.validateValidHeaderValue(type) < 0) {
                yield type;
              }
              problems.add("relay.type", "expected json, form, xml, text, raw or a media type such as application/json");
              yield null;
            }
          };
      Template fixed = template(node, "fixedtoken", "relay.fixedtoken");
      Template data = template(node, "data", "relay.data");
      Map<String, Template> parameters = templates(node, "parameters", "relay.parameters", false);
      Map<String, Template> headers = templates(node, "headers", "relay.headers", true);
      if (url != null && url.getRawQuery() != null) {
        problems.add("relay.url", "expected no query string (put fixed query values in relay.parameters)");
      }
      return new RelaySpec(url, method, contentType, fixed, data, parameters, headers);
    }

    /**
     * A standard RFC 6749 token request: POST to {@code tokenUrl} (or the endpoint the issuer's metadata
     * names), form-encoded, with the grant's fields and client authentication added at call time.
     */
    TokenCall grantCall(JsonNode node, Template user, Template password, Template startRefresh) {
      for (String f : SEED_CALL_FIELDS) {
        if (node.has(f)) {
          problems.add("login." + f, "not used with login.grant (expected tokenUrl or issuer; the grant sets method and body)");
        }
      }
      String grant = text(node, "grant", "login.grant", "").trim();
      Map<String, Template> fields = new LinkedHashMap<>();
      fields.put("grant_type", Template.literal(GRANTS.getOrDefault(grant, grant)));
      switch (GRANTS.getOrDefault(grant, "")) {
        case "client_credentials" -> {}
        case "password" -> {
          require(user, "login.user", "the resource owner's user name");
          require(password, "login.password", "the resource owner's password");
          fields.put("username", user);
          fields.put("password", password);
        }
        case "refresh_token" -> {
          require(startRefresh, "login.refreshtoken", "the refresh token to start from");
          fields.put("refresh_token", Template.parse("${REFRESHTOKEN}", "login.grant", env, problems, resolved));
        }
        case JWT_BEARER -> {
          Template assertion = template(node, "assertion", "login.assertion");
          require(assertion, "login.assertion", "the JWT assertion (RFC 7523)");
          fields.put("assertion", assertion);
        }
        case TOKEN_EXCHANGE -> {
          Template subject = template(node, "subjectToken", "login.subjectToken");
          require(subject, "login.subjectToken", "the token to exchange (RFC 8693)");
          fields.put("subject_token", subject);
          Template type = template(node, "subjectTokenType", "login.subjectTokenType");
          fields.put("subject_token_type", type.isEmpty() ? Template.literal(ACCESS_TOKEN_TYPE) : type);
          putIfSet(fields, "actor_token", template(node, "actorToken", "login.actorToken"));
          putIfSet(fields, "actor_token_type", template(node, "actorTokenType", "login.actorTokenType"));
          putIfSet(fields, "requested_token_type", template(node, "requestedTokenType", "login.requestedTokenType"));
        }
        default -> problems.add(
            "login.grant",
            "expected client_credentials, password, refresh_token, " + JWT_BEARER + " or " + TOKEN_EXCHANGE);
      }
      putIfSet(fields, "scope", template(node, "scope", "login.scope"));
      putIfSet(fields, "audience", template(node, "audience", "login.audience"));
      putIfSet(fields, "resource", template(node, "resource", "login.resource"));
      for (Map.Entry<String, Template> e : templates(node, "extra", "login.extra", false).entrySet()) {
        fields.putIfAbsent(e.getKey(), e.getValue());
      }
      URI tokenUrl = url(node, "tokenUrl", "login.tokenUrl", false);
      URI issuer = url(node, "issuer", "login.issuer", false);
      if (!node.has("tokenUrl") && !node.has("issuer")) {
        problems.add("login.tokenUrl", "missing (expected the token endpoint URL, or login.issuer for discovery)");
      } else if (node.has("tokenUrl") && node.has("issuer")) {
        problems.add("login.issuer", "expected either login.tokenUrl or login.issuer, not both");
      }
      ClientAuth auth = clientAuth(node);
      Map<String, Template> headers = templates(node, "headers", "login.headers", true);
      TokenCall.Body body = new TokenCall.Body(Template.empty(), fields, false);
      return new TokenCall(
          "POST", tokenUrl, headers, body, mapping(node, "login.parameters", TokenCall.RFC6749), auth, issuer);
    }

    /** The refresh_token grant at the same endpoint, with the same client authentication (RFC 6749 §6). */
    TokenCall refreshGrantCall(TokenCall login) {
      Map<String, Template> fields = new LinkedHashMap<>();
      fields.put("grant_type", Template.literal("refresh_token"));
      fields.put("refresh_token", Template.parse("${REFRESHTOKEN}", "login.grant", env, problems, resolved));
      return new TokenCall(
          "POST",
          login.url(),
          login.headers(),
          new TokenCall.Body(Template.empty(), fields, false),
          login.mapping(),
          login.clientAuth(),
          login.issuer());
    }

    private ClientAuth clientAuth(JsonNode node) {
      String id = text(node, "clientAuth", "login.clientAuth", "client_secret_basic").trim();
      ClientAuth.Method method = ClientAuth.Method.byId(id);
      if (method == null) {
        problems.add("login.clientAuth", "expected client_secret_basic, client_secret_post, private_key_jwt, tls_client_auth or none");
        method = ClientAuth.Method.NONE;
      }
      Template clientId = template(node, "clientId", "login.clientId");
      Template clientSecret = template(node, "clientSecret", "login.clientSecret");
      if (clientId.isEmpty() && method != ClientAuth.Method.NONE) {
        problems.add("login.clientId", "missing (expected the client identifier for " + method.id() + ")");
      }
      if ((method == ClientAuth.Method.CLIENT_SECRET_BASIC || method == ClientAuth.Method.CLIENT_SECRET_POST)
          && clientSecret.isEmpty()) {
        problems.add("login.clientSecret", "missing (expected the client secret for " + method.id() + ")");
      }
      Path key = file(node, "privateKey", "login.privateKey", method == ClientAuth.Method.PRIVATE_KEY_JWT
          || method == ClientAuth.Method.TLS_CLIENT_AUTH);
      Path certificate = file(node, "certificate", "login.certificate", method == ClientAuth.Method.TLS_CLIENT_AUTH);
      String keyId = text(node, "keyId", "login.keyId", "").trim();
      return new ClientAuth(method, clientId, clientSecret, key, keyId.isEmpty() ? null : keyId, certificate);
    }

    private Path file(JsonNode node, String name, String field, boolean required) {
      String text = text(node, name, field, "").trim();
      if (text.isEmpty()) {
        if (required) {
          problems.add(field, "missing (expected the path of a PEM file)");
        }
        return null;
      }
      Path path = Path.of(text);
      if (!Files.isRegularFile(path) || !Files.isReadable(path)) {
        problems.add(field, "cannot read the file (expected a readable PEM file)");
      }
      return path;
    }

    private void require(Template t, String field, String what) {
      if (t.isEmpty()) {
        problems.add(field, "missing (expected " + what + ")");
      }
    }

    private static void putIfSet(Map<String, Template> fields, String name, Template t) {
      if (!t.isEmpty()) {
        fields.put(name, t);
      }
    }

    TokenPolicy policy(JsonNode node, TokenPolicy d) {
      unknownFields(node, "token.", TOKEN);
      String unit = text(node, "expiresInUnit", "token.expiresInUnit", "seconds").trim().toLowerCase(Locale.ROOT);
      boolean millis = unit.equals("milliseconds") || unit.equals("ms");
      if (!millis && !unit.equals("seconds") && !unit.equals("s")) {
        problems.add("token.expiresInUnit", "expected seconds or milliseconds");
      }
      Duration retryMin = seconds(node, "retryMin", d.retryMin(), 0.001, 3600);
      Duration retryMax = seconds(node, "retryMax", d.retryMax(), 0.001, 86_400);
      if (retryMax.compareTo(retryMin) < 0) {
        problems.add("token.retryMax", "expected at least token.retryMin");
      }
      return new TokenPolicy(
          bool(node, "refreshAhead", "token.refreshAhead", d.refreshAhead()),
          number(node, "refreshAt", d.refreshAt(), 0.05, 0.99),
          number(node, "jitter", d.jitter(), 0, 0.5),
          seconds(node, "expiryMargin", d.expiryMargin(), 0, 3600),
          seconds(node, "defaultLifetime", d.defaultLifetime(), 1, 31_536_000),
          millis,
          retryMin,
          retryMax,
          seconds(node, "rejectedRetry", d.rejectedRetry(), 0.001, 86_400),
          (int) number(node, "replayLimit", d.replayLimit(), 0, 16 * 1024 * 1024),
          bool(node, "revokeOnShutdown", "token.revokeOnShutdown", d.revokeOnShutdown()));
    }

    private double number(JsonNode parent, String name, double dflt, double min, double max) {
      return number(parent, name, "token." + name, dflt, min, max);
    }

    private double number(JsonNode parent, String name, String field, double dflt, double min, double max) {
      JsonNode n = parent.get(name);
      if (n == null || n.isNull()) {
        return dflt;
      }
      if (!n.isNumber() || n.doubleValue() < min || n.doubleValue() > max) {
        problems.add(field, "expected a number from " + plain(min) + " to " + plain(max));
        return dflt;
      }
      return n.doubleValue();
    }

    private Duration seconds(JsonNode parent, String name, Duration dflt, double min, double max) {
      double dfltSeconds = dflt.toNanos() / 1e9;
      double s = number(parent, name, dfltSeconds, min, max);
      return s == dfltSeconds ? dflt : Duration.ofNanos((long) (s * 1e9));
    }

    private String plain(double d) {
      return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }

    /** A route's {@code path}: {@code /} or {@code /seg...} without the trailing slash. */
    String routePath(JsonNode entry) {
      String path = text(entry, "path", "/").trim();
      boolean dots = false;
      for (String segment : path.split("/")) {
        dots |= segment.equals(".") || segment.equals("..");
      }
      if (!path.startsWith("/") || !PATH_PREFIX.matcher(path).matches() || dots) {
        problems.add("path", "expected a path prefix such as /crm: whole segments of letters, digits and -._~!$&'()*+,;=:@,"
            + " no . or .. segment, no % escapes, no query");
        return "/";
      }
      return path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    }

    /** A route's {@code host}, lower case, or {@code null} for any. */
    String routeHost(JsonNode entry) {
      String host = text(entry, "host", "").trim().toLowerCase(Locale.ROOT);
      if (host.isEmpty()) {
        return null;
      }
      if (!ROUTE_HOST.matcher(host).matches()) {
        problems.add("host", "expected a host name such as api.example.com, without port or wildcard");
        return null;
      }
      return host;
    }

    /** An {@code origin} section: how the relay connects to the route's upstream at {@code url}. */
    OriginSpec origin(JsonNode node, String field, URI url) {
      OriginSpec d = OriginSpec.DEFAULTS;
      if (!node.isObject()) {
        problems.add(field, "expected an object");
        return d;
      }
      unknownFields(node, field + ".", ORIGIN);
      String protocolId = text(node, "protocol", field + ".protocol", d.protocol().id()).trim().toLowerCase(Locale.ROOT);
      OriginSpec.Protocol protocol = null;
      for (OriginSpec.Protocol p : OriginSpec.Protocol.values()) {
        if (p.id().equals(protocolId)) {
          protocol = p;
        }
      }
      if (protocol == null) {
        problems.add(field + ".protocol", "expected http1, h2 or auto");
        protocol = d.protocol();
      }
      Path caBundle = file(node, "caBundle", field + ".caBundle", false);
      Path certificate = file(node, "clientCertificate", field + ".clientCertificate", false);
      Path key = file(node, "clientKey", field + ".clientKey", false);
      if (certificate != null && key == null) {
        problems.add(field + ".clientKey", "missing (expected the PEM private key of " + field + ".clientCertificate)");
      } else if (key != null && certificate == null) {
        problems.add(field + ".clientCertificate", "missing (expected the PEM certificate of " + field + ".clientKey)");
      }
      Template keyPassword = startUpSecret(node, "clientKeyPassword", field + ".clientKeyPassword");
      if (!keyPassword.isEmpty() && key == null) {
        problems.add(field + ".clientKeyPassword", "only used with " + field + ".clientKey");
      }
      boolean https = url != null && url.getScheme().equalsIgnoreCase("https");
      if (url != null && !https && (caBundle != null || certificate != null)) {
        problems.add(field + (caBundle != null ? ".caBundle" : ".clientCertificate"), "only used with an https relay.url");
      }
      Duration connect = seconds(node, "connectTimeoutSeconds", field, d.connectTimeout(), 0.001, 3600);
      Duration response = seconds(node, "responseTimeoutSeconds", field, d.responseTimeout(), 0.001, 86_400);
      Duration idle = seconds(node, "idleTimeoutSeconds", field, d.idleTimeout(), 0.001, 86_400);
      // 0 (the default) means no limit: a download or upload of any size streams for as long as it takes.
      Duration total = seconds(node, "totalTimeoutSeconds", field, d.totalTimeout(), 0, 86_400);
      int maxConnections = d.maxConnections();
      JsonNode max = node.get("maxConnections");
      if (max != null && !max.isNull()) {
        if (!max.isIntegralNumber() || !max.canConvertToInt() || max.intValue() < 1 || max.intValue() > 65_536) {
          problems.add(field + ".maxConnections", "expected a whole number from 1 to 65536");
        } else {
          maxConnections = max.intValue();
        }
      }
      boolean forwarded = bool(node, "forwardedHeaders", field + ".forwardedHeaders", d.forwardedHeaders());
      String via = d.via();
      JsonNode viaNode = node.get("via");
      if (viaNode != null && !viaNode.isNull()) {
        if (viaNode.isBoolean()) {
          via = viaNode.booleanValue() ? d.via() : null;
        } else {
          via = text(node, "via", field + ".via", d.via()).trim();
          if (!HEADER_NAME.matcher(via).matches()) {
            problems.add(field + ".via", "expected a pseudonym token such as oauth2relay, or false for no Via header");
            via = d.via();
          }
        }
      }
      return new OriginSpec(protocol, caBundle, certificate, key, keyPassword, connect, response, idle, maxConnections,
          forwarded, via, total);
    }

    /** The top-level {@code tls} section, or {@code null} for a cleartext listener. */
    ServerTls tls(JsonNode node) {
      if (node == null || node.isNull()) {
        return null;
      }
      if (!node.isObject()) {
        problems.add("tls", "expected an object with \"certificate\" and \"key\"");
        return null;
      }
      unknownFields(node, "tls.", TLS);
      Path certificate = file(node, "certificate", "tls.certificate", true);
      Path key = file(node, "key", "tls.key", true);
      Template keyPassword = startUpSecret(node, "keyPassword", "tls.keyPassword");
      Path clientCa = file(node, "clientCa", "tls.clientCa", false);
      // A client CA without a mode means its certificates are to be checked: require them.
      String mode = text(node, "clientAuth", "tls.clientAuth", clientCa == null ? "none" : "require")
          .trim().toLowerCase(Locale.ROOT);
      ServerTls.ClientCertificates clientAuth = null;
      for (ServerTls.ClientCertificates c : ServerTls.ClientCertificates.values()) {
        if (c.id().equals(mode)) {
          clientAuth = c;
        }
      }
      if (clientAuth == null) {
        problems.add("tls.clientAuth", "expected none, optional or require");
        clientAuth = ServerTls.ClientCertificates.NONE;
      }
      if (clientAuth != ServerTls.ClientCertificates.NONE && clientCa == null && !node.hasNonNull("clientCa")) {
        problems.add("tls.clientCa", "missing (expected the PEM file of the CAs that caller certificates must chain to,"
            + " for tls.clientAuth " + clientAuth.id() + ")");
      }
      return new ServerTls(certificate, key, keyPassword, clientCa, clientAuth);
    }

    /** A string resolved once at start-up ({@code ${env:...}} or a secret store), never a runtime placeholder. */
    private Template startUpSecret(JsonNode node, String name, String field) {
      boolean wasDeferred = defer;
      defer = false;
      Template t = template(node, name, field);
      defer = wasDeferred;
      if (!t.isConstant()) {
        placeholderNotAllowed(field, "");
        return Template.empty();
      }
      return t;
    }

    private Duration seconds(JsonNode parent, String name, String section, Duration dflt, double min, double max) {
      double dfltSeconds = dflt.toNanos() / 1e9;
      double s = number(parent, name, section + "." + name, dfltSeconds, min, max);
      return s == dfltSeconds ? dflt : Duration.ofNanos((long) (s * 1e9));
    }

    void requireAuthstringSource(TokenCall call, String section, boolean haveAuthstring) {
      if (haveAuthstring) {
        return;
      }
      boolean uses =
          call.headers().values().stream().anyMatch(t -> t.uses(Placeholder.AUTHSTRING))
              || call.body().raw().uses(Placeholder.AUTHSTRING)
              || call.body().fields().values().stream().anyMatch(t -> t.uses(Placeholder.AUTHSTRING));
      if (uses) {
        problems.add(
            section,
            "uses ${AUTHSTRING} but login.authstring, login.user and login.password are all empty"
                + " (expected an authstring, or a user and password)");
      }
    }
  }
}
