package io.oauth2relay.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.json.JsonMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.oauth2relay.server.config.ConfigLoader;
import io.oauth2relay.server.config.Placeholder;
import io.oauth2relay.server.config.TemplateValues;
import io.oauth2relay.server.testing.HandClock;
import io.oauth2relay.server.token.TokenState;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Shutting a {@link Relay} down zeroes every token array its holder had: the current state's and the
 * replaced one's, access, refresh and type alike. (TokenHolderTest proves the holder on its own; this
 * proves that {@link Relay#close()} reaches it after traffic has gone through the proxy.)
 *
 * <p>The token endpoint and API are a hand-written seed-dialect server on {@code 127.0.0.1:0} (the JDK's
 * {@code HttpServer}): no public server speaks the seed's token dialect. Time is a clock moved by hand.
 */
class RelayShutdownWipeTest {
  private final AtomicLong now = new AtomicLong(Instant.parse("2030-01-01T00:00:00Z").toEpochMilli());
  private final AtomicInteger issued = new AtomicInteger();
  private final HttpServer server;
  private Relay relay;

  RelayShutdownWipeTest() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/login", this::issue);
    server.createContext("/refresh", this::issue);
    server.createContext("/api/", ex -> answer(ex, 200, "{}"));
    server.start();
  }

  @AfterEach
  void stop() {
    if (relay != null) {
      relay.close();
    }
    server.stop(0);
  }

  private void issue(HttpExchange ex) throws IOException {
    ex.getRequestBody().readAllBytes();
    int n = issued.incrementAndGet();
    answer(ex, 200, "{\"AccessToken\":\"canary-at-" + n + "\",\"ExpiresIn\":300,\"TokenType\":\"Bearer\","
        + "\"RefreshToken\":\"canary-rt-" + n + "\"}");
  }

  private static void answer(HttpExchange ex, int status, String json) throws IOException {
    try (ex) {
      byte[] body = json.getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().set("Content-Type", "application/json");
      ex.sendResponseHeaders(status, body.length);
      ex.getResponseBody().write(body);
    }
  }

  @Test
  void afterShutdownEveryTokenArrayTheHolderHadIsAllZero() throws Exception {
    String base = "http://127.0.0.1:" + server.getAddress().getPort();
    String config =
        """
        { "port": 0, "token": { "refreshAhead": false },
          "login": { "url": "%1$s/login", "authstring": "${AUTH}", "headers": { "Authorization": "Basic ${AUTHSTRING}" } },
          "refresh": { "url": "%1$s/refresh", "data": { "token": "${REFRESHTOKEN}" } },
          "relay": { "url": "%1$s/api/", "headers": { "Authorization": "Bearer ${ACCESSTOKEN}" } } }
        """
            .formatted(base);
    relay =
        new Relay(
            new ConfigLoader(Map.of("AUTH", "canary-authstring")::get)
                .parse(JsonMapper.builder().build().readTree(config), "wipe.json"),
            new HandClock(now));
    String relayUrl = "http://127.0.0.1:" + relay.start().getPort();
    HttpClient http = HttpClient.newHttpClient();
    List<byte[]> held = new ArrayList<>();

    assertThat(get(http, relayUrl).statusCode()).isEqualTo(200); // first login, and an injected request
    TokenState first = relay.tokens().obtain().get(10, TimeUnit.SECONDS);
    collect(first, held);
    now.addAndGet(TimeUnit.SECONDS.toMillis(300)); // past expiry: the next request renews (a refresh)
    assertThat(get(http, relayUrl).statusCode()).isEqualTo(200);
    TokenState second = relay.tokens().obtain().get(10, TimeUnit.SECONDS);
    collect(second, held);
    assertThat(second).isNotSameAs(first);
    assertThat(held).allSatisfy(bytes -> assertThat(bytes).isNotEmpty().contains((byte) 'a'));

    relay.close();

    assertThat(held).hasSize(6).allSatisfy(bytes -> assertThat(bytes).containsOnly(0));
    assertThat(relay.tokens().current()).isNull();
  }

  private static void collect(TokenState state, List<byte[]> held) {
    TemplateValues values = state.values(TemplateValues.NONE);
    held.add(values.value(Placeholder.ACCESSTOKEN));
    held.add(values.value(Placeholder.REFRESHTOKEN));
    held.add(values.value(Placeholder.TOKENTYPE));
  }

  private static HttpResponse<String> get(HttpClient http, String relayUrl) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(relayUrl + "/x")).build(), HttpResponse.BodyHandlers.ofString());
  }

}
