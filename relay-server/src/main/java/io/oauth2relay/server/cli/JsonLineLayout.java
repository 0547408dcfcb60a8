package io.oauth2relay.server.cli;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.LayoutBase;
import java.time.Instant;

/**
 * {@code logFormat: "json"}: one JSON object per line for log collectors,
 * {@code {"time":..., "level":..., "thread":..., "logger":..., "message":...}}. A throwable is shown by
 * its class name only, like everywhere else in the relay: a message or stack trace could quote a value.
 */
final class JsonLineLayout extends LayoutBase<ILoggingEvent> {
  @Override
  public String doLayout(ILoggingEvent event) {
    StringBuilder json = new StringBuilder(256);
    json.append("{\"time\":\"").append(Instant.ofEpochMilli(event.getTimeStamp())).append('"');
    field(json, "level", event.getLevel().toString());
    field(json, "thread", event.getThreadName());
    field(json, "logger", event.getLoggerName());
    field(json, "message", event.getFormattedMessage());
    IThrowableProxy thrown = event.getThrowableProxy();
    if (thrown != null) {
      field(json, "error", thrown.getClassName());
    }
    return json.append("}\n").toString();
  }

  private static void field(StringBuilder json, String name, String value) {
    json.append(",\"").append(name).append("\":\"");
    String v = value == null ? "" : value;
    for (int i = 0; i < v.length(); i++) {
      char c = v.charAt(i);
      switch (c) {
        case '"' -> json.append("\\\"");
        case '\\' -> json.append("\\\\");
        case '\n' -> json.append("\\n");
        case '\r' -> json.append("\\r");
        case '\t' -> json.append("\\t");
        default -> {
          if (c < 0x20) {
            json.append(String.format("\\u%04x", (int) c));
          } else {
            json.append(c);
          }
        }
      }
    }
    json.append('"');
  }
}
