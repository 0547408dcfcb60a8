package io.oauth2relay.server.proxy;

import io.netty.channel.Channel;
import java.util.IdentityHashMap;
import java.util.Map;
import javax.net.ssl.SSLException;

/** The origin side of every route: one connector each, made once at start-up. */
final class Origins {
  private final Map<RelayRoute, OriginConnector> connectors = new IdentityHashMap<>();

  Origins(Router router, Class<? extends Channel> channelClass) throws SSLException {
    for (RelayRoute route : router.routes()) {
      connectors.put(route, new OriginConnector(route, channelClass));
    }
  }

  OriginConnector of(RelayRoute route) {
    return connectors.get(route);
  }
}
