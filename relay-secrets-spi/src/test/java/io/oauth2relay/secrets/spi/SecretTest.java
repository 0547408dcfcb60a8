package io.oauth2relay.secrets.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class SecretTest {

    private static final String VALUE = "s3cr3t-value";

    @Test
    void ofClonesItsInputSoTheCallerCanZeroItsArray() {
        final char[] original = VALUE.toCharArray();
        final Secret secret = Secret.of(original);

        original[0] = 'X';

        assertThat(revealed(secret)).isEqualTo(VALUE);
    }

    @Test
    void copyOfCopiesTheCharacterSequence() {
        final StringBuilder original = new StringBuilder(VALUE);
        final Secret secret = Secret.copyOf(original);

        original.setCharAt(0, 'X');

        assertThat(revealed(secret)).isEqualTo(VALUE);
    }

    @Test
    void applyReturnsWhatTheFunctionReturns() {
        final Secret secret = Secret.copyOf(VALUE);

        final int length = secret.apply(chars -> chars.length);

        assertThat(length).isEqualTo(VALUE.length());
    }

    @Test
    void applyZeroesTheLentArrayAfterTheFunctionReturns() {
        final Secret secret = Secret.copyOf(VALUE);
        final AtomicReference<char[]> lent = new AtomicReference<>();

        secret.apply(chars -> {
            lent.set(chars);
            return null;
        });

        assertThat(lent.get()).hasSize(VALUE.length()).containsOnly('\0');
    }

    @Test
    void applyZeroesTheLentArrayWhenTheFunctionThrows() {
        final Secret secret = Secret.copyOf(VALUE);
        final AtomicReference<char[]> lent = new AtomicReference<>();

        assertThatThrownBy(() -> secret.apply(chars -> {
            lent.set(chars);
            throw new IllegalArgumentException("boom");
        })).hasMessage("boom");

        assertThat(lent.get()).containsOnly('\0');
    }

    @Test
    void applyLendsACopyNotTheHeldValue() {
        final Secret secret = Secret.copyOf(VALUE);

        secret.apply(chars -> {
            chars[0] = 'X';
            return null;
        });

        assertThat(revealed(secret)).isEqualTo(VALUE);
    }

    @Test
    void lengthCountsChars() {
        assertThat(Secret.copyOf(VALUE).length()).isEqualTo(VALUE.length());
    }

    @Test
    void utf8BytesRoundTripsNonAsciiText() {
        // Two-, three- and four-byte sequences (the last is a surrogate pair).
        final String text = "pässwörd-€-\uD83D\uDD11";
        final Secret secret = Secret.copyOf(text);

        final byte[] bytes = secret.utf8Bytes();

        assertThat(bytes).isEqualTo(text.getBytes(StandardCharsets.UTF_8));
        assertThat(new String(bytes, StandardCharsets.UTF_8)).isEqualTo(text);
    }

    @Test
    void utf8BytesOfAnEmptySecretIsEmpty() {
        assertThat(Secret.of(new char[0]).utf8Bytes()).isEmpty();
    }

    @Test
    void utf8BytesRefusesAnUnpairedSurrogateRatherThanReplacingIt() {
        final Secret secret = Secret.of(new char[] {'a', '\uD83D', 'b'});

        assertThatThrownBy(secret::utf8Bytes)
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("secret is not well-formed UTF-16");
    }

    @Test
    void utf8BytesReturnsAFreshArrayEachTime() {
        final Secret secret = Secret.copyOf(VALUE);

        final byte[] first = secret.utf8Bytes();
        first[0] = 0;

        assertThat(secret.utf8Bytes()).isEqualTo(VALUE.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void closeDestroys() {
        final Secret secret = Secret.copyOf(VALUE);
        assertThat(secret.isDestroyed()).isFalse();

        secret.close();

        assertThat(secret.isDestroyed()).isTrue();
    }

    @Test
    void everyUseAfterDestroyThrowsWithoutTheValue() {
        final Secret secret = Secret.copyOf(VALUE);

        secret.destroy();

        assertThatThrownBy(() -> secret.apply(String::new))
                .isInstanceOf(IllegalStateException.class).hasMessage("secret destroyed");
        assertThatThrownBy(secret::utf8Bytes)
                .isInstanceOf(IllegalStateException.class).hasMessage("secret destroyed");
        assertThatThrownBy(secret::length)
                .isInstanceOf(IllegalStateException.class).hasMessage("secret destroyed");
    }

    @Test
    void destroyingTwiceIsHarmless() {
        final Secret secret = Secret.copyOf(VALUE);

        secret.destroy();
        secret.close();

        assertThat(secret.isDestroyed()).isTrue();
    }

    @Test
    void destroyDuringApplyLeavesTheFunctionItsCopyUntilItReturns() throws Exception {
        final Secret secret = Secret.copyOf(VALUE);
        final CountDownLatch inside = new CountDownLatch(1);
        final CountDownLatch destroyed = new CountDownLatch(1);

        final CompletableFuture<String> seen = CompletableFuture.supplyAsync(() -> secret.apply(chars -> {
            inside.countDown();
            await(destroyed);
            return new String(chars);
        }));
        assertThat(inside.await(10, TimeUnit.SECONDS)).isTrue();
        // Does not wait for the function: no lock is held while it runs.
        secret.destroy();
        destroyed.countDown();

        assertThat(seen.get(10, TimeUnit.SECONDS)).isEqualTo(VALUE);
        assertThat(secret.isDestroyed()).isTrue();
    }

    @Test
    void toStringNeverShowsTheValue() {
        final Secret secret = Secret.copyOf(VALUE);

        assertThat(secret).hasToString("****");
        secret.destroy();
        assertThat(secret).hasToString("****");
    }

    @Test
    void secretsWithTheSameValueAreNotEqual() {
        final Secret a = Secret.copyOf(VALUE);
        final Secret b = Secret.copyOf(VALUE);

        assertThat(a).isNotEqualTo(b);
    }

    @Test
    void isNotSerializable() {
        assertThat(Serializable.class.isAssignableFrom(Secret.class)).isFalse();
    }

    // A typed target for apply: AssertJ's overloaded assertThat cannot infer the result type itself.
    static String revealed(Secret secret) {
        return secret.apply(String::new);
    }

    private static void await(CountDownLatch latch) {
        try {
            if (!latch.await(10, TimeUnit.SECONDS)) {
                throw new AssertionError("timed out");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
