package io.oauth2relay.server.proxy;

import io.netty.channel.Channel;
import io.netty.channel.group.ChannelGroup;
import io.oauth2relay.server.config.OriginSpec;
import java.util.IdentityHashMap;
import java.util.Map;
import javax.net.ssl.SSLException;

/** The origin side of every route: one connection pool each, made once at start-up. */
final class Origins {
  private final Map<RelayRoute, OriginPool> pools = new IdentityHashMap<>();

  /** @param open where every origin connection is added, to be closed together at shutdown */
  Origins(Router router, Class<? extends Channel> channelClass, ChannelGroup open) throws SSLException {
    for (RelayRoute route : router.routes()) {
      OriginSpec spec = route.origin();
      pools.put(
          route,
          new OriginPool(
              new OriginConnector(route, channelClass, open), spec.maxConnections(), spec.connectTimeout().toMillis()));
    }
  }

  OriginPool of(RelayRoute route) {
    return pools.get(route);
  }
}
