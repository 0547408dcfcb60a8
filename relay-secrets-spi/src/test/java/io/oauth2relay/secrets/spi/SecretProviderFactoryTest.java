package io.oauth2relay.secrets.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

class SecretProviderFactoryTest {

    @Test
    void serviceLoaderFindsAFactoryDeclaredInMetaInfServices() {
        assertThat(ServiceLoader.load(SecretProviderFactory.class))
                .extracting(SecretProviderFactory::name)
                .containsExactly("in-memory");
    }

    @Test
    void aLoadedFactoryCreatesAProviderThatResolvesReferences() {
        final SecretProviderFactory factory = ServiceLoader.load(SecretProviderFactory.class)
                .findFirst().orElseThrow();

        try (SecretProvider provider = factory.create(Map.of("kv/app#password", "hunter2"));
             Secret secret = provider.resolve("kv/app#password")) {
            assertThat(SecretTest.revealed(secret)).isEqualTo("hunter2");
        }
    }

    @Test
    void aProviderThatHoldsNothingNeedNotImplementClose() {
        final SecretProvider provider = reference -> Secret.copyOf("value");

        assertThatCode(provider::close).doesNotThrowAnyException();
    }
}
