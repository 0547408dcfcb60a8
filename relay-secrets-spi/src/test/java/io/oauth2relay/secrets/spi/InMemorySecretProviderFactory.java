package io.oauth2relay.secrets.spi;

import java.util.Map;

/**
 * A test-scope factory, declared in {@code src/test/resources/META-INF/services}, whose provider resolves
 * a reference to the configuration value of the same key.
 */
public final class InMemorySecretProviderFactory implements SecretProviderFactory {

    /** The no-arg constructor {@link java.util.ServiceLoader} needs. */
    public InMemorySecretProviderFactory() {
    }

    @Override
    public String name() {
        return "in-memory";
    }

    @Override
    public SecretProvider create(Map<String, String> config) {
        final Map<String, String> values = Map.copyOf(config);
        return reference -> {
            final String value = values.get(reference);
            if (value == null) {
                throw new SecretException(reference + ": not found");
            }
            return Secret.copyOf(value);
        };
    }
}
