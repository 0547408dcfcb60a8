package io.oauth2relay.secrets.vault;

import static io.oauth2relay.secrets.vault.FakeVault.to;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.oauth2relay.secrets.spi.Secret;
import io.oauth2relay.secrets.spi.SecretException;
import io.oauth2relay.secrets.spi.SecretProvider;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Contract test against a loopback server replaying Vault's documented responses; not a test against Vault.
 *
 * <p>The real vault-java-driver talks HTTP to {@link FakeVault}, which answers as Vault's API documentation
 * says Vault answers and records what the driver sent. So this pins down our requests (paths, headers,
 * login bodies, which token each call carries) and our handling of the answers; it cannot show that a
 * real Vault agrees. {@link RealVaultTest} does that when a Vault is at hand.
 */
@DisplayName("contract test against a loopback server replaying Vault's documented responses; not a test against Vault")
class VaultContractTest {

    private static final String CANARY = "canary-9f2c41";
    private static final String ROOT_TOKEN = "hvs.test-root";
    private static final Duration WAIT = Duration.ofSeconds(10);

    private FakeVault vault;
    private final List<SecretProvider> providers = new ArrayList<>();

    @BeforeEach
    void startFakeVault() throws IOException {
        vault = new FakeVault()
                .kvMount("secret", 2)
                .kvMount("kv", 1)
                .token(ROOT_TOKEN, 0, false);
    }

    @AfterEach
    void stop() {
        providers.forEach(SecretProvider::close);
        vault.close();
    }

    // ---- token auth, KV v1 and v2 ----

    @Test
    void tokenAuthReadsAKvV2SecretFromTheDataPathAfterTheMount() {
        vault.secret("secret/app/db", Map.of("password", CANARY, "user", "relay"));
        final SecretProvider provider = provider(tokenConfig());

        assertThat(revealed(provider.resolve("secret/app/db#password"))).isEqualTo(CANARY);

        final FakeVault.Request read = vault.requests(r -> r.path().startsWith("/v1/secret/")).get(0);
        assertThat(read.method()).isEqualTo("GET");
        assertThat(read.path()).isEqualTo("/v1/secret/data/app/db");
        assertThat(read.query()).isNull();
        assertThat(read.header("X-Vault-Token")).isEqualTo(ROOT_TOKEN);
        assertThat(read.header("X-Vault-Namespace")).isNull();
    }

    @Test
    void tokenAuthReadsAKvV1SecretFromThePathAsWritten() {
        vault.secret("kv/app/db", Map.of("password", CANARY));
        final Map<String, String> config = tokenConfig();
        config.put("kvVersion", "1");
        final SecretProvider provider = provider(config);

        assertThat(revealed(provider.resolve("kv/app/db#password"))).isEqualTo(CANARY);

        final FakeVault.Request read = vault.requests(r -> r.path().startsWith("/v1/kv/")).get(0);
        assertThat(read.path()).isEqualTo("/v1/kv/app/db");
        assertThat(read.header("X-Vault-Token")).isEqualTo(ROOT_TOKEN);
    }

    @Test
    void kvV2ReadsTheRequestedVersion() {
        vault.secret("secret/app/db", Map.of("password", "first-version"))
                .secret("secret/app/db", Map.of("password", CANARY));
        final SecretProvider provider = provider(tokenConfig());

        assertThat(revealed(provider.resolve("secret/app/db?version=1#password"))).isEqualTo("first-version");
        assertThat(revealed(provider.resolve("secret/app/db#password"))).isEqualTo(CANARY);

        final List<FakeVault.Request> reads = vault.requests(to("GET", "/v1/secret/data/app/db"));
        assertThat(reads).extracting(FakeVault.Request::query).containsExactly("version=1", null);
    }

    @Test
    void aVersionWithKvVersion1IsRefusedBeforeAnyRequest() {
        final Map<String, String> config = tokenConfig();
        config.put("kvVersion", "1");
        final SecretProvider provider = provider(config);

        assertThatThrownBy(() -> provider.resolve("kv/app/db?version=2#password"))
                .isInstanceOf(SecretException.class)
                .hasMessageContaining("kv/app/db?version=2#password")
                .hasMessageContaining("kvVersion 2");
        assertThat(vault.requests(r -> r.path().startsWith("/v1/kv/"))).isEmpty();
    }

