package io.oauth2relay.server.secrets;

import io.oauth2relay.secrets.spi.Secret;
import io.oauth2relay.secrets.spi.SecretException;
import io.oauth2relay.secrets.spi.SecretProvider;
import io.oauth2relay.secrets.spi.SecretProviderFactory;
import java.io.IOException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The secret providers a config can reference as {@code ${scheme:reference}}: every
 * {@link SecretProviderFactory} on the class path (the built-in {@code file}, {@code vault},
 * {@code aws-sm}) and in each jar of a plug-in folder, each jar with its own class loader. Two factories
 * with one name are a start-up error.
 *
 * <p>Providers are created on first use with their settings from the config's {@code secrets} section.
 * Resolved values are cached for {@code secrets.cacheSeconds} (default 0: every login reads the provider
 * again, so a rotated secret is used without a restart). Thread-safe; resolution blocks, so it is only
 * called off the event loops (at start-up and on the token-fetch thread).
 */
public final class SecretProviders implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SecretProviders.class);

  private final Map<String, Found> factories;
  private final Map<String, Map<String, String>> settings;
  private final Duration cacheFor;
  private final Clock clock;
  private final Map<String, SecretProvider> providers = new ConcurrentHashMap<>();
  private final Map<String, Cached> cache = new ConcurrentHashMap<>();
  private final List<URLClassLoader> loaders;

  private record Found(SecretProviderFactory factory, String origin) {}

  private record Cached(Secret secret, long until) {}

  private SecretProviders(
      Map<String, Found> factories,
      List<URLClassLoader> loaders,
      Map<String, Map<String, String>> settings,
      Duration cacheFor,
      Clock clock) {
    this.factories = factories;
    this.loaders = loaders;
    this.settings = settings;
    this.cacheFor = cacheFor;
    this.clock = clock;
  }

  /**
   * Finds every factory on the class path and in {@code pluginDir} (may be {@code null}).
   *
   * @throws IllegalArgumentException naming the folder, jar or duplicate name at fault
   */
  public static SecretProviders discover(
      Path pluginDir, Map<String, Map<String, String>> settings, Duration cacheFor, Clock clock) {
    Map<String, Found> found = new TreeMap<>();
    List<URLClassLoader> loaders = new ArrayList<>();
    ClassLoader parent = SecretProviderFactory.class.getClassLoader();
    register(found, ServiceLoader.load(SecretProviderFactory.class, parent), null, "the class path");
    if (pluginDir != null) {
      if (!Files.isDirectory(pluginDir)) {
        throw new IllegalArgumentException("plugins: " + pluginDir + " is not a folder");
      }
      List<Path> jars;
      try (Stream<Path> files = Files.list(pluginDir)) {
        jars = files.filter(p -> p.getFileName().toString().endsWith(".jar")).sorted().toList();
      } catch (IOException e) {
        throw new IllegalArgumentException("plugins: cannot list " + pluginDir + " (" + e.getClass().getSimpleName() + ")");
      }
      for (Path jar : jars) {
        URLClassLoader loader;
        try {
          loader = new URLClassLoader("plugin:" + jar.getFileName(), new URL[] {jar.toUri().toURL()}, parent);
        } catch (MalformedURLException e) {
          throw new IllegalArgumentException("plugins: " + jar + " is not a usable jar path");
        }
        loaders.add(loader);
        register(found, ServiceLoader.load(SecretProviderFactory.class, loader), loader, jar.getFileName().toString());
      }
    }
    return new SecretProviders(found, loaders, settings, cacheFor, clock);
  }

  private static void register(
      Map<String, Found> found, ServiceLoader<SecretProviderFactory> loader, ClassLoader own, String origin) {
    try {
      for (SecretProviderFactory factory : loader) {
        if (own != null && factory.getClass().getClassLoader() != own) {
          continue; // found through the parent: already registered from the class path
        }
        String name = factory.name();
        Found previous = found.putIfAbsent(name, new Found(factory, origin));
        if (previous != null) {
          throw new IllegalArgumentException(
              "two secret providers are named '" + name + "': " + previous.factory().getClass().getName()
                  + " (" + previous.origin() + ") and " + factory.getClass().getName() + " (" + origin + ")");
        }
      }
    } catch (ServiceConfigurationError e) {
      throw new IllegalArgumentException("plugins: cannot load a secret provider from " + origin
          + " (" + e.getClass().getSimpleName() + ")");
    }
  }

  /** Provider names, for messages. */
  public java.util.Set<String> names() {
    return factories.keySet();
  }

  /** Whether {@code scheme} names a provider. */
  public boolean has(String scheme) {
    return factories.containsKey(scheme);
  }

  /**
   * Resolves {@code scheme:reference}; the caller owns (and destroys) the returned copy.
   *
   * @throws SecretException naming the reference, never the value
   */
  public Secret resolve(String scheme, String reference) {
    String key = scheme + ":" + reference;
    if (!cacheFor.isZero()) {
      Cached c = cache.get(key);
      if (c != null && clock.millis() < c.until()) {
        return c.secret().apply(Secret::of);
      }
    }
    Secret fresh = provider(scheme).resolve(reference);
    if (cacheFor.isZero()) {
      return fresh;
    }
    Cached previous = cache.put(key, new Cached(fresh, clock.millis() + cacheFor.toMillis()));
    if (previous != null) {
      previous.secret().destroy();
    }
    return fresh.apply(Secret::of);
  }

  /**
   * Drops (and zeroes) every cached value, so the next resolution asks the providers again: after a
   * rejected login. Returns whether anything was cached.
   */
  public boolean forget() {
    boolean any = false;
    for (String key : List.copyOf(cache.keySet())) {
      Cached c = cache.remove(key);
      if (c != null) {
        c.secret().destroy();
        any = true;
      }
    }
    return any;
  }

  private SecretProvider provider(String scheme) {
    SecretProvider existing = providers.get(scheme);
    if (existing != null) {
      return existing;
    }
    synchronized (providers) {
      return providers.computeIfAbsent(
          scheme,
          s -> {
            Found f = factories.get(s);
            if (f == null) {
              throw new SecretException("no secret provider is installed for the reference scheme '" + s + "'");
            }
            Map<String, String> config = settings.getOrDefault(s, Map.of());
            try {
              SecretProvider p = f.factory().create(new LinkedHashMap<>(config));
              log.info("secret provider '{}' ready ({})", s, f.origin());
              return p;
            } catch (IllegalArgumentException e) {
              // Factories name the setting at fault, never its value (SPI contract).
              throw new SecretException("secrets." + s + ": " + e.getMessage());
            }
          });
    }
  }

  @Override
  public void close() {
    forget();
    for (SecretProvider p : providers.values()) {
      try {
        p.close();
      } catch (RuntimeException e) {
        log.warn("closing a secret provider failed ({})", e.getClass().getSimpleName());
      }
    }
    for (URLClassLoader loader : loaders) {
      try {
        loader.close();
      } catch (IOException e) {
        // nothing to do
      }
    }
  }
}
