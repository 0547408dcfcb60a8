package io.oauth2relay.server.internal;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A UTC clock whose {@link #millis()} is one volatile read: a daemon thread refreshes it every
 * {@value #TICK_MILLIS} ms. Reading the system clock costs about 20 ns on the virtual machines this runs
 * on, more than everything else on the token hot path together; token expiry is decided with margins of
 * at least a tenth of a token's lifetime, so 10 ms of granularity changes nothing.
 */
public final class CoarseClock extends Clock {
  static final long TICK_MILLIS = 10;

  private static final CoarseClock SYSTEM = new CoarseClock();

  private volatile long now = System.currentTimeMillis();

  private CoarseClock() {
    ScheduledExecutorService ticker =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "coarse-clock");
              t.setDaemon(true);
              return t;
            });
    ticker.scheduleAtFixedRate(
        () -> now = System.currentTimeMillis(), TICK_MILLIS, TICK_MILLIS, TimeUnit.MILLISECONDS);
  }

  /** The shared instance. */
  public static CoarseClock systemUTC() {
    return SYSTEM;
  }

  @Override
  public long millis() {
    return now;
  }

  @Override
  public Instant instant() {
    return Instant.ofEpochMilli(now);
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    return zone.equals(ZoneOffset.UTC) ? this : Clock.system(zone); // not used by the relay
  }
}
