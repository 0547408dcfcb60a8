package io.oauth2relay.server.config;

import io.oauth2relay.server.secrets.SecretProviders;

import com.fasterxml.jackson.databind.JsonNode;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Pattern;
import javax.security.auth.x500.X500Principal;

/**
 * Reads the operational top-level fields into an {@link OpsSpec}: {@code admin}, {@code inbound},
 * {@code requireCallerAuth}, {@code shutdownGraceSeconds}, {@code logFormat}, {@code accessLog},
 * {@code sensitiveQueryParams}, {@code requestHeaderTimeoutSeconds}, {@code ioThreads}. Kept apart from
 * {@link ConfigLoader}'s reader so the token and relay sections and these evolve independently. Like the
 * loader, no message quotes a value.
 */
final class OpsSections {
  /** The top-level names this reader owns. */
  static final Set<String> FIELDS =
      Set.of("admin", "inbound", "requireCallerAuth", "shutdownGraceSeconds", "requestHeaderTimeoutSeconds", "logFormat", "accessLog",
          "sensitiveQueryParams", "ioThreads");

  private static final Set<String> ADMIN = Set.of("port", "host");
  private static final Set<String> INBOUND = Set.of("apiKeys", "header", "allowFrom", "certificates");
  private static final Set<String> API_KEY = Set.of("name", "key");
  private static final Set<String> CERTIFICATE = Set.of("name", "subject", "spki");
  private static final String PIN_PREFIX = "sha256/";
  private static final Pattern KEY_NAME = Pattern.compile("[a-z0-9][a-z0-9_-]*");
  private static final Pattern HEADER_NAME = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");
  /** A whole secret reference: an API key must come from the environment (or a secret store), not the file. */
  private static final Pattern REFERENCE = Pattern.compile("\\$\\{[^}]+}");

  private final Function<String, String> env;
  private final Problems problems;
  private final Set<String> resolved;
  /** For {@code ${file:...}}, {@code ${vault:...}} API keys: resolved once, at start-up. */
  private final SecretProviders providers;

  OpsSections(Function<String, String> env, SecretProviders providers, Problems problems, Set<String> resolved) {
    this.providers = providers;
    this.env = env;
    this.problems = problems;
    this.resolved = resolved;
  }

  OpsSpec read(JsonNode root, String host) {
    OpsSpec d = OpsSpec.DEFAULTS;
    OpsSpec.Admin admin = admin(root.get("admin"));
    OpsSpec.Inbound inbound = inbound(root.get("inbound"));
    boolean require = bool(root, "requireCallerAuth", false);
    if (require && !inbound.authenticates() && !OpsSpec.isLoopback(host)) {
      problems.add(
          "requireCallerAuth",
          "the relay listens beyond loopback without caller authentication"
              + " (expected inbound.apiKeys, inbound.certificates or inbound.allowFrom, or a loopback host)");
    }
    long grace = integer(root, "shutdownGraceSeconds", d.shutdownGrace().toSeconds(), 0, 3600);
    String format = text(root, "logFormat", "text").toLowerCase(Locale.ROOT);
    if (!format.equals("text") && !format.equals("json")) {
      problems.add("logFormat", "expected \"text\" or \"json\"");
    }
    boolean accessLog = bool(root, "accessLog", d.accessLog());
    Set<String> sensitive = new TreeSet<>(d.sensitiveQueryParams());
    for (String name : strings(root.get("sensitiveQueryParams"), "sensitiveQueryParams")) {
      sensitive.add(name.toLowerCase(Locale.ROOT));
    }
    long headTimeout =
        integer(root, "requestHeaderTimeoutSeconds", d.requestHeaderTimeout().toSeconds(), 1, 3600);
    long ioThreads = integer(root, "ioThreads", d.ioThreads(), 0, 256);
    return new OpsSpec(
        admin, inbound, Duration.ofSeconds(grace), format.equals("json"), accessLog, Set.copyOf(sensitive),
        Duration.ofSeconds(headTimeout), (int) ioThreads);
  }

