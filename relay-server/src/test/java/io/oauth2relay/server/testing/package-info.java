/**
 * Test fixtures shared by the server's tests: a real Keycloak started once per test JVM, and an upstream
 * API that accepts only valid Keycloak-signed bearer tokens.
 */
package io.oauth2relay.server.testing;
