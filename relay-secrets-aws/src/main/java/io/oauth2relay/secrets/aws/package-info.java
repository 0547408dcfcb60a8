/**
 * The secret provider over AWS SDK v2 Secrets Manager arrives with the secret-providers issue.
 */
package io.oauth2relay.secrets.aws;
