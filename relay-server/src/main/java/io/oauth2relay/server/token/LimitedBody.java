package io.oauth2relay.server.token;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;

/**
 * A response body read into a byte array, up to a limit. A token endpoint that answers more (a
 * misrouted download, a hostile or broken server) fails the call as soon as the limit is passed, instead
 * of filling the heap, and the rest is not read ({@code BodyHandlers.ofByteArray()} has no limit at all).
 */
final class LimitedBody implements HttpResponse.BodySubscriber<byte[]> {
  /** Token responses are a few kilobytes; a megabyte leaves room for very large JWTs. */
  static final int MAX_BYTES = 1024 * 1024;

  /** Thrown (as the cause of the client's IOException) when a body passes the limit. */
  static final class TooLarge extends IOException {
    private static final long serialVersionUID = 1L;

    TooLarge() {
      super("response body larger than " + MAX_BYTES + " bytes", null);
    }
  }

  static HttpResponse.BodyHandler<byte[]> handler() {
    return info -> new LimitedBody(MAX_BYTES);
  }

  private final int limit;
  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream(1024);
  private final CompletableFuture<byte[]> result = new CompletableFuture<>();
  private Flow.Subscription subscription;

  LimitedBody(int limit) {
    this.limit = limit;
  }

  @Override
  public void onSubscribe(Flow.Subscription s) {
    subscription = s;
    s.request(Long.MAX_VALUE);
  }

  @Override
  public void onNext(List<ByteBuffer> buffers) {
    if (result.isDone()) {
      return;
    }
    for (ByteBuffer b : buffers) {
      if (bytes.size() + b.remaining() > limit) {
        subscription.cancel();
        wipe();
        result.completeExceptionally(new TooLarge());
        return;
      }
      byte[] chunk = new byte[b.remaining()];
      b.get(chunk);
      bytes.writeBytes(chunk);
      Arrays.fill(chunk, (byte) 0);
    }
  }

  @Override
  public void onError(Throwable t) {
    wipe();
    result.completeExceptionally(t);
  }

  @Override
  public void onComplete() {
    if (!result.isDone()) {
      byte[] body = bytes.toByteArray();
      wipe();
      result.complete(body);
    }
  }

  /** The stream's own buffer may hold a token: overwrite it (its API cannot zero it). */
  private void wipe() {
    int n = bytes.size();
    bytes.reset();
    bytes.writeBytes(new byte[n]);
  }

  @Override
  public CompletionStage<byte[]> getBody() {
    return result;
  }
}
