/**
 * Test fixtures shared by the server's tests: real servers (Keycloak started once per test JVM, nginx), an
 * upstream API that accepts only valid Keycloak-signed bearer tokens, and hand-written upstreams where no real
 * server here can do what a test needs (an HTTP/2 upstream that checks tokens and sends GOAWAY on demand).
 */
package io.oauth2relay.server.testing;
