package io.oauth2relay.server.config;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
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
  private static final Template EMPTY = new Template(new Object[0], EnumSet.noneOf(Placeholder.class));

  /** Each part is a {@code byte[]} literal (UTF-8) or a {@link Placeholder}. */
  private final Object[] parts;

  private final Set<Placeholder> used;

  private Template(Object[] parts, Set<Placeholder> used) {
    this.parts = parts;
    this.used = used;
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
            new Object[] {text.getBytes(StandardCharsets.UTF_8)}, EnumSet.noneOf(Placeholder.class));
  }

  /**
   * Parses {@code raw}, resolving environment references through {@code env}. Problems are reported to
   * {@code problems} under {@code field}; the names of resolved variables are added to {@code resolved}.
   * {@code $${} writes a literal {@code ${}.
   */
  static Template parse(
      String raw,
      String field,
      Function<String, String> env,
      Problems problems,
      Set<String> resolved) {
    List<Object> parts = new ArrayList<>();
    Set<Placeholder> used = EnumSet.noneOf(Placeholder.class);
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
      if (!ENV_NAME.matcher(name).matches()) {
        int colon = ref.indexOf(':');
        if (colon > 0) {
          problems.add(
              field,
              "no secret provider is installed for the reference scheme '"
                  + ref.substring(0, colon)
                  + "' (expected ${NAME} or ${env:NAME})");
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
    return parts.isEmpty() ? EMPTY : new Template(parts.toArray(), used);
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

  /** True when the template has no runtime placeholder, so it renders the same every time. */
  public boolean isConstant() {
    return used.isEmpty();
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
      byte[] bytes = part instanceof byte[] b ? b : values.value((Placeholder) part);
      if (bytes == null) {
        continue;
      }
      if (formEncode) {
        FormEncoding.encode(bytes, out);
      } else {
        out.write(bytes, 0, bytes.length);
      }
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
