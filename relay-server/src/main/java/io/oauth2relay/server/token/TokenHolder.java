package io.oauth2relay.server.token;

import java.time.Clock;
import java.time.Duration;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Holds the current {@link TokenState} and renews it, one renewal at a time.
 *
 * <pre>
 *   request --current()--> volatile read + clock compare --valid--> inject
 *                                 | due
 *                                 v
 *            obtain(): CAS an in-flight future (losers join it) --> fetch thread:
 *                refresh (when a refresh token and a refresh call exist) --fails--> login
 *                --> publish state, clear in-flight, complete the future
 * </pre>
 *
 * <p>The hot path is one volatile read and a time comparison. Renewals run on one dedicated daemon thread,
 * never on an event loop. After a failed renewal the holder backs off (1 s doubling to 30 s) and answers
 * callers with {@link TokenUnavailableException} meanwhile, so a dead identity provider is not hammered;
 * a token that is still within its real lifetime keeps being served while renewals fail.
 */
public final class TokenHolder implements TokenSource {
  private static final Logger log = LoggerFactory.getLogger(TokenHolder.class);

  /** How long a replaced token stays intact: requests that took it may still be writing its headers. */
  static final Duration RETIRE_GRACE = Duration.ofSeconds(30);

  private static final long MAX_BACKOFF_MILLIS = 30_000;

  private final TokenFetcher fetcher;
  private final Clock clock;
  private final ScheduledThreadPoolExecutor executor;
  private final AtomicReference<CompletableFuture<TokenState>> inFlight = new AtomicReference<>();
  /** Replaced states waiting out their grace period; close() wipes whatever is left. */
  private final Queue<TokenState> retiring = new ConcurrentLinkedQueue<>();

  private volatile TokenState state;
  private volatile long retryNotBefore;
  private volatile boolean closed;
  /** Consecutive failed renewals; written by the fetch thread only. */
  private int failures;

  public TokenHolder(TokenFetcher fetcher, Clock clock) {
    this.fetcher = fetcher;
    this.clock = clock;
    this.executor =
        new ScheduledThreadPoolExecutor(
            1,
            r -> {
              Thread t = new Thread(r, "token-fetch");
              t.setDaemon(true);
              return t;
            });
    executor.setRemoveOnCancelPolicy(true);
  }

  @Override
  public TokenState current() {
    TokenState s = state;
    return s != null && clock.millis() < s.usableUntilMillis() ? s : null;
  }

  @Override
  public CompletableFuture<TokenState> obtain() {
    for (; ; ) {
      CompletableFuture<TokenState> running = inFlight.get();
      if (running != null) {
        return running;
      }
      TokenState s = current();
      if (s != null) {
        return CompletableFuture.completedFuture(s);
      }
      if (closed) {
        return CompletableFuture.failedFuture(
            new TokenUnavailableException("relay is shutting down", 1, null));
      }
      long wait = retryNotBefore - clock.millis();
      if (wait > 0) {
        TokenState stillValid = state;
        if (stillValid != null && clock.millis() < stillValid.expiresAtMillis()) {
          return CompletableFuture.completedFuture(stillValid);
        }
        return CompletableFuture.failedFuture(
            new TokenUnavailableException("no valid access token (renewal failed)", (wait + 999) / 1000, null));
      }
      CompletableFuture<TokenState> mine = new CompletableFuture<>();
      if (inFlight.compareAndSet(null, mine)) {
        // Re-check after winning: a renewal may have finished between current() and the CAS.
        s = current();
        if (s != null) {
          inFlight.set(null);
          mine.complete(s);
          return mine;
        }
        executor.execute(() -> renew(mine));
        return mine;
      }
    }
  }

  /** Runs on the fetch thread. Publishes the state before clearing the in-flight future. */
  private void renew(CompletableFuture<TokenState> mine) {
    TokenState previous = state;
    try {
      TokenState next = fetch(previous);
      if (closed) {
        next.wipe();
        throw new TokenFetchException("relay is shutting down");
      }
      state = next;
      failures = 0;
      retryNotBefore = 0;
      retire(previous);
      inFlight.set(null);
      mine.complete(next);
    } catch (TokenFetchException | RuntimeException e) {
      failures++;
      long backoff = Math.min(MAX_BACKOFF_MILLIS, 1000L << Math.min(failures - 1, 5));
      retryNotBefore = clock.millis() + backoff;
      log.warn("token renewal failed: {}; next attempt in {} s", e.getMessage(), backoff / 1000);
      inFlight.set(null);
      if (previous != null && clock.millis() < previous.expiresAtMillis()) {
        mine.complete(previous); // still within its real lifetime: keep serving it
      } else {
        mine.completeExceptionally(
            new TokenUnavailableException("no valid access token (" + e.getMessage() + ")", backoff / 1000, null));
      }
    }
  }

  private TokenState fetch(TokenState previous) throws TokenFetchException {
    if (fetcher.canRefresh(previous)) {
      try {
        return fetcher.refresh(previous);
      } catch (TokenFetchException e) {
        log.info("{}; logging in again", e.getMessage());
      }
    }
    return fetcher.login(previous);
  }

  private void retire(TokenState old) {
    if (old != null) {
      retiring.add(old);
      executor.schedule(
          () -> {
            old.wipe();
            retiring.remove(old);
          },
          RETIRE_GRACE.toMillis(),
          TimeUnit.MILLISECONDS);
    }
  }

  /** Starts the first login in the background; failures are logged and retried on demand. */
  public void start() {
    obtain();
  }

  @Override
  public void close() {
    closed = true;
    executor.shutdownNow();
    try {
      executor.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    TokenState s = state;
    state = null;
    if (s != null) {
      s.wipe();
    }
    for (TokenState old; (old = retiring.poll()) != null; ) {
      old.wipe();
    }
    fetcher.close();
  }
}
