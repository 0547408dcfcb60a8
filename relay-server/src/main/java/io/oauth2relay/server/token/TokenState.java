package io.oauth2relay.server.token;

import io.oauth2relay.server.config.Placeholder;
import io.oauth2relay.server.config.TemplateValues;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * One set of tokens from the identity provider, held as byte arrays so they can be zeroed: when a newer
 * state replaces this one (after a grace period, see {@link TokenHolder}) and at shutdown.
 *
 * <p>Immutable apart from {@link #wipe()}. {@code toString()} never shows a token.
 */
public final class TokenState {
  private static final byte[] BEARER = "Bearer".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  private final byte[] accessToken;
  private final byte[] refreshToken;
  private final byte[] tokenType;
  private final long issuedAtMillis;
  private final long expiresAtMillis;
  private final long usableUntilMillis;
  /** The upstream answered 401 to this token: not to be injected again, whatever its expiry says. */
  private volatile boolean rejected;
  private final List<byte[]> derivedCopies = new CopyOnWriteArrayList<>();
  private volatile Object derived;
  private volatile boolean wiped;

  /**
   * Takes ownership of the arrays: the caller must not keep or change them.
   *
   * @param refreshToken {@code null} when the provider issued none
   * @param tokenType {@code null} for the default {@code Bearer}
   * @param issuedAtMillis when the relay received it
   * @param expiresAtMillis when the provider says the access token expires
   * @param usableUntilMillis when the relay stops handing it out (a little before expiry)
   */
  TokenState(
      byte[] accessToken,
      byte[] refreshToken,
      byte[] tokenType,
      long issuedAtMillis,
      long expiresAtMillis,
      long usableUntilMillis) {
    this.issuedAtMillis = issuedAtMillis;
    this.accessToken = accessToken;
    this.refreshToken = refreshToken;
    this.tokenType = tokenType == null || tokenType.length == 0 ? BEARER : tokenType;
    this.expiresAtMillis = expiresAtMillis;
    this.usableUntilMillis = usableUntilMillis;
  }

  /** A state for {@code relay.fixedtoken}: never expires, has no refresh token. */
  public static TokenState fixed(byte[] accessToken) {
    return new TokenState(accessToken, null, null, 0, Long.MAX_VALUE, Long.MAX_VALUE);
  }

  /** When the relay received it (epoch millis). */
  public long issuedAtMillis() {
    return issuedAtMillis;
  }

  /** True once the upstream answered 401 to it (see {@link TokenHolder#invalidate}). */
  public boolean isRejected() {
    return rejected;
  }

  void markRejected() {
    rejected = true;
  }

  /** Usable at {@code nowMillis}: not rejected and before {@link #usableUntilMillis()}. */
  boolean usableAt(long nowMillis) {
    return nowMillis < usableUntilMillis && !rejected;
  }

  /** When the provider says the access token expires (epoch millis). */
  public long expiresAtMillis() {
    return expiresAtMillis;
  }

  /** Until when the relay injects this token (epoch millis); after it, a renewal is due. */
  public long usableUntilMillis() {
    return usableUntilMillis;
  }

  boolean hasRefreshToken() {
    return refreshToken != null && refreshToken.length > 0;
  }

  byte[] refreshTokenBytes() {
    return refreshToken;
  }

  /** Values for templates: {@code ${ACCESSTOKEN}}, {@code ${REFRESHTOKEN}}, {@code ${TOKENTYPE}}. */
  public TemplateValues values(TemplateValues fallback) {
    return p ->
        switch (p) {
          case ACCESSTOKEN -> accessToken;
          case REFRESHTOKEN -> refreshToken;
          case TOKENTYPE -> tokenType;
          case AUTHSTRING -> fallback.value(Placeholder.AUTHSTRING);
        };
  }

  /**
   * Returns what {@code factory} derives from this state (such as pre-encoded relay headers), computing it
   * once. Racing first callers may both compute it; each result is equivalent, and the last one stays.
   */
  @SuppressWarnings("unchecked")
  public <T> T derived(Function<TokenState, T> factory) {
    Object d = derived;
    if (d == null) {
      d = factory.apply(this);
      derived = d;
    }
    return (T) d;
  }

  /** Registers a copy made from this state's tokens, to be zeroed with it. */
  public void zeroWithState(byte[] copy) {
    derivedCopies.add(copy);
    if (wiped) {
      Arrays.fill(copy, (byte) 0);
    }
  }

  /** Zeroes the tokens and every registered copy. Idempotent. */
  void wipe() {
    wiped = true;
    Arrays.fill(accessToken, (byte) 0);
    if (refreshToken != null) {
      Arrays.fill(refreshToken, (byte) 0);
    }
    if (tokenType != BEARER) {
      Arrays.fill(tokenType, (byte) 0);
    }
    for (byte[] copy : derivedCopies) {
      Arrays.fill(copy, (byte) 0);
    }
  }

  boolean isWiped() {
    return wiped;
  }

  @Override
  public String toString() {
    return "TokenState[access=****, refresh=" + (hasRefreshToken() ? "****" : "none")
        + ", expiresAt=" + expiresAtMillis + "]";
  }
}
