/**
 * The {@code vault} secret provider: resolves {@code ${vault:<mount>/<path>[?version=N]#<key>}} from
 * HashiCorp Vault's KV v1 or v2 engine through the Vault Java Driver, keeping its own token alive.
 */
package io.oauth2relay.secrets.vault;
