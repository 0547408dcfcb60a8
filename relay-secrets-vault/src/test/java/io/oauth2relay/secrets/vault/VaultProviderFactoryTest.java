package io.oauth2relay.secrets.vault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.oauth2relay.secrets.spi.SecretProviderFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Configuration parsing: no Vault and no network involved. */
class VaultProviderFactoryTest {

    private static final String CANARY = "canary-9f2c41";

    @Test
    void serviceLoaderFindsTheFactoryByItsName() {
        assertThat(ServiceLoader.load(SecretProviderFactory.class))
                .extracting(SecretProviderFactory::name)
                .contains("vault");
    }

    @Test
    void defaultsAreTokenAuthKvVersion2AndTenSeconds() {
        final VaultSettings settings = VaultProviderFactory.parse(
                Map.of("address", "https://vault.example:8200/", "token", "t"));

        assertThat(settings.address()).hasToString("https://vault.example:8200");
        assertThat(settings.auth()).isInstanceOf(VaultAuth.Token.class);
        assertThat(settings.kvVersion()).isEqualTo(2);
        assertThat(settings.timeout()).hasSeconds(10);
        assertThat(settings.namespace()).isNull();
        assertThat(settings.sslContext()).isNull();
    }

    @Test
    void kubernetesDefaultsToTheServiceAccountTokenAndTheKubernetesMount() {
        final VaultSettings settings = VaultProviderFactory.parse(
                Map.of("address", "https://vault.example", "auth", "kubernetes", "role", "relay"));

        assertThat(settings.auth()).isEqualTo(new VaultAuth.Kubernetes("kubernetes", "relay",
                Path.of("/var/run/secrets/kubernetes.io/serviceaccount/token")));
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource({
        "address,        canary-9f2c41",
        "address,        ftp://canary-9f2c41",
        "address,        https://user:canary-9f2c41@vault.example",
        "auth,           canary-9f2c41",
        "kvVersion,      canary-9f2c41",
        "kvVersion,      3",
        "timeoutSeconds, canary-9f2c41",
        "timeoutSeconds, 0",
        "namespace,      canary-9f2c41/../x",
        "approlePath,    canary-9f2c41 x",
        "caFile,         /nonexistent/canary-9f2c41.pem",
        "unknownKey,     canary-9f2c41",
    })
    void anInvalidSettingNamesTheKeyAndNeverTheValue(String key, String value) {
        final Map<String, String> config = new HashMap<>(Map.of("address", "https://vault.example", "token", "t"));
        if (key.equals("approlePath")) {
            config.remove("token");
            config.putAll(Map.of("auth", "approle", "roleId", "r", "secretId", "s"));
        }
        config.put(key, value);

        assertThatThrownBy(() -> VaultProviderFactory.parse(config))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith(key + ": ")
                .hasMessageNotContaining(CANARY)
                .hasNoCause();
    }

    @ParameterizedTest(name = "auth={0} without {1}")
    @CsvSource({"token, token", "approle, roleId", "kubernetes, role"})
    void aMissingRequiredSettingIsNamed(String auth, String missing) {
        final Map<String, String> config = new HashMap<>(Map.of("address", "https://vault.example",
                "auth", auth, "token", "t", "roleId", "r", "secretId", "s", "role", "relay"));
        config.keySet().removeIf(key -> !key.equals("address") && !key.equals("auth")
                && !requiredFor(auth).contains(key));
        config.remove(missing);

        assertThatThrownBy(() -> VaultProviderFactory.parse(config))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(missing + ": required");
    }

    @Test
    void aMissingAddressIsNamed() {
        assertThatThrownBy(() -> VaultProviderFactory.parse(Map.of("token", CANARY)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("address: required");
    }

    @Test
    void aBlankValueCountsAsMissing() {
        assertThatThrownBy(() -> VaultProviderFactory.parse(Map.of("address", "http://127.0.0.1:8200", "token", " ")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("token: required");
    }

    @Test
    void aSettingOfAnotherAuthMethodIsRefused() {
        assertThatThrownBy(() -> VaultProviderFactory.parse(Map.of("address", "https://vault.example",
                "token", "t", "secretId", CANARY)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("secretId: only used with auth=approle");
    }

    @Test
    void aCaFileNeedsAnHttpsAddress(@TempDir Path dir) throws IOException {
        final Path pem = Files.writeString(dir.resolve("ca.pem"), "");

        assertThatThrownBy(() -> VaultProviderFactory.parse(Map.of("address", "http://127.0.0.1:8200",
                "token", "t", "caFile", pem.toString())))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("caFile: only used with an https address");
    }

    @Test
    void aCaFileWithoutCertificatesIsRefused(@TempDir Path dir) throws IOException {
        final Path pem = Files.writeString(dir.resolve("ca.pem"), "");

        assertThatThrownBy(() -> VaultProviderFactory.parse(Map.of("address", "https://vault.example",
                "token", "t", "caFile", pem.toString())))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("caFile: ");
    }

    private static java.util.Set<String> requiredFor(String auth) {
        switch (auth) {
            case "approle":
                return java.util.Set.of("roleId", "secretId");
            case "kubernetes":
                return java.util.Set.of("role");
            default:
                return java.util.Set.of("token");
        }
    }
}
