package io.oauth2relay.secrets.vault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.jopenlibs.vault.Vault;
import io.github.jopenlibs.vault.VaultConfig;
import io.github.jopenlibs.vault.VaultException;
import io.github.jopenlibs.vault.response.LogicalResponse;
import io.oauth2relay.secrets.spi.Secret;
import io.oauth2relay.secrets.spi.SecretException;
import io.oauth2relay.secrets.spi.SecretProvider;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Runs against a real Vault (or OpenBao) when {@code VAULT_ADDR} and {@code VAULT_TOKEN} are set, for
 * example {@code vault server -dev} with {@code VAULT_ADDR=http://127.0.0.1:8200 VAULT_TOKEN=<root token>};
 * skipped otherwise. Expects a KV v2 engine at {@code secret/} (the dev server's default), or at
 * {@code VAULT_KV_MOUNT}. Over https, {@code VAULT_CACERT} is passed as {@code caFile}.
 */
@DisplayName("against a real Vault from VAULT_ADDR and VAULT_TOKEN (skipped when they are not set)")
class RealVaultTest {

    private String address;
    private String token;
    private String mount;

    @BeforeEach
    void requireVault() {
        address = System.getenv("VAULT_ADDR");
        token = System.getenv("VAULT_TOKEN");
        assumeTrue(address != null && !address.isBlank() && token != null && !token.isBlank(),
                "VAULT_ADDR and VAULT_TOKEN are not set: no real Vault to test against");
        mount = System.getenv().getOrDefault("VAULT_KV_MOUNT", "secret");
    }

    @Test
    void writesThenReadsAKvV2SecretThroughTheDriverAndTheProvider() throws VaultException {
        final String path = mount + "/oauth2relay-test/" + UUID.randomUUID();
        final String value = "value-" + UUID.randomUUID();
        final VaultConfig driverConfig = new VaultConfig().address(address).token(token).engineVersion(2);
        final String namespace = System.getenv("VAULT_NAMESPACE");
        if (namespace != null && !namespace.isBlank()) {
            driverConfig.nameSpace(namespace);
        }
        // The test's own writer reads VAULT_CACERT etc. through the driver's environment loading, unlike the
        // provider, which ignores the environment.
        final Vault driver = Vault.create(driverConfig.build());
        final LogicalResponse write = driver.logical().write(path, Map.<String, Object>of("password", value));
        assertThat(write.getRestResponse().getStatus()).isIn(200, 204);

        try (SecretProvider provider = new VaultProviderFactory().create(config())) {
            assertThat(revealed(provider.resolve(path + "#password"))).isEqualTo(value);
            assertThat(revealed(provider.resolve(path + "?version=1#password"))).isEqualTo(value);
        } finally {
            driver.logical().delete(path);
        }
    }

    @Test
    void aMissingSecretIsNotFound() {
        try (SecretProvider provider = new VaultProviderFactory().create(config())) {
            final String reference = mount + "/oauth2relay-test/absent-" + UUID.randomUUID() + "#password";
            assertThatThrownBy(() -> provider.resolve(reference))
                    .isInstanceOf(SecretException.class)
                    .hasMessage(reference + ": not found (HTTP 404)");
        }
    }

    private static String revealed(Secret secret) {
        try (secret) {
            return secret.apply(chars -> new String(chars));
        }
    }

    private Map<String, String> config() {
        final Map<String, String> config = new HashMap<>();
        config.put("address", address);
        config.put("token", token);
        final String caCert = System.getenv("VAULT_CACERT");
        if (caCert != null && address.startsWith("https")) {
            config.put("caFile", caCert);
        }
        final String namespace = System.getenv("VAULT_NAMESPACE");
        if (namespace != null && !namespace.isBlank()) {
            config.put("namespace", namespace);
        }
        return config;
    }
}
