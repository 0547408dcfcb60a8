package io.oauth2relay.server.proxy;

import io.netty.handler.codec.DefaultHeaders;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;

/**
 * The header maps the relay's HTTP/1.1 codecs decode into, where Netty's defaults cost more than they
 * need to on every request.
 *
 * <ul>
 *   <li>{@link #CALLER_HEADS}: a caller's request head becomes the upstream's in place (RelayRoute
 *       rewrites it), and a validating map would check every name and value the relay sets, the whole
 *       token included, again on every request. So these maps check nothing as they are filled, and
 *       {@link Headers#hasInvalidField} checks each of the caller's names and values, the checks Netty's
 *       map would make, in one pass that {@link CallerHandler} runs over every request head before anything
 *       of it is used or forwarded.
 *   <li>{@link #TRAILERS}: every body's last piece carries a trailer map, almost always empty: 2 buckets
 *       instead of 16, validated as Netty's.
 *   <li>Heads get 8 buckets instead of 16 (a bucket is a chain, so a longer head is only a little slower):
 *       a typical API request or response has fewer headers than that.
 * </ul>
 */
final class RelayHeaders extends DefaultHttpHeaders {
  private static final DefaultHeaders.NameValidator<CharSequence> NAMES_CHECKED_BY_CALLER_HANDLER = name -> {};
  private static final DefaultHeaders.ValueValidator<CharSequence> VALUES_CHECKED_BY_CALLER_HANDLER = value -> {};

  static final HttpHeadersFactory CALLER_HEADS =
      new Factory(NAMES_CHECKED_BY_CALLER_HANDLER, VALUES_CHECKED_BY_CALLER_HANDLER, 8);
  /** An upstream's response heads: validated as Netty's. */
  static final HttpHeadersFactory UPSTREAM_HEADS =
      new Factory(
          DefaultHttpHeadersFactory.headersFactory().getNameValidator(),
          DefaultHttpHeadersFactory.headersFactory().getValueValidator(),
          8);
  static final HttpHeadersFactory TRAILERS =
      new Factory(
          DefaultHttpHeadersFactory.trailersFactory().getNameValidator(),
          DefaultHttpHeadersFactory.trailersFactory().getValueValidator(),
          2);

  private RelayHeaders(
      DefaultHeaders.NameValidator<CharSequence> names, DefaultHeaders.ValueValidator<CharSequence> values, int buckets) {
    super(names, values, buckets);
  }

  private record Factory(
      DefaultHeaders.NameValidator<CharSequence> names, DefaultHeaders.ValueValidator<CharSequence> values, int buckets)
      implements HttpHeadersFactory {
    @Override
    public HttpHeaders newHeaders() {
      return new RelayHeaders(names, values, buckets);
    }

    @Override
    public HttpHeaders newEmptyHeaders() {
      return new RelayHeaders(names, values, 2);
    }
  }
}