  private OpsSpec.Admin admin(JsonNode node) {
    if (node == null || node.isNull()) {
      return null;
    }
    if (!node.isObject()) {
      problems.add("admin", "expected an object with \"port\" (and optionally \"host\")");
      return null;
    }
    unknownFields(node, "admin.", ADMIN);
    if (!node.has("port")) {
      problems.add("admin.port", "missing (expected a port number between 0 and 65535)");
      return null;
    }
    long port = integer(node, "port", "admin.port", -1, 0, 65535);
    String host = text(node, "host", "admin.host", "127.0.0.1");
    return new OpsSpec.Admin(host, (int) port);
  }

  private OpsSpec.Inbound inbound(JsonNode node) {
    if (node == null || node.isNull()) {
      return OpsSpec.Inbound.NONE;
    }
    if (!node.isObject()) {
      problems.add("inbound", "expected an object with \"apiKeys\", \"certificates\" and/or \"allowFrom\"");
      return OpsSpec.Inbound.NONE;
    }
    unknownFields(node, "inbound.", INBOUND);
    String header = text(node, "header", "inbound.header", OpsSpec.Inbound.NONE.header()).trim();
    if (!HEADER_NAME.matcher(header).matches()) {
      problems.add("inbound.header", "expected a valid HTTP header name");
    } else if (header.equalsIgnoreCase("Authorization") || header.equalsIgnoreCase("Host")) {
      problems.add("inbound.header", "expected a header of its own (not Authorization or Host)");
    }
    List<OpsSpec.ApiKey> keys = new ArrayList<>();
    // Key and certificate names share one namespace: a route's callers may list either.
    Map<String, String> names = new HashMap<>();
    JsonNode keysNode = node.get("apiKeys");
    if (keysNode != null && !keysNode.isNull()) {
      if (!keysNode.isArray()) {
        problems.add("inbound.apiKeys", "expected an array of secret references such as [\"${RELAY_API_KEY}\"]"
            + " or of named keys such as [{\"name\": \"billing\", \"key\": \"${BILLING_KEY}\"}]");
      } else {
        List<byte[]> digests = new ArrayList<>();
        List<String> digestFields = new ArrayList<>();
        for (int i = 0; i < keysNode.size(); i++) {
          String field = "inbound.apiKeys[" + i + "]";
          JsonNode k = keysNode.get(i);
          String name = null;
          String keyField = field;
          if (k.isObject()) {
            unknownFields(k, field + ".", API_KEY);
            name = callerName(k, field, names);
            keyField = field + ".key";
            k = k.get("key");
            if (k == null) {
              problems.add(keyField, "missing (expected a secret reference such as ${BILLING_KEY})");
              continue;
            }
          }
          if (!k.isTextual() || !REFERENCE.matcher(k.textValue().trim()).matches()) {
            problems.add(keyField, "expected a secret reference such as ${RELAY_API_KEY} (a key written into the file is a secret on disk)");
            continue;
          }
          Template t = Template.parse(k.textValue().trim(), keyField, env, providers, false, problems, resolved);
          if (!t.isConstant()) {
            problems.add(keyField, "runtime placeholders such as ${ACCESSTOKEN} are not allowed here");
          } else if (t.isEmpty()) {
            problems.add(keyField, "the referenced value is empty (expected an API key)");
          } else {
            // Two entries with one key would make the caller's name ambiguous: which routes may it use?
            byte[] digest = digest(t);
            for (int j = 0; j < digests.size(); j++) {
              if (MessageDigest.isEqual(digest, digests.get(j))) {
                problems.add(keyField, "the same key as " + digestFields.get(j) + " (expected a different key per entry)");
              }
            }
            digests.add(digest);
            digestFields.add(keyField);
            keys.add(new OpsSpec.ApiKey(name, t));
          }
        }
      }
    }
    List<Cidr> networks = new ArrayList<>();
    int i = 0;
    for (String text : strings(node.get("allowFrom"), "inbound.allowFrom")) {
      Cidr c = Cidr.parse(text);
      if (c == null) {
        problems.add("inbound.allowFrom[" + i + "]", "expected an IPv4 or IPv6 address or CIDR block such as 10.0.0.0/8");
      } else {
        networks.add(c);
      }
      i++;
    }
    List<OpsSpec.Certificate> certificates = certificates(node.get("certificates"), names);
    return new OpsSpec.Inbound(header, List.copyOf(keys), List.copyOf(networks), List.copyOf(certificates));
  }

