package io.oauth2relay.server.proxy;

import io.netty.handler.codec.http2.Http2SecurityUtil;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import io.oauth2relay.server.config.ServerTls;
import io.oauth2relay.server.config.TemplateValues;
import io.oauth2relay.server.internal.PemKeys;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import javax.net.ssl.SSLException;

/**
 * The listener's TLS: certificate and key from PEM files (BouncyCastle reads PKCS#1, PKCS#8 and
 * encrypted PKCS#8), ALPN offering {@code h2} then {@code http/1.1}, and client certificates verified
 * against {@code clientCa} when configured (mutual TLS).
 */
final class InboundTls {
  private InboundTls() {}

  static SslContext context(ServerTls tls) throws SSLException {
    char[] password = chars(tls.keyPassword().render(TemplateValues.NONE));
    try {
      SslContextBuilder b =
          SslContextBuilder.forServer(PemKeys.privateKey(tls.key(), password), PemKeys.certificates(tls.certificate()))
              .protocols("TLSv1.3", "TLSv1.2")
              // RFC 9113 §9.2.2 forbids many TLS 1.2 suites with HTTP/2: offer only those it allows.
              .ciphers(Http2SecurityUtil.CIPHERS, SupportedCipherSuiteFilter.INSTANCE)
              .applicationProtocolConfig(
                  new ApplicationProtocolConfig(
                      ApplicationProtocolConfig.Protocol.ALPN,
                      ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                      ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                      ApplicationProtocolNames.HTTP_2,
                      ApplicationProtocolNames.HTTP_1_1));
      if (tls.clientCa() != null) {
        b.trustManager(PemKeys.certificates(tls.clientCa()));
      }
      b.clientAuth(
          switch (tls.clientAuth()) {
            case REQUIRE -> ClientAuth.REQUIRE;
            case OPTIONAL -> ClientAuth.OPTIONAL;
            case NONE -> ClientAuth.NONE;
          });
      return b.build();
    } catch (GeneralSecurityException e) {
      throw new SSLException("tls: " + e.getMessage()); // names the file, never its content
    } finally {
      Arrays.fill(password, '\0');
    }
  }

  /** UTF-8 bytes to chars, zeroing the bytes and the intermediate buffer. */
  static char[] chars(byte[] utf8) {
    try {
      CharBuffer decoded = StandardCharsets.UTF_8.decode(ByteBuffer.wrap(utf8));
      char[] out = Arrays.copyOf(decoded.array(), decoded.limit());
      Arrays.fill(decoded.array(), '\0');
      return out;
    } finally {
      Arrays.fill(utf8, (byte) 0);
    }
  }
}
