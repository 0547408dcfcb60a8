package io.oauth2relay.server.token;

import java.util.concurrent.CompletableFuture;

/** {@code relay.fixedtoken}: one token, set at start-up, used instead of any login. */
public final class FixedTokenSource implements TokenSource {
  private final TokenState state;
  private final CompletableFuture<TokenState> future;

  /** Takes ownership of {@code token}. */
  public FixedTokenSource(byte[] token) {
    this.state = TokenState.fixed(token);
    this.future = CompletableFuture.completedFuture(state);
  }

  @Override
  public TokenState current() {
    return state.isWiped() ? null : state;
  }

  @Override
  public CompletableFuture<TokenState> obtain() {
    return state.isWiped()
        ? CompletableFuture.failedFuture(new TokenUnavailableException("relay is shutting down", 1, null))
        : future;
  }

  @Override
  public void close() {
    state.wipe();
  }
}
