package io.oauth2relay.server.config;

import java.util.ArrayList;
import java.util.List;

/** Collects config problems, each naming a field and what was expected, never a value. */
final class Problems {
  private final List<String> lines = new ArrayList<>();

  void add(String field, String message) {
    lines.add(field + ": " + message);
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
