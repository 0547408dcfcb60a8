package io.oauth2relay.server.token;

import io.oauth2relay.server.config.TokenPolicy;
import java.time.Clock;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Holds the current {@link TokenState} and renews it, one renewal at a time.
 *
 * <pre>
 *   request --current()--> volatile read + clock compare --usable--> inject
 *                                 | due (or rejected by the upstream)
 *                                 v
 *            obtain(): CAS an in-flight future (losers join it) --> token-fetch thread:
 *                refresh (when a refresh token and a refresh call exist) --fails--> login
 *                --> publish state, clear in-flight, complete the future, schedule the next renewal
 *
 *   token-fetch thread, in the background:
 *     at refreshAt x lifetime (minus jitter) --> renew ahead of expiry, so no request waits in steady state
 *     after a failure --> retry after back-off (exponential with full jitter, at least the provider's
 *                          Retry-After; rejectedRetry after invalid_client) until it succeeds
 * </pre>
 *
 * <p>The hot path ({@link #current()}) is a volatile read, a time comparison and a flag check, and
 * allocates nothing. Renewals run on one dedicated daemon thread, never on an event loop. While renewals
 * fail, a token still within its real lifetime keeps being served; after that, {@link #obtain()} fails
 * fast with {@link TokenUnavailableException} until the next attempt is due.
 */
public final class TokenHolder implements TokenSource {
  private static final Logger log = LoggerFactory.getLogger(TokenHolder.class);

  /** How long a replaced token stays intact: requests that took it may still be writing its headers. */
  static final long RETIRE_GRACE_MILLIS = 30_000;

  private final TokenFetcher fetcher;
  private final Clock clock;
  private final TokenPolicy policy;
  private final ScheduledThreadPoolExecutor executor;
  private final AtomicReference<CompletableFuture<TokenState>> inFlight = new AtomicReference<>();
  /** Replaced states waiting out their grace period; close() wipes whatever is left. */
  private final Queue<TokenState> retiring = new ConcurrentLinkedQueue<>();

  private volatile TokenState state;
  private volatile long retryNotBefore;
  private volatile boolean closed;
  private volatile String unhealthy;
  /** Written by the fetch thread only. */
  private int failures;

  private final Scheduler scheduler;
  private Future<?> nextRenewal;

  /** Schedules background renewals; tests substitute one they drive by hand. */
  @FunctionalInterface
  interface Scheduler {
    Future<?> schedule(Runnable task, long delayMillis);
  }

  /** The most a revocation may add to shutdown (RFC 7009, {@code token.revokeOnShutdown}). */
  static final java.time.Duration REVOKE_LIMIT = java.time.Duration.ofSeconds(2);

  public TokenHolder(TokenFetcher fetcher, TokenPolicy policy, Clock clock) {
    this(fetcher, policy, clock, null);
  }

  /** @param scheduler for background renewals, or {@code null} for the holder's own fetch thread */
  TokenHolder(TokenFetcher fetcher, TokenPolicy policy, Clock clock, Scheduler scheduler) {
    this.fetcher = fetcher;
    this.policy = policy;
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
    this.scheduler =
        scheduler != null
            ? scheduler
            : (task, delay) -> executor.schedule(task, delay, TimeUnit.MILLISECONDS);
  }

  @Override
  public TokenState current() {
    TokenState s = state;
    return s != null && s.usableAt(clock.millis()) ? s : null;
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
      long now = clock.millis();
      long wait = retryNotBefore - now;
      if (wait > 0) {
        TokenState stillValid = state;
        if (stillValid != null && !stillValid.isRejected() && now < stillValid.expiresAtMillis()) {
          return CompletableFuture.completedFuture(stillValid);
        }
        String reason = unhealthy;
        return CompletableFuture.failedFuture(
            new TokenUnavailableException(
                "no valid access token" + (reason == null ? "" : " (" + reason + ")"), (wait + 999) / 1000, null));
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
        execute(() -> renew(mine));
        return mine;
      }
    }
  }

  /**
   * The upstream answered 401 to {@code used}: stop injecting exactly that token, and renew. A newer token
   * that has replaced it meanwhile is left alone, so a burst of 401s for one stale token causes one renewal.
   * The caller then asks {@link #obtain()} for the replacement.
   */
  @Override
  public boolean renewable() {
    return true;
  }

  @Override
  public void invalidate(TokenState used) {
    if (used == state && !used.isRejected()) {
      used.markRejected();
      log.info("the upstream rejected the access token ****; renewing it");
      retryNotBefore = 0; // a rejected token is a reason to try now, whatever the back-off said
    }
  }

  /** Seconds until the current token expires (negative once expired), or {@code Long.MIN_VALUE} without one. */
  public long secondsToExpiry() {
    TokenState s = state;
    return s == null ? Long.MIN_VALUE : Math.floorDiv(s.expiresAtMillis() - clock.millis(), 1000);
  }

  /** Why the holder cannot get tokens, or {@code null} while it can (for readiness reporting). */
  public String unhealthyReason() {
    return unhealthy;
  }

  /** Starts the first login in the background; failures are retried in the background too. */
  public void start() {
    obtain();
  }

  private void execute(Runnable task) {
    try {
      executor.execute(task);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      CompletableFuture<TokenState> f = inFlight.getAndSet(null);
      if (f != null) {
        f.completeExceptionally(new TokenUnavailableException("relay is shutting down", 1, null));
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
      unhealthy = null;
      retire(previous);
      scheduleAhead(next);
      inFlight.set(null);
      mine.complete(next);
    } catch (TokenFetchException | RuntimeException thrown) {
      // An unexpected exception's message is not ours to repeat: it could quote anything.
      Exception e =
          thrown instanceof TokenFetchException
              ? thrown
              : new TokenFetchException("internal error (" + thrown.getClass().getSimpleName() + ")");
      if (!(thrown instanceof TokenFetchException)) {
        log.error("token renewal failed unexpectedly ({})", thrown.getClass().getName());
      }
      failures++;
      long delay = backoffMillis(e);
      retryNotBefore = clock.millis() + delay;
      boolean rejected = e instanceof TokenFetchException f && f.kind() == TokenFetchException.Kind.REJECTED;
      unhealthy = rejected ? "credentials or grant rejected: " + e.getMessage() : null;
      log.warn("token renewal failed: {}; next attempt in {} ms", e.getMessage(), delay);
      inFlight.set(null);
      if (!closed) {
        schedule(delay);
      }
      long now = clock.millis();
      if (previous != null && !previous.isRejected() && now < previous.expiresAtMillis()) {
        mine.complete(previous); // still within its real lifetime: keep serving it
      } else {
        mine.completeExceptionally(
            new TokenUnavailableException(
                "no valid access token (" + e.getMessage() + ")", (delay + 999) / 1000, null));
      }
    }
  }

  private TokenState fetch(TokenState previous) throws TokenFetchException {
    if (fetcher.canRefresh(previous)) {
      try {
        return fetcher.refresh(previous);
      } catch (TokenFetchException e) {
        // Whatever went wrong with the refresh token (invalid_grant, a rotated token lost to a race, an
        // outage), a login is the way back; its own failure decides the back-off.
        log.info("{}; logging in again", e.getMessage());
      }
    }
    return fetcher.login(previous);
  }

  /** Exponential back-off with full jitter, at least the provider's Retry-After. */
  private long backoffMillis(Exception e) {
    if (e instanceof TokenFetchException f && f.kind() == TokenFetchException.Kind.REJECTED) {
      return Math.max(policy.rejectedRetry().toMillis(), f.retryAfterMillis());
    }
    long min = policy.retryMin().toMillis();
    long cap = Math.min(policy.retryMax().toMillis(), min << Math.min(failures - 1, 20));
    long delay = Math.max(min, ThreadLocalRandom.current().nextLong(cap + 1)); // full jitter, floored
    if (e instanceof TokenFetchException f && f.retryAfterMillis() > delay) {
      delay = Math.min(f.retryAfterMillis(), Math.max(policy.retryMax().toMillis(), policy.rejectedRetry().toMillis()));
    }
    return delay;
  }

  /** Schedules the background renewal at {@code refreshAt} of the token's lifetime, minus jitter. */
  private void scheduleAhead(TokenState next) {
    if (!policy.refreshAhead() || next.expiresAtMillis() == Long.MAX_VALUE) {
      return;
    }
    long lifetime = next.expiresAtMillis() - next.issuedAtMillis();
    double fraction = policy.refreshAt() - policy.jitter() * ThreadLocalRandom.current().nextDouble();
    long at = next.issuedAtMillis() + (long) (lifetime * Math.max(0.01, fraction));
    // Never later than the moment the token stops being injected.
    at = Math.min(at, next.usableUntilMillis());
    schedule(Math.max(0, at - clock.millis()));
  }

  private void schedule(long delayMillis) {
    if (nextRenewal != null) {
      nextRenewal.cancel(false);
    }
    try {
      nextRenewal = scheduler.schedule(this::renewInBackground, delayMillis);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // shutting down
    }
  }

  /** Starts a renewal even though the current token is still usable, unless one is running already. */
  void renewInBackground() {
    if (closed) {
      return;
    }
    CompletableFuture<TokenState> mine = new CompletableFuture<>();
    if (inFlight.compareAndSet(null, mine)) {
      renew(mine); // already on the fetch thread
    }
  }

  private void retire(TokenState old) {
    if (old != null) {
      retiring.add(old);
      executor.schedule(
          () -> {
            old.wipe();
            retiring.remove(old);
          },
          RETIRE_GRACE_MILLIS,
          TimeUnit.MILLISECONDS);
    }
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
      if (policy.revokeOnShutdown()) {
        fetcher.revoke(s, REVOKE_LIMIT); // before the wipe; bounded, and never throws
      }
      s.wipe();
    }
    for (TokenState old; (old = retiring.poll()) != null; ) {
      old.wipe();
    }
    fetcher.close();
  }
}
