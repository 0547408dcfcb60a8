package io.oauth2relay.secrets.vault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.oauth2relay.secrets.spi.Secret;
import io.oauth2relay.secrets.spi.SecretException;
import io.oauth2relay.secrets.spi.SecretProvider;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.vault.VaultContainer;

/**
 * The provider against a real Vault dev server in a container, through Testcontainers' Vault module. Runs
 * only where a Docker engine is reachable (not on this project's build machines, which have none), and is
 * reported as skipped otherwise; {@link VaultContractTest} covers the same requests on every build.
 */
@DisplayName("against a real Vault in a Testcontainers container (skipped without a Docker engine)")
class VaultContainerTest {
    private static final String ROOT_TOKEN = "relay-test-root";
    private static VaultContainer<?> vault;

    @BeforeAll
    static void startVault() {
        assumeTrue(DockerClientFactory.instance().isDockerAvailable(), "no Docker engine: no container to test against");
        vault = new VaultContainer<>("hashicorp/vault:1.15")
                .withVaultToken(ROOT_TOKEN)
                .withInitCommand("kv put secret/relay/login password=from-a-real-vault");
        vault.start();
    }

    @AfterAll
    static void stopVault() {
        if (vault != null) {
            vault.stop();
        }
    }

    private static SecretProvider provider() {
        return new VaultProviderFactory().create(Map.of("address", vault.getHttpHostAddress(), "token", ROOT_TOKEN));
    }

    @Test
    void readsAKvV2SecretWrittenByTheVaultCli() {
        try (SecretProvider provider = provider(); Secret secret = provider.resolve("secret/relay/login#password")) {
            final String value = secret.apply(chars -> new String(chars));
            assertThat(value).isEqualTo("from-a-real-vault");
        }
    }

    @Test
    void aMissingKeyIsNamedWithoutAValue() {
        try (SecretProvider provider = provider()) {
            assertThatThrownBy(() -> provider.resolve("secret/relay/login#nope"))
                    .isInstanceOf(SecretException.class)
                    .hasMessageContaining("secret/relay/login#nope")
                    .hasMessageNotContaining("from-a-real-vault");
        }
    }
}
