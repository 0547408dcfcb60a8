package io.oauth2relay.server.proxy;

import io.oauth2relay.server.config.Cidr;
import io.oauth2relay.server.config.OpsSpec;
import io.oauth2relay.server.config.Template;
import io.oauth2relay.server.config.TemplateValues;
import java.net.InetAddress;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Who may call the relay (the {@code inbound} section): source networks and API keys. Only SHA-256
 * digests of the keys are kept; a presented key is hashed and compared with every digest in constant time
 * ({@link MessageDigest#isEqual}, all digests, no early exit), so neither the content nor the length of a
 * key leaks through timing.
 */
public final class CallerAuth {
  private final String header;
  private final List<byte[]> keyDigests;
  private final List<Cidr> networks;

  public CallerAuth(OpsSpec.Inbound inbound) {
    this.header = inbound.header();
    this.networks = inbound.allowFrom();
    List<byte[]> digests = new ArrayList<>();
    for (Template key : inbound.apiKeys()) {
      byte[] bytes = key.render(TemplateValues.NONE);
      digests.add(sha256(bytes));
      Arrays.fill(bytes, (byte) 0);
    }
    this.keyDigests = List.copyOf(digests);
  }

  String header() {
    return header;
  }

  boolean requiresKey() {
    return !keyDigests.isEmpty();
  }

  /** Whether a caller at {@code address} may connect at all. */
  boolean allows(InetAddress address) {
    if (networks.isEmpty()) {
      return true;
    }
    for (Cidr network : networks) {
      if (network.contains(address)) {
        return true;
      }
    }
    return false;
  }

  /** Whether {@code presented} (the header's raw bytes; zeroed here) is one of the configured keys. */
  boolean acceptsKey(byte[] presented) {
    byte[] digest = sha256(presented);
    Arrays.fill(presented, (byte) 0);
    boolean match = false;
    for (byte[] key : keyDigests) {
      match |= MessageDigest.isEqual(digest, key);
    }
    return match;
  }

  private static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every Java platform", e);
    }
  }

  @Override
  public String toString() {
    return "CallerAuth[header=" + header + ", keys=" + keyDigests.size() + ", networks=" + networks + "]";
  }
}
