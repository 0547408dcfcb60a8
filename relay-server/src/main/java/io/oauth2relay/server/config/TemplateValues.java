package io.oauth2relay.server.config;

/** Supplies the bytes a {@link Template} substitutes for each {@link Placeholder}. */
@FunctionalInterface
public interface TemplateValues {
  /**
   * Returns the UTF-8 bytes for {@code placeholder}, or {@code null} for an empty value. The caller must not
   * modify the returned array; it may be the live token buffer.
   */
  byte[] value(Placeholder placeholder);

  /** Values for a template that uses no placeholder. */
  TemplateValues NONE = p -> null;
}
