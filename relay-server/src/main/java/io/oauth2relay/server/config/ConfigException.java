package io.oauth2relay.server.config;

import java.util.List;

/**
 * A config that cannot be used. Each problem reads {@code FILE: field: what was expected}; no problem ever
 * carries a configured value, since values may be secrets.
 */
public final class ConfigException extends Exception {
  private static final long serialVersionUID = 1L;

  private final List<String> problems;

  ConfigException(String source, List<String> problems) {
    super(String.join(System.lineSeparator(), problems.stream().map(p -> source + ": " + p).toList()));
    this.problems = problems.stream().map(p -> source + ": " + p).toList();
  }

  /** One line per problem. */
  public List<String> problems() {
    return problems;
  }
}
