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
import java.util.Iterator;
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
      Set.of("port", "host", "debug", "logfile", "login", "refresh", "relay", "token", "secrets", "plugins"),
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
      Set.of("url", "method", "type", "fixedtoken", "data", "parameters", "headers");
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

    RelaySpec relay = null;
    JsonNode relayNode = root.get("relay");
    if (relayNode == null || relayNode.isNull()) {
      problems.add("relay", "missing section (expected an object with at least \"url\")");
    } else if (!relayNode.isObject()) {
      problems.add("relay", "expected an object");
    } else {
      relay = r.relay(relayNode);
    }
    boolean fixed = relay != null && !relay.fixedToken().isEmpty();

    LoginSpec login = null;
    JsonNode loginNode = root.get("login");
    TokenCall refresh = null;
    JsonNode refreshNode = root.get("refresh");
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
    TokenPolicy policy = TokenPolicy.DEFAULTS;
    JsonNode tokenNode = root.get("token");
    if (tokenNode != null && !tokenNode.isNull()) {
      if (!tokenNode.isObject()) {
        problems.add("token", "expected an object");
      } else {
        policy = r.policy(tokenNode);
      }
    }
    if (policy.revokeOnShutdown()
        && (login == null || (login.revocationUrl() == null && login.call().issuer() == null))) {
      problems.add(
          "token.revokeOnShutdown",
          "needs a revocation endpoint (expected login.revocationUrl, or login.issuer whose metadata names one)");
    }
    OpsSpec ops = new OpsSections(env, r.providers, problems, resolved).read(root, host);
    if (!problems.isEmpty()) {
      throw new ConfigException(source, problems.lines());
    }
    return new RelayConfig(
        source, host, port, debug, logfile, login, refresh, relay, policy, Set.copyOf(resolved), r.providers, ops,
        List.of(new RouteSpec("relay", "/", null, false, login, refresh, relay, policy, OriginSpec.DEFAULTS)),
        null);
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
              if (type.contains("/")) {
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
      if (!Files.isReadable(path)) {
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

    TokenPolicy policy(JsonNode node) {
      unknownFields(node, "token.", TOKEN);
      TokenPolicy d = TokenPolicy.DEFAULTS;
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
      JsonNode n = parent.get(name);
      if (n == null || n.isNull()) {
        return dflt;
      }
      if (!n.isNumber() || n.doubleValue() < min || n.doubleValue() > max) {
        problems.add("token." + name, "expected a number from " + plain(min) + " to " + plain(max));
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