    @Test
    void aNamespaceIsSentWithEveryRequest() {
        vault.secret("secret/app/db", Map.of("password", CANARY));
        final Map<String, String> config = tokenConfig();
        config.put("namespace", "team-a");
        final SecretProvider provider = provider(config);

        provider.resolve("secret/app/db#password").destroy();

        assertThat(vault.requests()).isNotEmpty()
                .allSatisfy(r -> assertThat(r.header("X-Vault-Namespace")).isEqualTo("team-a"));
    }

    // ---- AppRole and Kubernetes logins ----

    @Test
    void appRoleLogsInWithRoleIdAndSecretIdThenReadsWithTheReturnedToken() {
        vault.appRole("approle", "role-123", "secret-456").secret("secret/app/db", Map.of("password", CANARY));
        final SecretProvider provider = provider(Map.of("address", vault.address(), "auth", "approle",
                "roleId", "role-123", "secretId", "secret-456"));

        assertThat(revealed(provider.resolve("secret/app/db#password"))).isEqualTo(CANARY);

        final FakeVault.Request login = vault.requests(to("POST", "/v1/auth/approle/login")).get(0);
        assertThat(login.json().getString("role_id", null)).isEqualTo("role-123");
        assertThat(login.json().getString("secret_id", null)).isEqualTo("secret-456");
        assertThat(login.header("X-Vault-Token")).isNull();
        final FakeVault.Request read = vault.requests(to("GET", "/v1/secret/data/app/db")).get(0);
        assertThat(read.header("X-Vault-Token")).isEqualTo("hvs.issued-1");
    }

    @Test
    void appRoleLogsInAtTheConfiguredMount() {
        vault.appRole("ci-approle", "role-123", "secret-456");
        provider(Map.of("address", vault.address(), "auth", "approle", "approlePath", "ci-approle",
                "roleId", "role-123", "secretId", "secret-456"));

        assertThat(vault.requests(to("POST", "/v1/auth/ci-approle/login"))).hasSize(1);
    }

    @Test
    void rejectedAppRoleCredentialsFailCreateWithoutNamingThem() {
        vault.appRole("approle", "role-123", "secret-456");
        final Map<String, String> config = Map.of("address", vault.address(), "auth", "approle",
                "roleId", "role-123", "secretId", CANARY);

        assertThatThrownBy(() -> new VaultProviderFactory().create(config))
                .isInstanceOf(SecretException.class)
                .hasMessage("vault approle login: refused by Vault (HTTP 400)")
                .hasNoCause();
    }

    @Test
    void kubernetesLogsInWithTheJwtReadFromItsFileThenReadsWithTheReturnedToken(@TempDir Path dir)
            throws IOException {
        final String jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6cmVsYXkifQ.c2ln";
        final Path jwtFile = Files.writeString(dir.resolve("token"), jwt + "\n", StandardCharsets.UTF_8);
        vault.kubernetesRole("kubernetes", "relay", jwt).secret("secret/app/db", Map.of("password", CANARY));
        final SecretProvider provider = provider(Map.of("address", vault.address(), "auth", "kubernetes",
                "role", "relay", "jwtFile", jwtFile.toString()));

        assertThat(revealed(provider.resolve("secret/app/db#password"))).isEqualTo(CANARY);

        final FakeVault.Request login = vault.requests(to("POST", "/v1/auth/kubernetes/login")).get(0);
        assertThat(login.json().getString("role", null)).isEqualTo("relay");
        assertThat(login.json().getString("jwt", null)).isEqualTo(jwt);
        final FakeVault.Request read = vault.requests(to("GET", "/v1/secret/data/app/db")).get(0);
        assertThat(read.header("X-Vault-Token")).isEqualTo("hvs.issued-1");
    }

    @Test
    void kubernetesLogsInAtTheConfiguredMount(@TempDir Path dir) throws IOException {
        final Path jwtFile = Files.writeString(dir.resolve("token"), "jwt-1");
        vault.kubernetesRole("k8s-east", "relay", "jwt-1");
        provider(Map.of("address", vault.address(), "auth", "kubernetes", "kubernetesPath", "k8s-east",
                "role", "relay", "jwtFile", jwtFile.toString()));

        assertThat(vault.requests(to("POST", "/v1/auth/k8s-east/login"))).hasSize(1);
    }

