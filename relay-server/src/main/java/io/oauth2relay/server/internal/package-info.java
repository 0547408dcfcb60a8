/** Plumbing no other module may rely on. */
package io.oauth2relay.server.internal;
