package io.oauth2relay.secrets.spi;

/**
 * Resolves secret references of one scheme to their values, for example the {@code vault} scheme of
 * {@code ${vault:kv/app#password}}. Created by a {@link SecretProviderFactory}.
 *
 * <p>Implementations must be thread-safe: the relay may resolve several references at once. {@link
 * #resolve(String)} may block on network I/O; the relay never calls it on an event loop, so an
 * implementation needs no asynchronous API of its own.
 *
 * <p>Whoever created the provider closes it, and does not call {@code resolve} after that.
 */
public interface SecretProvider extends AutoCloseable {

    /**
     * Returns the value a reference points to, as a new {@link Secret} that the caller owns (and
     * destroys when done with it).
     *
     * @param reference the part of the reference after the scheme: for {@code ${vault:kv/app#password}}
     *     it is {@code kv/app#password}. Its syntax is the provider's to define
     * @return the resolved value, never {@code null}
     * @throws SecretException if the reference is malformed or unknown, or the backend is unreachable or
     *     refuses; the message names the reference, never the value
     */
    Secret resolve(String reference);

    /**
     * Releases what the provider holds (connections, threads, cached credentials). Does nothing by
     * default, for providers that hold nothing.
     */
    @Override
    default void close() {
    }
}
