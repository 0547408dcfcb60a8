/** The admin listener: liveness, readiness and Prometheus metrics, on a port of its own. */
package io.oauth2relay.server.admin;
