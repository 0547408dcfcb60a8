package io.oauth2relay.server.token;

import java.util.concurrent.CompletableFuture;

/** Where the data path gets the token to inject. Thread-safe. */
public interface TokenSource extends AutoCloseable {
  /** The usable token, or {@code null} when a renewal is due. Lock-free and allocation-free. */
  TokenState current();

  /**
   * A future of a usable token. Concurrent callers share one renewal. Completes exceptionally with
   * {@link TokenUnavailableException} when none can be had now; it never completes on an event loop's
   * behalf, so callers hop back to their own thread.
   */
  CompletableFuture<TokenState> obtain();

  /** Whether a rejected token can be replaced by a renewal (a fixed token cannot: no replay then). */
  default boolean renewable() {
    return false;
  }

  /** The upstream answered 401 to {@code used}: stop injecting exactly that token. */
  default void invalidate(TokenState used) {}

  /** Zeroes every token held. */
  @Override
  void close();
}