  /**
   * {@code inbound.certificates}: {@code {"name", "subject"}} and/or {@code "spki"} per entry.
   *
   * @param names caller names taken so far (the named API keys), to the field that took each
   */
  private List<OpsSpec.Certificate> certificates(JsonNode node, Map<String, String> names) {
    List<OpsSpec.Certificate> out = new ArrayList<>();
    if (node == null || node.isNull()) {
      return out;
    }
    if (!node.isArray()) {
      problems.add("inbound.certificates", "expected an array of entries such as"
          + " {\"name\": \"billing\", \"subject\": \"CN=billing,O=Example\"} or {\"name\": \"billing\", \"spki\": \"sha256/...\"}");
      return out;
    }
    List<String> fields = new ArrayList<>();
    for (int i = 0; i < node.size(); i++) {
      String field = "inbound.certificates[" + i + "]";
      JsonNode c = node.get(i);
      if (!c.isObject()) {
        problems.add(field, "expected an object with \"name\" and \"subject\" and/or \"spki\"");
        continue;
      }
      unknownFields(c, field + ".", CERTIFICATE);
      String name = callerName(c, field, names);
      boolean ok = name != null;
      X500Principal subject = null;
      if (c.hasNonNull("subject")) {
        String text = text(c, "subject", field + ".subject", "").trim();
        try {
          subject = text.isEmpty() ? null : new X500Principal(text);
        } catch (IllegalArgumentException e) {
          // The message may quote the text: say only what was expected.
        }
        if (subject == null && !c.get("subject").isTextual()) {
          ok = false; // text() has said "expected a string"
        } else if (subject == null) {
          problems.add(field + ".subject", "expected a distinguished name such as CN=billing,O=Example");
          ok = false;
        }
      }
      byte[] spki = null;
      if (c.hasNonNull("spki")) {
        spki = pin(text(c, "spki", field + ".spki", "").trim());
        if (spki == null && !c.get("spki").isTextual()) {
          ok = false;
        } else if (spki == null) {
          problems.add(field + ".spki", "expected sha256/ and the base64 of 32 bytes (the SHA-256 of the"
              + " certificate's SubjectPublicKeyInfo, as RFC 7469 pins write it)");
          ok = false;
        }
      }
      if (!c.hasNonNull("subject") && !c.hasNonNull("spki")) {
        problems.add(field, "missing subject and spki (expected either or both)");
        ok = false;
      }
      if (!ok) {
        continue;
      }
      OpsSpec.Certificate entry = new OpsSpec.Certificate(name, subject, spki);
      // The same requirements twice would make the caller's name ambiguous, as with two equal keys.
      for (int j = 0; j < out.size(); j++) {
        OpsSpec.Certificate other = out.get(j);
        if (java.util.Objects.equals(subject, other.subject()) && Arrays.equals(spki, other.spki())) {
          problems.add(field, "the same subject and spki as " + fields.get(j) + " (expected a different certificate per entry)");
        }
      }
      out.add(entry);
      fields.add(field);
    }
    return out;
  }

