/**
 * The service-provider interface through which the relay resolves {@code ${scheme:reference}} secret
 * references, depending on {@code java.base} only; nothing here accepts or returns {@code null}.
 */
package io.oauth2relay.secrets.spi;
