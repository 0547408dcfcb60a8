package io.oauth2relay.secrets.spi;

import java.util.Map;

/**
 * Creates the {@link SecretProvider} of one reference scheme from its configuration. The relay finds
 * factories with {@link java.util.ServiceLoader}, so an implementation must be a public class with a public
 * no-arg constructor that does no work: configuration arrives through {@link #create(Map)}.
 *
 * <p>A provider jar declares its factory in
 * {@code META-INF/services/io.oauth2relay.secrets.spi.SecretProviderFactory}, one fully qualified class
 * name per line (and with {@code provides ... with ...} if it has a {@code module-info}). For example:
 *
 * <pre>{@code
 * public final class EnvSecretProviderFactory implements SecretProviderFactory {
 *     public String name() {
 *         return "env";
 *     }
 *
 *     public SecretProvider create(Map<String, String> config) {
 *         return reference -> {
 *             // System.getenv hands out a String: zeroing is out of our hands for this provider.
 *             String value = System.getenv(reference);
 *             if (value == null) {
 *                 throw new SecretException(reference + ": no such environment variable");
 *             }
 *             return Secret.copyOf(value);
 *         };
 *     }
 * }
 * }</pre>
 *
 * <p>and the relay, roughly:
 *
 * <pre>{@code
 * for (SecretProviderFactory factory : ServiceLoader.load(SecretProviderFactory.class)) {
 *     providers.put(factory.name(), factory.create(configOf(factory.name())));
 * }
 * }</pre>
 *
 * <p>New methods will be added as {@code default} methods, so that existing factories keep working.
 */
public interface SecretProviderFactory {

    /**
     * Returns the reference scheme this factory serves, for example {@code vault} for
     * {@code ${vault:kv/app#password}}: lower-case ASCII letters, digits and {@code -}, unique among the
     * factories the relay loads.
     *
     * @return the scheme, constant for a given factory
     */
    String name();

    /**
     * Creates a provider from its configuration.
     *
     * <p>The map holds this provider's settings from the relay configuration. It may be read-only: the
     * factory should copy what it needs rather than keep it.
     * Keys the factory does not know should be refused, so that typos surface at start-up.
     *
     * @param config the provider's settings, possibly empty, never {@code null}
     * @return a new provider, which the caller closes
     * @throws IllegalArgumentException if a setting is missing or invalid; the message names the key
     * @throws SecretException if the provider cannot be set up, for example its credentials cannot be read
     */
    SecretProvider create(Map<String, String> config);
}