    @Test
    void aMissingJwtFileFailsCreateNamingTheKey(@TempDir Path dir) {
        final Map<String, String> config = Map.of("address", vault.address(), "auth", "kubernetes",
                "role", "relay", "jwtFile", dir.resolve("absent").toString());

        assertThatThrownBy(() -> new VaultProviderFactory().create(config))
                .isInstanceOf(SecretException.class)
                .hasMessage("jwtFile: cannot read the service-account token (NoSuchFileException)");
    }

    // ---- failures name the reference, never the value ----

    @Test
    void aMissingKeyNamesTheReferenceNotTheOtherValues() {
        vault.secret("secret/app/db", Map.of("password", CANARY));
        final SecretProvider provider = provider(tokenConfig());

        assertThatThrownBy(() -> provider.resolve("secret/app/db#pasword"))
                .isInstanceOf(SecretException.class)
                .hasMessage("secret/app/db#pasword: no key 'pasword' in the secret")
                .hasNoCause();
    }

    @Test
    void aMissingPathIsNotFound() {
        final SecretProvider provider = provider(tokenConfig());

        assertThatThrownBy(() -> provider.resolve("secret/app/nothing#password"))
                .isInstanceOf(SecretException.class)
                .hasMessage("secret/app/nothing#password: not found (HTTP 404)");
    }

    @Test
    void aKvV2ApiPathWithDataInItGetsAHintWhenNotFound() {
        vault.secret("secret/app/db", Map.of("password", CANARY));
        final SecretProvider provider = provider(tokenConfig());

        assertThatThrownBy(() -> provider.resolve("secret/data/app/db#password"))
                .isInstanceOf(SecretException.class)
                .hasMessageStartingWith("secret/data/app/db#password: not found (HTTP 404)")
                .hasMessageContaining("without 'data/'")
                .hasMessageNotContaining(CANARY);
        assertThat(vault.requests(to("GET", "/v1/secret/data/data/app/db"))).hasSize(1);
    }

    @Test
    void aForbiddenPathIsPermissionDeniedWithoutTheValue() {
        vault.secret("secret/app/db", Map.of("password", CANARY)).forbid("secret/app/db");
        final SecretProvider provider = provider(tokenConfig());

        assertThatThrownBy(() -> provider.resolve("secret/app/db#password"))
                .isInstanceOf(SecretException.class)
                .hasMessage("secret/app/db#password: permission denied (HTTP 403)")
                .hasNoCause();
    }

    @Test
    void aRejectedTokenIsPermissionDenied() {
        vault.secret("secret/app/db", Map.of("password", CANARY));
        final Map<String, String> config = tokenConfig();
        config.put("token", "hvs.unknown");
        final SecretProvider provider = provider(config);

        assertThatThrownBy(() -> provider.resolve("secret/app/db#password"))
                .isInstanceOf(SecretException.class)
                .hasMessage("secret/app/db#password: permission denied (HTTP 403)");
    }

    @Test
    void anUnreachableVaultNamesTheReferenceAndTheFailureClass() throws IOException {
        final int closedPort;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = socket.getLocalPort();
        }
        final Map<String, String> config = tokenConfig();
        config.put("address", "http://127.0.0.1:" + closedPort);
        config.put("timeoutSeconds", "2");
        final SecretProvider provider = provider(config);

