/** Secret references in the config: provider discovery, plug-in jars, resolution with a cache. */
package io.oauth2relay.server.secrets;
