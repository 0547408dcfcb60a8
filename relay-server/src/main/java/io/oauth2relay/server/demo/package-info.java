/** The pretend third party behind {@code oauth2relay demo}. */
package io.oauth2relay.server.demo;
