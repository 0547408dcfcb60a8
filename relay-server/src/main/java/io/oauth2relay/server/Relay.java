package io.oauth2relay.server;

import io.oauth2relay.server.config.RelayConfig;
import io.oauth2relay.server.config.TemplateValues;
import io.oauth2relay.server.proxy.RelayRoute;
import io.oauth2relay.server.proxy.RelayServer;
import io.oauth2relay.server.token.FixedTokenSource;
import io.oauth2relay.server.token.TokenFetcher;
import io.oauth2relay.server.token.TokenHolder;
import io.oauth2relay.server.token.TokenSource;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import javax.net.ssl.SSLException;

/**
 * One running relay, assembled from a config: a token source, the route that uses it, and the listener.
 *
 * <pre>
 *   RelayConfig --> TokenFetcher --> TokenHolder (or FixedTokenSource for relay.fixedtoken)
 *               --> RelayRoute (rewrite + inject) --> RelayServer (Netty listener)
 * </pre>
 */
public final class Relay implements AutoCloseable {
  /** How long one login or refresh call may take. */
  static final Duration TOKEN_CALL_TIMEOUT = Duration.ofSeconds(15);

  private final RelayConfig config;
  private final TokenSource tokens;
  private final TokenHolder holder;
  private final RelayServer server;
  private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

  public Relay(RelayConfig config, Clock clock) throws SSLException {
    this.config = config;
    byte[] authstring = null;
    if (!config.relay().fixedToken().isEmpty()) {
      this.holder = null;
      this.tokens = new FixedTokenSource(config.relay().fixedToken().render(TemplateValues.NONE));
    } else {
      TokenFetcher fetcher =
          new TokenFetcher(config.login(), config.refresh(), config.policy(), clock, TOKEN_CALL_TIMEOUT);
      authstring = fetcher.authstring();
      this.holder = new TokenHolder(fetcher, config.policy(), clock);
      this.tokens = holder;
    }
    this.server =
        new RelayServer(new RelayRoute(config.relay(), tokens, authstring, config.policy().replayLimit()));
  }

  /** The token source requests use (tests inspect what it holds after {@link #close()}). */
  TokenSource tokens() {
    return tokens;
  }

  /** Starts the first login in the background and binds the listener. */
  public InetSocketAddress start() throws InterruptedException {
    if (holder != null) {
      holder.start();
    }
    return server.start(config.host(), config.port());
  }

  /** Stops listening, then zeroes every token and credential held. Idempotent. */
  @Override
  public void close() {
    if (closed.getAndSet(true)) {
      return;
    }
    try {
      server.close();
    } finally {
      tokens.close();
    }
  }
}
