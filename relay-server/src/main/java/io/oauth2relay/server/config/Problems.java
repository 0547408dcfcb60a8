package io.oauth2relay.server.config;

import java.util.ArrayList;
import java.util.List;

/** Collects config problems, each naming a field and what was expected, never a value. */
final class Problems {
  private final List<String> lines;
  /** Put before every field added through this view: {@code routes[1].} for a route's sections. */
  private final String prefix;

  Problems() {
    this(new ArrayList<>(), "");
  }

  private Problems(List<String> lines, String prefix) {
    this.lines = lines;
    this.prefix = prefix;
  }

  /**
   * A view that adds to the same list with {@code prefix} before each field, so that code reading a
   * section names its fields relative to the section ({@code login.url}) and the problem still carries
   * the full path ({@code routes[1].login.url}).
   */
  Problems scoped(String prefix) {
    return new Problems(lines, this.prefix + prefix);
  }

  void add(String field, String message) {
    lines.add(prefix + field + ": " + message);
  }

  void addAll(Problems other) {
    lines.addAll(other.lines);
  }

  boolean isEmpty() {
    return lines.isEmpty();
  }

  List<String> lines() {
    return List.copyOf(lines);
  }
}