        assertThatThrownBy(() -> provider.resolve("secret/app/db#password"))
                .isInstanceOf(SecretException.class)
                .hasMessage("secret/app/db#password: Vault unreachable (ConnectException)")
                .hasCauseInstanceOf(java.net.ConnectException.class);
    }

    @Test
    void aMalformedReferenceIsRefusedBeforeAnyRequest() {
        final SecretProvider provider = provider(tokenConfig());
        final int before = vault.requests().size();

        assertThatThrownBy(() -> provider.resolve("secret/../sys/raw#key"))
                .isInstanceOf(SecretException.class)
                .hasMessageStartingWith("secret/../sys/raw#key: malformed vault reference");
        assertThat(vault.requests()).hasSize(before);
    }

    // ---- keeping the token alive ----

    @Test
    void aRenewableTokenIsRenewedWithRenewSelf() throws InterruptedException {
        vault.token("hvs.short", 1, true);
        final Map<String, String> config = tokenConfig();
        config.put("token", "hvs.short");
        provider(config);

        final FakeVault.Request renewal = vault.await(to("POST", "/v1/auth/token/renew-self"), 2, WAIT);

        assertThat(renewal.header("X-Vault-Token")).isEqualTo("hvs.short");
        assertThat(vault.requests(to("GET", "/v1/auth/token/lookup-self"))).hasSize(1);
    }

    @Test
    void aTokenWithoutTtlIsNeverRenewed() {
        provider(tokenConfig());

        assertThat(vault.requests(to("GET", "/v1/auth/token/lookup-self"))).hasSize(1);
        assertThat(((VaultProvider) providers.get(0)).renewerTerminated()).isFalse();
        assertThat(vault.requests(to("POST", "/v1/auth/token/renew-self"))).isEmpty();
    }

    @Test
    void anAppRoleTokenIsRenewedWithTheTokenTheLoginReturned() throws InterruptedException {
        vault.appRole("approle", "role-123", "secret-456").loginTokens(1, true);
        provider(Map.of("address", vault.address(), "auth", "approle",
                "roleId", "role-123", "secretId", "secret-456"));

        final FakeVault.Request renewal = vault.await(to("POST", "/v1/auth/token/renew-self"), 1, WAIT);

        assertThat(renewal.header("X-Vault-Token")).isEqualTo("hvs.issued-1");
        assertThat(vault.requests(to("POST", "/v1/auth/approle/login"))).hasSize(1);
    }

    @Test
    void aFailedRenewalLogsInAgainAndLaterReadsUseTheNewToken() throws InterruptedException {
        vault.appRole("approle", "role-123", "secret-456").loginTokens(1, true)
                .failRenewalOf("hvs.issued-1")
                .secret("secret/app/db", Map.of("password", CANARY));
        final SecretProvider provider = provider(Map.of("address", vault.address(), "auth", "approle",
                "roleId", "role-123", "secretId", "secret-456"));

        vault.await(to("POST", "/v1/auth/approle/login"), 2, WAIT);
        // The new token's own first renewal shows it has been installed.
        vault.await(r -> r.path().equals("/v1/auth/token/renew-self")
                && "hvs.issued-2".equals(r.header("X-Vault-Token")), 1, WAIT);
        provider.resolve("secret/app/db#password").destroy();

        final List<FakeVault.Request> reads = vault.requests(to("GET", "/v1/secret/data/app/db"));
        assertThat(reads.get(reads.size() - 1).header("X-Vault-Token")).isEqualTo("hvs.issued-2");
    }

    @Test
    void aNonRenewableLoginTokenIsReplacedByLoggingInAgain() throws InterruptedException {
        vault.appRole("approle", "role-123", "secret-456").loginTokens(1, false);
        provider(Map.of("address", vault.address(), "auth", "approle",
                "roleId", "role-123", "secretId", "secret-456"));

        vault.await(to("POST", "/v1/auth/approle/login"), 2, WAIT);

        assertThat(vault.requests(to("POST", "/v1/auth/token/renew-self"))).isEmpty();
    }

    @Test
    void closeStopsRenewal() throws InterruptedException {
        vault.token("hvs.short", 1, true);
        final Map<String, String> config = tokenConfig();
        config.put("token", "hvs.short");
        final SecretProvider provider = provider(config);
        vault.await(to("POST", "/v1/auth/token/renew-self"), 1, WAIT);

        provider.close();
        final int renewals = vault.requests(to("POST", "/v1/auth/token/renew-self")).size();

        assertThat(((VaultProvider) provider).renewerTerminated()).isTrue();
        // One renewal period (2/3 of 1 s) and some: no renewal may happen after close().
        Thread.sleep(VaultProvider.MIN_RENEW_DELAY.toMillis() + 400);
        assertThat(vault.requests(to("POST", "/v1/auth/token/renew-self"))).hasSize(renewals);
    }

    // ---- helpers ----

    private Map<String, String> tokenConfig() {
        final Map<String, String> config = new HashMap<>();
        config.put("address", vault.address());
        config.put("auth", "token");
        config.put("token", ROOT_TOKEN);
        return config;
    }

    private SecretProvider provider(Map<String, String> config) {
        final SecretProvider provider = new VaultProviderFactory().create(config);
        providers.add(provider);
        return provider;
    }

    private static String revealed(Secret secret) {
        try (secret) {
            return secret.apply(String::new);
        }
    }
}
