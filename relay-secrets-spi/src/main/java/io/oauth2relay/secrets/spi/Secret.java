package io.oauth2relay.secrets.spi;

import static java.util.Objects.requireNonNull;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetEncoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.function.Function;
import javax.security.auth.Destroyable;

/**
 * A secret value (a password, a client secret, a token) held as a {@code char[]} that can be zeroed.
 *
 * <p>A {@code Secret} owns a private copy of its value: the factories clone what they are given, so the
 * caller stays responsible for zeroing its own array. The value never leaves through a getter; it is lent
 * to a function through {@link #apply(Function)}, or encoded to fresh bytes through {@link #utf8Bytes()}.
 * {@link #destroy()} (or {@link #close()}, so that try-with-resources works) zeroes the value, after which
 * every use throws {@link IllegalStateException}.
 *
 * <p>On purpose, a {@code Secret} has no {@code equals}/{@code hashCode} (it compares by identity: compare
 * values with {@link java.security.MessageDigest#isEqual(byte[], byte[])} if ever needed), is not
 * {@link java.io.Serializable}, and its {@link #toString()} never prints the value.
 *
 * <p>Thread-safe. State is guarded by the instance's monitor, which is held only to copy or to zero the
 * value, never while caller code runs: {@code destroy()} racing with {@code apply(fn)} either wins (and
 * {@code apply} throws) or loses (and {@code fn} works on its own copy, zeroed when {@code fn} returns).
 */
public final class Secret implements Destroyable, AutoCloseable {

    private static final String MASK = "****";

    // Guarded by "this". Never handed out: callers get copies whose lifetime each call controls.
    private final char[] value;
    private boolean destroyed;

    private Secret(char[] value) {
        this.value = value;
    }

    /**
     * Returns a secret holding a copy of {@code value}.
     *
     * @param value the characters of the secret; cloned, so the caller can (and should) zero it afterwards
     * @return a new secret owning its own copy
     */
    public static Secret of(char[] value) {
        requireNonNull(value, "value");
        return new Secret(value.clone());
    }

    /**
     * Returns a secret holding a copy of the characters of {@code value}.
     *
     * @param value the characters of the secret; copied. If it is a {@link String} its characters stay on
     *     the heap until collected, which is beyond our control: prefer {@link #of(char[])} where the source
     *     can be zeroed
     * @return a new secret owning its own copy
     */
    public static Secret copyOf(CharSequence value) {
        requireNonNull(value, "value");
        final char[] chars = new char[value.length()];
        for (int i = 0; i < chars.length; i++) {
            chars[i] = value.charAt(i);
        }
        return new Secret(chars);
    }

    /**
     * Lends a temporary copy of the value to {@code fn} and returns what it returns.
     *
     * <p>The copy is zeroed as soon as {@code fn} returns or throws, so {@code fn} must not keep the array
     * or let it escape (no field, no other thread, no asynchronous callback). Turning it into a
     * {@code String} (because a library insists on one) leaves an unzeroable copy behind: say so in a
     * comment at that spot.
     *
     * <p>{@code fn} runs without any lock held, so it may block; a concurrent {@link #destroy()} does not
     * wait for it and does not touch its copy.
     *
     * @param fn the function to lend the value to
     * @param <R> the type of the result
     * @return the result of {@code fn}
     * @throws IllegalStateException if this secret has been destroyed
     */
    public <R> R apply(Function<? super char[], ? extends R> fn) {
        requireNonNull(fn, "fn");
        final char[] copy = copyValue();
        try {
            return fn.apply(copy);
        } finally {
            Arrays.fill(copy, '\0');
        }
    }

    /**
     * Returns a fresh UTF-8 encoding of the value. The caller owns the array and must zero it
     * ({@code Arrays.fill(bytes, (byte) 0)}) once it is done with it.
     *
     * <p>The encoding never goes through a {@code String}, and every intermediate buffer is zeroed.
     *
     * @return the UTF-8 bytes of the value, in a new array
     * @throws IllegalStateException if this secret has been destroyed, or if its value is not well-formed
     *     UTF-16 (an unpaired surrogate): such a value is refused rather than silently replaced by
     *     {@code ?}, which would send a different secret than the one configured
     */
    public byte[] utf8Bytes() {
        final char[] chars = copyValue();
        // UTF-8 needs at most 3 bytes per char (a surrogate pair, 2 chars, needs 4), so one buffer of
        // this size never has to grow: a regrown buffer would leave an unzeroed copy behind.
        final byte[] buffer = new byte[Math.multiplyExact(chars.length, 3)];
        try {
            final CharsetEncoder encoder = StandardCharsets.UTF_8.newEncoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT);
            final ByteBuffer out = ByteBuffer.wrap(buffer);
            CoderResult result = encoder.encode(CharBuffer.wrap(chars), out, true);
            if (!result.isError()) {
                result = encoder.flush(out);
            }
            if (result.isError()) {
                // Not result.throwException(): the message must never hint at the value.
                throw new IllegalStateException("secret is not well-formed UTF-16");
            }
            return Arrays.copyOf(buffer, out.position());
        } finally {
            Arrays.fill(chars, '\0');
            Arrays.fill(buffer, (byte) 0);
        }
    }

    /**
     * Returns the number of {@code char}s in the value.
     *
     * @return the length of the value
     * @throws IllegalStateException if this secret has been destroyed
     */
    public synchronized int length() {
        checkNotDestroyed();
        return value.length;
    }

    /**
     * Zeroes the value and marks this secret destroyed. Calling it again does nothing.
     *
     * <p>Copies already lent to a running {@link #apply(Function)} are left to that call, which zeroes
     * them when its function returns.
     */
    @Override
    public synchronized void destroy() {
        Arrays.fill(value, '\0');
        destroyed = true;
    }

    /**
     * Returns whether {@link #destroy()} (or {@link #close()}) has been called.
     *
     * @return {@code true} once this secret has been destroyed
     */
    @Override
    public synchronized boolean isDestroyed() {
        return destroyed;
    }

    /**
     * Destroys this secret, so that try-with-resources zeroes it; same as {@link #destroy()}.
     */
    @Override
    public void close() {
        destroy();
    }

    /**
     * Returns {@code ****}, whatever the value and whether or not it has been destroyed, so that a secret
     * can be logged or put in an exception message without leaking.
     *
     * @return {@code ****}
     */
    @Override
    public String toString() {
        return MASK;
    }

    // The only way the value leaves the monitor: a copy owned (and zeroed) by the calling method.
    private synchronized char[] copyValue() {
        checkNotDestroyed();
        return value.clone();
    }

    private void checkNotDestroyed() {
        if (destroyed) {
            throw new IllegalStateException("secret destroyed");
        }
    }
}
