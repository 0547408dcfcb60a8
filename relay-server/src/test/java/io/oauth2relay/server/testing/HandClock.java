package io.oauth2relay.server.testing;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicLong;

/** A clock that moves only when the test moves it, so expiry is simulated, never slept. */
public final class HandClock extends Clock {
  private final AtomicLong millis;

  /** A clock reading {@code millis}, which the test may also move directly. */
  public HandClock(AtomicLong millis) {
    this.millis = millis;
  }

  public HandClock(Instant start) {
    this(new AtomicLong(start.toEpochMilli()));
  }

  public void set(long epochMillis) {
    millis.set(epochMillis);
  }

  public void advance(Duration d) {
    millis.addAndGet(d.toMillis());
  }

  @Override
  public long millis() {
    return millis.get();
  }

  @Override
  public Instant instant() {
    return Instant.ofEpochMilli(millis());
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    throw new UnsupportedOperationException();
  }
}
