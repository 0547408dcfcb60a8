/**
 * The {@code aws-sm} secret provider, which resolves references against AWS Secrets Manager through AWS
 * SDK v2; nothing here accepts or returns {@code null} unless documented.
 */
package io.oauth2relay.secrets.aws;
