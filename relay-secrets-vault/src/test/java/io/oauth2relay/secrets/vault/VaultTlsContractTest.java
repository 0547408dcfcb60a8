package io.oauth2relay.secrets.vault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.oauth2relay.secrets.spi.Secret;
import io.oauth2relay.secrets.spi.SecretException;
import io.oauth2relay.secrets.spi.SecretProvider;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Contract test against a loopback server replaying Vault's documented responses; not a test against Vault.
 * Here over https, with a self-signed certificate made by the JDK's keytool, to show what {@code caFile}
 * does: only the CAs of the bundle are trusted.
 */
@DisplayName("contract test against a loopback server replaying Vault's documented responses; not a test against Vault (TLS)")
class VaultTlsContractTest {

    private static final String PASSWORD = "changeit";

    @TempDir
    static Path dir;
    private static Path caFile;
    private static FakeVault vault;

    @BeforeAll
    static void startHttpsFakeVault() throws Exception {
        final Path keyStore = dir.resolve("server.p12");
        caFile = dir.resolve("ca.pem");
        keytool("-genkeypair", "-alias", "vault", "-keyalg", "EC", "-groupname", "secp256r1",
                "-dname", "CN=127.0.0.1", "-ext", "san=ip:127.0.0.1", "-validity", "2",
                "-storetype", "PKCS12", "-keystore", keyStore.toString(), "-storepass", PASSWORD);
        keytool("-exportcert", "-rfc", "-alias", "vault", "-keystore", keyStore.toString(),
                "-storepass", PASSWORD, "-file", caFile.toString());

        vault = new FakeVault(serverContext(keyStore))
                .kvMount("secret", 2)
                .token("hvs.test-root", 0, false)
                .secret("secret/app/db", Map.of("password", "over-tls"));
    }

    @AfterAll
    static void stop() {
        vault.close();
    }

    @Test
    void aCaFileMakesTheProviderTrustTheServerCertificate() {
        try (SecretProvider provider = new VaultProviderFactory().create(Map.of("address", vault.address(),
                "token", "hvs.test-root", "caFile", caFile.toString()));
             Secret secret = provider.resolve("secret/app/db#password")) {
            final String value = secret.apply(String::new);
            assertThat(value).isEqualTo("over-tls");
        }
    }

    @Test
    void withoutTheCaFileTheSelfSignedServerIsUnreachable() {
        try (SecretProvider provider = new VaultProviderFactory().create(Map.of("address", vault.address(),
                "token", "hvs.test-root"))) {
            assertThatThrownBy(() -> provider.resolve("secret/app/db#password"))
                    .isInstanceOf(SecretException.class)
                    .hasMessage("secret/app/db#password: Vault unreachable (SSLHandshakeException)");
        }
    }

    private static SSLContext serverContext(Path keyStore) throws IOException, GeneralSecurityException {
        final KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keyStore)) {
            store.load(in, PASSWORD.toCharArray());
        }
        final KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keys.init(store, PASSWORD.toCharArray());
        final SSLContext context = SSLContext.getInstance("TLS");
        context.init(keys.getKeyManagers(), null, null);
        return context;
    }

    private static void keytool(String... args) throws IOException, InterruptedException {
        final Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
        final List<String> command = new java.util.ArrayList<>(List.of(keytool.toString()));
        command.addAll(List.of(args));
        final Process process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(dir.resolve("keytool.log").toFile()).start();
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as("keytool %s", args[0]).isZero();
    }
}
