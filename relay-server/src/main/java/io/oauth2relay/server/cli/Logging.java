package io.oauth2relay.server.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.FileAppender;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import java.nio.file.Path;
import org.slf4j.LoggerFactory;

/**
 * Applies the seed's {@code debug} and {@code logfile}: the log goes to standard output, and also to the
 * log file when one is set. Every log line in the relay is written so that it cannot carry a secret (tokens
 * and credentials appear as {@code ****}), at debug level too.
 */
final class Logging {
  private static final String PATTERN = "%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level [%thread] %logger{0} - %msg%n";

  private Logging() {}

  static void configure(boolean debug, Path logfile) {
    configure(debug, logfile, false);
  }

  /** @param json one JSON object per line ({@code logFormat: "json"}) instead of the text pattern */
  static void configure(boolean debug, Path logfile, boolean json) {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    context.reset();
    Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.setLevel(debug ? Level.DEBUG : Level.INFO);
    // Netty's own debug output is about its internals, not about relayed traffic: keep it quiet.
    context.getLogger("io.netty").setLevel(Level.INFO);

    ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
    start(context, console, "console", json);
    root.addAppender(console);
    if (logfile != null) {
      FileAppender<ILoggingEvent> file = new FileAppender<>();
      file.setFile(logfile.toString());
      file.setAppend(true);
      start(context, file, "file", json);
      root.addAppender(file);
    }
  }

  private static void start(
      LoggerContext context, OutputStreamAppender<ILoggingEvent> appender, String name, boolean json) {
    ch.qos.logback.core.encoder.Encoder<ILoggingEvent> encoder;
    if (json) {
      JsonLineLayout layout = new JsonLineLayout();
      layout.setContext(context);
      layout.start();
      LayoutWrappingEncoder<ILoggingEvent> wrapping = new LayoutWrappingEncoder<>();
      wrapping.setContext(context);
      wrapping.setLayout(layout);
      wrapping.start();
      encoder = wrapping;
    } else {
      PatternLayoutEncoder pattern = new PatternLayoutEncoder();
      pattern.setContext(context);
      pattern.setPattern(PATTERN);
      pattern.start();
      encoder = pattern;
    }
    appender.setContext(context);
    appender.setName(name);
    appender.setEncoder(encoder);
    appender.start();
  }
}
