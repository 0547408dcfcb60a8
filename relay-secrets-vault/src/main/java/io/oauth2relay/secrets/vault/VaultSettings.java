package io.oauth2relay.secrets.vault;

import java.net.URI;
import java.time.Duration;
import javax.net.ssl.SSLContext;

/**
 * The validated configuration of one {@code vault} provider, as {@link VaultProviderFactory} parsed it.
 *
 * @param address the Vault base URL, {@code http} or {@code https}, without a trailing slash
 * @param auth how to get a token
 * @param namespace the Vault Enterprise namespace sent as {@code X-Vault-Namespace}, or {@code null}
 * @param kvVersion the KV engine version of every mount, 1 or 2
 * @param sslContext trusts only the configured CA bundle, or {@code null} for the JVM's trust store
 * @param timeout connect timeout and per-request timeout
 */
record VaultSettings(URI address, VaultAuth auth, String namespace, int kvVersion, SSLContext sslContext,
                     Duration timeout) {
}
