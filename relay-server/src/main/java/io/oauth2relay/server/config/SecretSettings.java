package io.oauth2relay.server.config;

import com.fasterxml.jackson.databind.JsonNode;
import io.oauth2relay.server.secrets.SecretProviders;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The {@code plugins} field and the {@code secrets} section: where provider jars are, each provider's
 * settings, and how long resolved values may be cached. Read before anything else, because every other
 * string in the file may hold a {@code ${scheme:reference}} that needs its provider.
 *
 * <pre>
 *   "plugins": "/opt/oauth2relay/plugins",
 *   "secrets": {
 *     "cacheSeconds": 0,
 *     "vault":  { "address": "https://vault:8200", "token": "${VAULT_TOKEN}" },
 *     "aws-sm": { "region": "eu-west-1" }
 *   }
 * </pre>
 */
final class SecretSettings {
  private static final String CACHE_SECONDS = "cacheSeconds";
  private static final int MAX_CACHE_SECONDS = 86_400;

  private SecretSettings() {}

  /**
   * Finds the providers; reports problems (and returns {@code null}) when the folder, a jar, a setting or
   * a provider name is wrong. {@code cliPluginDir} (from {@code --plugins}) wins over the config's field.
   */
  static SecretProviders discover(
      JsonNode root, Path cliPluginDir, Function<String, String> env, Problems problems, Set<String> resolved) {
    Path pluginDir = cliPluginDir;
    JsonNode plugins = root.get("plugins");
    if (pluginDir == null && plugins != null && !plugins.isNull()) {
      String text = envText(plugins, "plugins", env, problems, resolved);
      pluginDir = text == null || text.isBlank() ? null : Path.of(text.trim());
    }
    Map<String, Map<String, String>> settings = new LinkedHashMap<>();
    Duration cacheFor = Duration.ZERO;
    JsonNode secrets = root.get("secrets");
    if (secrets != null && !secrets.isNull()) {
      if (!secrets.isObject()) {
        problems.add("secrets", "expected an object of provider settings");
        return null;
      }
      for (Iterator<Map.Entry<String, JsonNode>> it = secrets.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        String name = e.getKey();
        JsonNode value = e.getValue();
        if (name.equals(CACHE_SECONDS)) {
          if (!value.isNumber() || value.doubleValue() < 0 || value.doubleValue() > MAX_CACHE_SECONDS) {
            problems.add("secrets.cacheSeconds", "expected a number of seconds from 0 to " + MAX_CACHE_SECONDS);
          } else {
            cacheFor = Duration.ofMillis((long) (value.doubleValue() * 1000));
          }
          continue;
        }
        if (!value.isObject()) {
          problems.add("secrets." + name, "expected an object of the provider's settings");
          continue;
        }
        Map<String, String> own = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> s = value.fields(); s.hasNext(); ) {
          Map.Entry<String, JsonNode> setting = s.next();
          String field = "secrets." + name + "." + setting.getKey();
          String text = envText(setting.getValue(), field, env, problems, resolved);
          if (text != null) {
            // The SPI hands settings over as Strings (a provider's own credential, such as a Vault
            // token, among them): these copies cannot be zeroed and live until garbage collection.
            own.put(setting.getKey(), text);
          }
        }
        settings.put(name, own);
      }
    }
    if (!problems.isEmpty()) {
      return null;
    }
    SecretProviders providers;
    try {
      providers = SecretProviders.discover(pluginDir, settings, cacheFor, Clock.systemUTC());
    } catch (IllegalArgumentException e) {
      // Names the folder, the jar or the duplicate provider; never a setting's value.
      problems.add("plugins", e.getMessage());
      return null;
    }
    for (String name : settings.keySet()) {
      if (!providers.has(name)) {
        problems.add(
            "secrets." + name,
            "no secret provider named '" + name + "' is installed (expected one of: "
                + String.join(", ", providers.names()) + ")");
      }
    }
    return providers;
  }

  /** A scalar setting as text, with {@code ${NAME}} resolved from the environment. */
  private static String envText(
      JsonNode node, String field, Function<String, String> env, Problems problems, Set<String> resolved) {
    if (node.isTextual()) {
      Template t = Template.parse(node.textValue(), field, env, problems, resolved);
      if (!t.isConstant()) {
        problems.add(field, "runtime placeholders such as ${ACCESSTOKEN} are not allowed here");
        return null;
      }
      return t.constantText();
    }
    if (node.isNumber() || node.isBoolean()) {
      return node.asText();
    }
    problems.add(field, "expected a string, a number or true/false");
    return null;
  }
}
