package io.oauth2relay.server.config;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import io.oauth2relay.secrets.spi.Secret;
import io.oauth2relay.secrets.spi.SecretException;
import io.oauth2relay.server.secrets.SecretProviders;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * A config string after start-up resolution: {@code ${NAME}} and {@code ${env:NAME}} references have been
 * replaced by environment values, and what remains are literal bytes and runtime {@link Placeholder}s.
 *
 * <p>Rendering works on bytes so that token values never have to become {@code String}s on the data path.
 * {@code toString()} never shows the resolved content, since an environment value may be a secret.
 */
public final class Template {
  private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_.-]*");
  private static final Pattern SCHEME = Pattern.compile("[a-z][a-z0-9-]*");
  private static final Template EMPTY =
      new Template(new Object[0], EnumSet.noneOf(Placeholder.class), false);

  /** A {@code ${scheme:reference}} part, resolved through its provider each time it is rendered. */
  record SecretRef(String scheme, String reference, SecretProviders providers) {
    @Override
    public String toString() {
      return "${" + scheme + ":" + reference + "}"; // the reference, never the value
    }
  }

  /** Each part is a {@code byte[]} literal (UTF-8), a {@link Placeholder} or a {@link SecretRef}. */
  private final Object[] parts;

  private final Set<Placeholder> used;
  private final boolean hasSecrets;

  private Template(Object[] parts, Set<Placeholder> used, boolean hasSecrets) {
    this.parts = parts;
    this.used = used;
    this.hasSecrets = hasSecrets;
  }

  /** The empty template. */
  public static Template empty() {
    return EMPTY;
  }

  /** A template of one literal, with no references (for values built in code, such as defaults). */
  public static Template literal(String text) {
    return text.isEmpty()
        ? EMPTY
        : new Template(
            new Object[] {text.getBytes(StandardCharsets.UTF_8)}, EnumSet.noneOf(Placeholder.class), false);
  }

  /**
   * Parses {@code raw}, resolving environment references through {@code env}. Problems are reported to
   * {@code problems} under {@code field}; the names of resolved variables are added to {@code resolved}.
   * {@code $${} writes a literal {@code ${}. No secret-provider references are allowed.
   */
  static Template parse(
      String raw,
      String field,
      Function<String, String> env,
      Problems problems,
      Set<String> resolved) {
    return parse(raw, field, env, null, false, problems, resolved);
  }

  /**
   * As {@link #parse(String, String, Function, Problems, Set)}, with {@code ${scheme:reference}} parts for
   * the schemes {@code providers} knows ({@code null}: none). Each reference is resolved once here, so a
   * reference that cannot be resolved is a start-up problem naming it. With {@code defer} the template
   * keeps the reference and resolves it again every time it is rendered (the token calls: a rotated secret
   * is used at the next login); without it the value is resolved now into the template's bytes.
   */
  static Template parse(
      String raw,
      String field,
      Function<String, String> env,
      SecretProviders providers,
      boolean defer,
      Problems problems,
      Set<String> resolved) {
    List<Object> parts = new ArrayList<>();
    Set<Placeholder> used = EnumSet.noneOf(Placeholder.class);
    boolean secrets = false;
    StringBuilder literal = new StringBuilder();
    int i = 0;
    while (i < raw.length()) {
      int start = raw.indexOf("${", i);
      if (start < 0) {
        literal.append(raw, i, raw.length());
        break;
      }
      if (start > 0 && raw.charAt(start - 1) == '$') {
        // "$${" is an escaped "${": keep one '$' and the brace literally.
        literal.append(raw, i, start - 1).append("${");
        i = start + 2;
        continue;
      }
      literal.append(raw, i, start);
      int end = raw.indexOf('}', start + 2);
      if (end < 0) {
        problems.add(field, "unterminated ${ reference (expected ${NAME})");
        return EMPTY;
      }
      String ref = raw.substring(start + 2, end);
      i = end + 1;
      Placeholder placeholder = Placeholder.byName(ref);
      if (placeholder != null) {
        flush(literal, parts);
        parts.add(placeholder);
        used.add(placeholder);
        continue;
      }
      String name = ref.startsWith("env:") ? ref.substring(4) : ref;
      int colon = ref.indexOf(':');
      if (colon > 0 && !ref.startsWith("env:") && SCHEME.matcher(ref.substring(0, colon)).matches()) {
        String scheme = ref.substring(0, colon);
        String reference = ref.substring(colon + 1);
        if (providers == null || !providers.has(scheme) || reference.isEmpty()) {
          problems.add(
              field,
              "no secret provider is installed for the reference scheme '" + scheme + "' (expected one of: env"
                  + (providers == null || providers.names().isEmpty() ? "" : ", " + String.join(", ", providers.names()))
                  + ")");
          continue;
        }
        byte[] value;
        try (Secret secret = providers.resolve(scheme, reference)) {
          value = secret.utf8Bytes();
        } catch (SecretException e) {
          // The provider's message names the reference and the failure, never the value (SPI contract).
          problems.add(field, "cannot resolve ${" + ref + "}: " + e.getMessage());
          continue;
        } catch (RuntimeException e) {
          // A plug-in broke the contract by throwing something else: its message is not trusted.
          problems.add(field, "cannot resolve ${" + ref + "}: the provider failed (" + e.getClass().getName() + ")");
          continue;
        }
        flush(literal, parts);
        resolved.add(scheme + ":" + reference);
        if (defer) {
          Arrays.fill(value, (byte) 0);
          parts.add(new SecretRef(scheme, reference, providers));
          secrets = true;
        } else {
          parts.add(value);
        }
        continue;
      }
      if (!ENV_NAME.matcher(name).matches()) {
        if (colon > 0) {
          problems.add(field, "invalid reference (expected ${NAME}, ${env:NAME} or ${scheme:reference})");
        } else {
          // The text between the braces is not echoed: it may be a value pasted in by mistake.
          problems.add(field, "invalid reference (expected ${NAME} or ${env:NAME})");
        }
        continue;
      }
      String value = env.apply(name);
      if (value == null) {
        problems.add(field, "environment variable " + name + " is not set");
        continue;
      }
      resolved.add(name);
      literal.append(value);
    }
    flush(literal, parts);
    return parts.isEmpty() ? EMPTY : new Template(parts.toArray(), used, secrets);
  }

  private static void flush(StringBuilder literal, List<Object> parts) {
    if (literal.length() > 0) {
      parts.add(literal.toString().getBytes(StandardCharsets.UTF_8));
      literal.setLength(0);
    }
  }

  /** True when the template renders nothing. */
  public boolean isEmpty() {
    return parts.length == 0;
  }

  /** True when rendering reads {@code placeholder}. */
  public boolean uses(Placeholder placeholder) {
    return used.contains(placeholder);
  }

  /**
   * True when the template has no runtime placeholder and no secret reference, so it renders the same
   * every time without I/O.
   */
  public boolean isConstant() {
    return used.isEmpty() && !hasSecrets;
  }

  /** True when rendering reads a secret provider (and so may block, and may change between logins). */
  public boolean hasSecretReferences() {
    return hasSecrets;
  }

  /** Renders into a fresh array. The caller owns it and zeroes it when it may hold a secret. */
  public byte[] render(TemplateValues values) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(64);
    renderTo(out, values, false);
    return out.toByteArray();
  }

  /**
   * Renders into {@code out}; with {@code formEncode} every byte is percent-encoded as an
   * {@code application/x-www-form-urlencoded} component, so that no value needs a {@code String} copy.
   */
  public void renderTo(ByteArrayOutputStream out, TemplateValues values, boolean formEncode) {
    for (Object part : parts) {
      if (part instanceof SecretRef ref) {
        // Resolved now (blocking: never on an event loop), written, then zeroed.
        try (Secret secret = ref.providers().resolve(ref.scheme(), ref.reference())) {
          byte[] bytes = secret.utf8Bytes();
          write(out, bytes, formEncode);
          Arrays.fill(bytes, (byte) 0);
        }
        continue;
      }
      byte[] bytes = part instanceof byte[] b ? b : values.value((Placeholder) part);
      if (bytes != null) {
        write(out, bytes, formEncode);
      }
    }
  }

  private static void write(ByteArrayOutputStream out, byte[] bytes, boolean formEncode) {
    if (formEncode) {
      FormEncoding.encode(bytes, out);
    } else {
      out.write(bytes, 0, bytes.length);
    }
  }

  /**
   * The resolved text of a template without placeholders. Only for values that are not secret by role
   * (URLs, methods, field names); secrets are rendered to bytes.
   */
  public String constantText() {
    if (!isConstant()) {
      throw new IllegalStateException("template has runtime placeholders");
    }
    return new String(render(TemplateValues.NONE), StandardCharsets.UTF_8);
  }

  @Override
  public String toString() {
    return isEmpty() ? "Template[empty]" : "Template[****]";
  }
}