  /** The 32 bytes of a {@code sha256/BASE64} pin, or {@code null}. */
  private static byte[] pin(String text) {
    if (!text.startsWith(PIN_PREFIX)) {
      return null;
    }
    try {
      byte[] digest = Base64.getDecoder().decode(text.substring(PIN_PREFIX.length()));
      return digest.length == 32 ? digest : null;
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  /**
   * The caller name of an {@code apiKeys} or {@code certificates} entry, or {@code null} after reporting
   * why not; {@code names} (name to the field that took it first) is shared by both lists.
   */
  private String callerName(JsonNode entry, String field, Map<String, String> names) {
    JsonNode n = entry.get("name");
    if (n == null || !n.isTextual() || !KEY_NAME.matcher(n.textValue().trim()).matches()) {
      problems.add(field + ".name", "expected a caller name of lower-case letters, digits, _ and -");
      return null;
    }
    String name = n.textValue().trim();
    if (names.putIfAbsent(name, field) != null) {
      problems.add(field + ".name", "the same name as " + names.get(name) + " (expected a unique name)");
      return null;
    }
    return name;
  }

  private static byte[] digest(Template key) {
    byte[] bytes = key.render(TemplateValues.NONE);
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every Java platform", e);
    } finally {
      Arrays.fill(bytes, (byte) 0);
    }
  }

  private List<String> strings(JsonNode node, String field) {
    List<String> out = new ArrayList<>();
    if (node == null || node.isNull()) {
      return out;
    }
    if (!node.isArray()) {
      problems.add(field, "expected an array of strings");
      return out;
    }
    for (int i = 0; i < node.size(); i++) {
      JsonNode n = node.get(i);
      if (!n.isTextual()) {
        problems.add(field + "[" + i + "]", "expected a string");
      } else {
        out.add(n.textValue().trim());
      }
    }
    return new ArrayList<>(new LinkedHashSet<>(out));
  }

  private void unknownFields(JsonNode node, String prefix, Set<String> known) {
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String name = it.next();
      if (!known.contains(name)) {
        problems.add(prefix + name, "unknown field (expected one of: " + String.join(", ", new TreeSet<>(known)) + ")");
      }
    }
  }

  private String text(JsonNode parent, String name, String dflt) {
    return text(parent, name, name, dflt);
  }

  private String text(JsonNode parent, String name, String field, String dflt) {
    JsonNode node = parent.get(name);
    if (node == null || node.isNull()) {
      return dflt;
    }
    if (!node.isTextual()) {
      problems.add(field, "expected a string");
      return dflt;
    }
    Template t = Template.parse(node.textValue(), field, env, providers, false, problems, resolved);
    if (!t.isConstant()) {
      problems.add(field, "runtime placeholders such as ${ACCESSTOKEN} are not allowed here");
      return dflt;
    }
    return t.constantText();
  }

  private boolean bool(JsonNode parent, String name, boolean dflt) {
    JsonNode node = parent.get(name);
    if (node == null || node.isNull()) {
      return dflt;
    }
    if (node.isBoolean()) {
      return node.booleanValue();
    }
    String t = node.isTextual() ? text(parent, name, "").trim().toLowerCase(Locale.ROOT) : "";
    if (t.equals("true") || t.equals("false")) {
      return t.equals("true");
    }
    problems.add(name, "expected true or false");
    return dflt;
  }

  private long integer(JsonNode parent, String name, long dflt, long min, long max) {
    return integer(parent, name, name, dflt, min, max);
  }

  private long integer(JsonNode parent, String name, String field, long dflt, long min, long max) {
    JsonNode node = parent.get(name);
    if (node == null || node.isNull()) {
      return dflt;
    }
    long value;
    if (node.isIntegralNumber() && node.canConvertToLong()) {
      value = node.longValue();
    } else if (node.isTextual()) {
      try {
        value = Long.parseLong(text(parent, name, field, "").trim());
      } catch (NumberFormatException e) {
        value = Long.MIN_VALUE;
      }
    } else {
      value = Long.MIN_VALUE;
    }
    if (value < min || value > max) {
      problems.add(field, "expected a whole number from " + min + " to " + max);
      return dflt;
    }
    return value;
  }
}
