package io.oauth2relay.server.token;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.fasterxml.jackson.databind.json.JsonMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.oauth2relay.server.config.ConfigLoader;
import io.oauth2relay.server.config.Placeholder;
import io.oauth2relay.server.config.RelayConfig;
import io.oauth2relay.server.config.TemplateValues;
import io.oauth2relay.server.config.TokenPolicy;
import io.oauth2relay.server.testing.HandClock;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Specifies how {@link TokenHolder} logs in, serves, renews and wipes tokens.
 *
 * <p>The token endpoint is a hand-written seed-dialect endpoint ({@link SeedEndpoint}, the JDK's
 * {@code HttpServer} on {@code 127.0.0.1:0}): no public server speaks that dialect (a GET login with
 * {@code Authorization: Basic ${AUTHSTRING}}, a POST refresh with the refresh token in the body and the
 * {@code Authorization} header, and {@code AccessToken}/{@code ExpiresIn}/{@code RefreshToken} fields in the
 * response). Time is a {@link HandClock} moved by hand, so expiry is simulated, never slept.
 */
class TokenHolderTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(10);
  private static final String USER = "client_123";
  private static final String PASSWORD = "s3cr3t!";
  /** The endpoint's tokens live this long; the holder stops using them 30 s (the maximum margin) earlier. */
  private static final long LIFETIME_SECONDS = 300;

  private final HandClock clock = new HandClock(Instant.parse("2030-01-01T00:00:00Z"));
  private final ManualScheduler scheduled = new ManualScheduler();
  private TokenFetcher fetcher;
  private SeedEndpoint endpoint;
  private TokenHolder holder;

  @BeforeEach
  void start() throws Exception {
    endpoint = new SeedEndpoint();
    RelayConfig config =
        new ConfigLoader(Map.of("API_PASSWORD", PASSWORD)::get)
            .parse(
                JsonMapper.builder()
                    .build()
                    .readTree(
                        """
                        {
                          "login": {
                            "user": "%1$s",
                            "password": "${API_PASSWORD}",
                            "method": "GET",
                            "url": "%2$s/login",
                            "headers": { "Authorization": "Basic ${AUTHSTRING}" }
                          },
                          "refresh": {
                            "method": "POST",
                            "data": "{\\"token\\": \\"${REFRESHTOKEN}\\"}",
                            "url": "%2$s/refresh",
                            "headers": { "Authorization": "${REFRESHTOKEN}" }
                          },
                          "relay": { "url": "http://127.0.0.1:9/" }
                        }
                        """
                            .formatted(USER, endpoint.baseUrl())),
                "test.json");
    fetcher = new TokenFetcher(config.login(), config.refresh(), TokenPolicy.DEFAULTS, clock, Duration.ofSeconds(5));
    holder =
        new TokenHolder(
            fetcher,
            TokenPolicy.DEFAULTS,
            clock,
            scheduled);
  }

  @AfterEach
  void stop() {
    holder.close();
    endpoint.close();
  }

  private TokenState obtained() throws Exception {
    return holder.obtain().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
  }

  private static TokenUnavailableException unavailable(CompletableFuture<TokenState> future) {
    Throwable thrown = catchThrowable(() -> future.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
    assertThat(thrown).isInstanceOf(ExecutionException.class).cause().isInstanceOf(TokenUnavailableException.class);
    return (TokenUnavailableException) thrown.getCause();
  }

  private static String accessToken(TokenState state) {
    return new String(state.values(TemplateValues.NONE).value(Placeholder.ACCESSTOKEN), StandardCharsets.UTF_8);
  }

  @Test
  void theFirstObtainLogsInOnce() throws Exception {
    TokenState first = obtained();
    TokenState second = obtained();

    assertThat(accessToken(first)).isEqualTo("at-1");
    assertThat(second).isSameAs(first);
    assertThat(endpoint.logins.get()).isEqualTo(1);
    assertThat(endpoint.refreshes.get()).isZero();
  }

  @Test
  void theLoginSendsBase64OfUserAndPasswordAsAuthstring() throws Exception {
    obtained();

    String expected =
        "Basic " + Base64.getEncoder().encodeToString((USER + ":" + PASSWORD).getBytes(StandardCharsets.UTF_8));
    assertThat(endpoint.lastAuthorization).isEqualTo(expected);
  }

  @Test
  void currentIsNullBeforeAnyToken() {
    assertThat(holder.current()).isNull();
    assertThat(endpoint.logins.get()).isZero();
  }

  @Test
  void currentServesTheTokenWhileItIsUsable() throws Exception {
    TokenState state = obtained();

    clock.set(state.usableUntilMillis() - 1);

    assertThat(holder.current()).isSameAs(state);
  }

  @Test
  void currentIsNullOnceTheClockPassesUsableUntil() throws Exception {
    TokenState state = obtained();

    clock.set(state.usableUntilMillis() + 1);

    assertThat(holder.current()).isNull();
  }

  @Test
  void aTokenIsUsableUntilShortlyBeforeItExpires() throws Exception {
    long issuedAt = clock.millis();
    TokenState state = obtained();

    assertThat(state.expiresAtMillis()).isEqualTo(issuedAt + LIFETIME_SECONDS * 1000);
    assertThat(state.usableUntilMillis()).isEqualTo(state.expiresAtMillis() - TokenPolicy.DEFAULTS.expiryMargin().toMillis());
  }

  @Test
  void concurrentObtainsAtAnExpiredTokenShareOneTokenCall() throws Exception {
    TokenState expired = obtained();
    clock.set(expired.usableUntilMillis() + 1);
    endpoint.delayMillis = 300; // keep the renewal in flight while the callers pile up
    int callers = 1_000;
    CountDownLatch ready = new CountDownLatch(callers);
    CountDownLatch go = new CountDownLatch(1);
    AtomicReferenceArray<Object> results = new AtomicReferenceArray<>(callers);
    ExecutorService threads = Executors.newFixedThreadPool(callers);
    try {
      for (int i = 0; i < callers; i++) {
        int index = i;
        threads.execute(
            () -> {
              ready.countDown();
              try {
                go.await();
                results.set(index, holder.obtain().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
              } catch (Exception e) {
                results.set(index, e);
              }
            });
      }
      assertThat(ready.await(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
      go.countDown();
    } finally {
      threads.shutdown();
      assertThat(threads.awaitTermination(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
    }

    List<Object> all = new ArrayList<>();
    for (int i = 0; i < callers; i++) {
      all.add(results.get(i));
    }
    assertThat(endpoint.logins.get() + endpoint.refreshes.get()).isEqualTo(2); // the first login + one renewal
    assertThat(all).allSatisfy(r -> assertThat(r).isInstanceOf(TokenState.class).isNotSameAs(expired));
    assertThat(all.stream().distinct()).hasSize(1);
  }

  @Test
  void renewalUsesTheRefreshCallWhenThereIsARefreshToken() throws Exception {
    TokenState first = obtained();
    clock.set(first.usableUntilMillis() + 1);

    TokenState renewed = obtained();

    assertThat(endpoint.refreshes.get()).isEqualTo(1);
    assertThat(endpoint.logins.get()).isEqualTo(1);
    assertThat(accessToken(renewed)).isEqualTo("at-2");
    assertThat(endpoint.lastAuthorization).isEqualTo("rt-1");
    assertThat(endpoint.lastRefreshBody).isEqualTo("{\"token\": \"rt-1\"}");
  }

  @Test
  void aRejectedRefreshFallsBackToOneLogin() throws Exception {
    TokenState first = obtained();
    clock.set(first.usableUntilMillis() + 1);
    endpoint.refreshStatus = 401;

    TokenState renewed = obtained();

    assertThat(endpoint.refreshes.get()).isEqualTo(1);
    assertThat(endpoint.logins.get()).isEqualTo(2);
    assertThat(accessToken(renewed)).isEqualTo("at-2");
    assertThat(endpoint.lastAuthorization).startsWith("Basic ");
  }

  @Test
  void aFailingEndpointMakesObtainFailWithARetryAfter() {
    endpoint.loginStatus = 500;

    TokenUnavailableException e = unavailable(holder.obtain());

    assertThat(e.retryAfterSeconds()).isGreaterThanOrEqualTo(1);
    assertThat(e.getMessage()).contains("500").doesNotContain(PASSWORD);
    assertThat(endpoint.logins.get()).isEqualTo(1);
  }

  @Test
  void obtainMakesNoCallWithinTheBackOff() {
    endpoint.loginStatus = 500;
    unavailable(holder.obtain());

    clock.advance(Duration.ofMillis(500));
    for (int i = 0; i < 5; i++) {
      CompletableFuture<TokenState> again = holder.obtain();
      assertThat(again).isCompletedExceptionally();
      assertThat(unavailable(again).retryAfterSeconds()).isGreaterThanOrEqualTo(1);
    }

    assertThat(endpoint.logins.get()).isEqualTo(1);
  }

  @Test
  void obtainTriesAgainOnceTheBackOffHasPassed() throws Exception {
    endpoint.loginStatus = 500;
    unavailable(holder.obtain());
    endpoint.loginStatus = 200;

    clock.advance(Duration.ofSeconds(1));
    TokenState state = obtained();

    assertThat(accessToken(state)).isEqualTo("at-1");
    assertThat(endpoint.logins.get()).isEqualTo(2);
  }

  @Test
  void aTokenWithinItsRealLifetimeIsServedWhileRenewalFails() throws Exception {
    TokenState first = obtained();
    endpoint.refreshStatus = 500;
    endpoint.loginStatus = 500;
    clock.set(first.usableUntilMillis() + 1);

    TokenState served = obtained();
    TokenState servedDuringBackOff = obtained();

    assertThat(served).isSameAs(first);
    assertThat(servedDuringBackOff).isSameAs(first);
    assertThat(endpoint.refreshes.get()).isEqualTo(1);
    assertThat(endpoint.logins.get()).isEqualTo(2);
  }

  @Test
  void aTokenPastItsRealLifetimeIsNotServedWhenRenewalFails() throws Exception {
    TokenState first = obtained();
    endpoint.refreshStatus = 500;
    endpoint.loginStatus = 500;
    clock.set(first.expiresAtMillis());

    assertThat(unavailable(holder.obtain()).retryAfterSeconds()).isGreaterThanOrEqualTo(1);
  }

  @Test
  void closeZeroesTheCurrentAndReplacedTokens() throws Exception {
    TokenState first = obtained();
    clock.set(first.usableUntilMillis() + 1);
    TokenState second = obtained();
    byte[] access = second.values(TemplateValues.NONE).value(Placeholder.ACCESSTOKEN);
    byte[] refresh = second.refreshTokenBytes();
    byte[] type = second.values(TemplateValues.NONE).value(Placeholder.TOKENTYPE);
    byte[] authstring = fetcher.authstring();

    holder.close();

    assertThat(first.isWiped()).isTrue();
    assertThat(second.isWiped()).isTrue();
    assertThat(access).containsOnly(0);
    assertThat(refresh).containsOnly(0);
    assertThat(type).containsOnly(0);
    assertThat(authstring).containsOnly(0); // the credential, not only the tokens
    assertThat(holder.current()).isNull();
  }

  @Test
  void obtainAfterCloseFailsWithoutACall() throws Exception {
    obtained();
    holder.close();

    assertThat(unavailable(holder.obtain()).getMessage()).contains("shutting down");
    assertThat(endpoint.logins.get()).isEqualTo(1);
  }

  /** A clock that moves only when a test moves it. */
  @Test
  void aRenewalIsScheduledAheadOfExpiryWithJitter() throws Exception {
    TokenState first = obtained();

    long lifetime = first.expiresAtMillis() - first.issuedAtMillis();
    TokenPolicy p = TokenPolicy.DEFAULTS;
    assertThat(scheduled.lastDelayMillis())
        .isBetween((long) (lifetime * (p.refreshAt() - p.jitter())) - 1, (long) (lifetime * p.refreshAt()));
  }

  @Test
  void theBackgroundRenewalRefreshesWhileTheTokenIsStillValidSoNoRequestWaits() throws Exception {
    TokenState first = obtained();
    clock.advance(Duration.ofMillis(scheduled.lastDelayMillis()));

    scheduled.runLatest();

    TokenState current = holder.current();
    assertThat(current).isNotNull().isNotSameAs(first);
    assertThat(endpoint.refreshes.get()).isEqualTo(1);
    assertThat(endpoint.logins.get()).isEqualTo(1);
  }

  @Test
  void afterAFailureARetryIsScheduledWithinTheBackOffBounds() {
    endpoint.loginStatus = 503;

    unavailable(holder.obtain());

    assertThat(scheduled.lastDelayMillis())
        .isBetween(TokenPolicy.DEFAULTS.retryMin().toMillis(), TokenPolicy.DEFAULTS.retryMax().toMillis());
  }

  @Test
  void theBackgroundRetryRecoversWithoutARequest() throws Exception {
    endpoint.loginStatus = 503;
    unavailable(holder.obtain());
    endpoint.loginStatus = 200;
    clock.advance(Duration.ofMillis(scheduled.lastDelayMillis()));

    scheduled.runLatest();

    assertThat(holder.current()).isNotNull();
    assertThat(holder.unhealthyReason()).isNull();
  }

  @Test
  void rejectedCredentialsWaitTheLongRejectedRetryAndReportUnhealthyWithoutARetryStorm() {
    endpoint.loginStatus = 401;

    unavailable(holder.obtain());
    clock.advance(TokenPolicy.DEFAULTS.retryMax()); // well past an outage back-off
    for (int i = 0; i < 20; i++) {
      unavailable(holder.obtain());
    }

    assertThat(endpoint.logins.get()).isEqualTo(1);
    assertThat(scheduled.lastDelayMillis()).isEqualTo(TokenPolicy.DEFAULTS.rejectedRetry().toMillis());
    assertThat(holder.unhealthyReason()).contains("401").doesNotContain(PASSWORD);
  }

  @Test
  void aRetryAfterFromTheProviderIsHonoured() {
    endpoint.loginStatus = 503;
    endpoint.retryAfterSeconds = 7;

    unavailable(holder.obtain());

    assertThat(scheduled.lastDelayMillis()).isEqualTo(7_000);
  }

  @Test
  void invalidatingTheUsedTokenRenewsItOnce() throws Exception {
    TokenState used = obtained();

    holder.invalidate(used);
    holder.invalidate(used); // a second 401 for the same stale token changes nothing

    assertThat(holder.current()).isNull();
    TokenState renewed = obtained();
    assertThat(renewed).isNotSameAs(used);
    assertThat(endpoint.refreshes.get()).isEqualTo(1);
  }

  @Test
  void invalidatingAnOlderTokenLeavesTheNewerOneAlone() throws Exception {
    TokenState old = obtained();
    holder.invalidate(old);
    TokenState newer = obtained();

    holder.invalidate(old);

    assertThat(holder.current()).isSameAs(newer);
    assertThat(endpoint.refreshes.get()).isEqualTo(1);
  }

  @Test
  void tokenCallsAreReportedToTheMetricsHooksByCallAndFailureClass() throws Exception {
    java.util.List<String> events = new java.util.concurrent.CopyOnWriteArrayList<>();
    fetcher.metrics(
        new TokenMetrics() {
          @Override
          public void fetched(String call, long nanos) {
            events.add(call + ":ok");
          }

          @Override
          public void failed(String call, String failureClass, long nanos) {
            events.add(call + ":" + failureClass);
          }
        });
    TokenState first = obtained();
    endpoint.refreshStatus = 503;
    endpoint.loginStatus = 401;
    clock.set(first.expiresAtMillis() + 1);

    unavailable(holder.obtain());

    assertThat(events).containsExactly("login:ok", "refresh:transient", "login:rejected");
    assertThat(holder.secondsToExpiry()).isNegative();
  }

  /** Records what the holder schedules; the test runs it when it chooses. */
  static final class ManualScheduler implements TokenHolder.Scheduler {
    private final java.util.List<Runnable> tasks = new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile long lastDelayMillis = -1;

    @Override
    public java.util.concurrent.Future<?> schedule(Runnable task, long delayMillis) {
      tasks.add(task);
      lastDelayMillis = delayMillis;
      return new java.util.concurrent.CompletableFuture<>();
    }

    long lastDelayMillis() {
      return lastDelayMillis;
    }

    void runLatest() {
      tasks.get(tasks.size() - 1).run();
    }
  }


  /**
   * The seed's token endpoint dialect, by hand: {@code GET /login} and {@code POST /refresh} answer
   * {@code {"AccessToken": "at-N", "ExpiresIn": 300, "TokenType": "Bearer", "RefreshToken": "rt-N"}}, N
   * counting tokens issued; a status other than 200 answers an RFC 6749 error body instead.
   */
  static final class SeedEndpoint implements AutoCloseable {
    final AtomicInteger logins = new AtomicInteger();
    final AtomicInteger refreshes = new AtomicInteger();
    private final AtomicInteger issued = new AtomicInteger();
    private final HttpServer server;
    private final ExecutorService executor = Executors.newCachedThreadPool();
    volatile int loginStatus = 200;
    volatile int refreshStatus = 200;
    volatile long delayMillis;
    volatile int retryAfterSeconds = -1;
    volatile String lastAuthorization;
    volatile String lastRefreshBody;

    SeedEndpoint() throws IOException {
      server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
      server.createContext("/login", exchange -> answer(exchange, logins, loginStatus));
      server.createContext("/refresh", exchange -> answer(exchange, refreshes, refreshStatus));
      server.setExecutor(executor);
      server.start();
    }

    String baseUrl() {
      return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    private void answer(HttpExchange exchange, AtomicInteger calls, int status) throws IOException {
      try (exchange) {
        calls.incrementAndGet();
        lastAuthorization = exchange.getRequestHeaders().getFirst("Authorization");
        String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        if (calls == refreshes) {
          lastRefreshBody = body;
        }
        if (delayMillis > 0) {
          try {
            Thread.sleep(delayMillis);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        String json;
        if (status == 200) {
          int n = issued.incrementAndGet();
          json =
              "{\"AccessToken\": \"at-%d\", \"ExpiresIn\": %d, \"TokenType\": \"Bearer\", \"RefreshToken\": \"rt-%d\"}"
                  .formatted(n, LIFETIME_SECONDS, n);
        } else {
          json = "{\"error\": \"server_error\"}";
        }
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        if (status != 200 && retryAfterSeconds >= 0) {
          exchange.getResponseHeaders().set("Retry-After", Integer.toString(retryAfterSeconds));
        }
        exchange.sendResponseHeaders(status, bytes.length);
        exchange.getResponseBody().write(bytes);
      }
    }

    @Override
    public void close() {
      server.stop(0);
      executor.shutdownNow();
    }
  }
}
