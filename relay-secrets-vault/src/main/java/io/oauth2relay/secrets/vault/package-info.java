/**
 * The secret provider over the HashiCorp Vault Java Driver arrives with the secret-providers issue.
 */
package io.oauth2relay.secrets.vault;
