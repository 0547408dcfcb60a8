package io.oauth2relay.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.oauth2relay.server.Relay;
import io.oauth2relay.server.config.ConfigLoader;
import io.oauth2relay.server.proxy.AccessLog;
import io.oauth2relay.server.testing.JwtVerifyingUpstream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Several routes in one relay, each with its own identity provider and upstream, against real servers on
 * loopback: two in-process mock-oauth2-servers (navikt's; each issues signed JWTs for its own issuer) and
 * two upstreams that accept only a token that verifies against their own provider's JWKS and issuer
 * ({@link JwtVerifyingUpstream}), so a token that crossed routes would be refused, and counted, there.
 *
 * <pre>
 *   /crm/...              crm      idp A  client crm-client      upstream A /v1/...   (prefix stripped)
 *   /billing/...          billing  idp B  client billing-client  upstream B /billing/... (kept)
 *   Host: partner.example partner  idp B  client partner-client  upstream B /partner/...
 *   /orders/...           orders   an identity provider that is down
 * </pre>
 */
class RoutesIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String SECRET_A = "secret-a-" + System.nanoTime();
  private static final String SECRET_B = "secret-b-" + System.nanoTime();

  private static MockOAuth2Server idpA;
  private static MockOAuth2Server idpB;
  private static JwtVerifyingUpstream upstreamA;
  private static JwtVerifyingUpstream upstreamB;
  private static int deadPort;

  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private final ListAppender<ILoggingEvent> accessLog = new ListAppender<>();
  private Relay relay;
  private String relayUrl;
  private String adminUrl;

  @BeforeAll
  static void startServers() throws Exception {
    idpA = new MockOAuth2Server();
    idpA.start(InetAddress.getLoopbackAddress(), 0);
    idpB = new MockOAuth2Server();
    idpB.start(InetAddress.getLoopbackAddress(), 0);
    upstreamA = JwtVerifyingUpstream.start(idpA.jwksUrl("a").uri(), idpA.issuerUrl("a").toString());
    upstreamB = JwtVerifyingUpstream.start(idpB.jwksUrl("b").uri(), idpB.issuerUrl("b").toString());
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      deadPort = s.getLocalPort(); // closed again: connections to it are refused
    }
  }

  @AfterAll
  static void stopServers() {
    upstreamA.close();
    upstreamB.close();
    idpA.shutdown();
    idpB.shutdown();
  }

  @BeforeEach
  void startRelay() throws Exception {
    upstreamA.reset();
    upstreamB.reset();
    String config =
        """
        { "port": 0, "admin": { "port": 0 },
          "routes": [
            { "name": "crm", "path": "/crm",
              "login": { "grant": "client_credentials", "tokenUrl": "%1$s", "clientId": "crm-client", "clientSecret": "${SECRET_A}" },
              "relay": { "url": "%3$s/v1/" } },
            { "name": "billing", "path": "/billing", "stripPrefix": false,
              "login": { "grant": "client_credentials", "tokenUrl": "%2$s", "clientId": "billing-client", "clientSecret": "${SECRET_B}" },
              "relay": { "url": "%4$s/" } },
            { "name": "partner", "host": "partner.example",
              "login": { "grant": "client_credentials", "tokenUrl": "%2$s", "clientId": "partner-client", "clientSecret": "${SECRET_B}" },
              "relay": { "url": "%4$s/partner/" } },
            { "name": "orders", "path": "/orders",
              "login": { "grant": "client_credentials", "tokenUrl": "http://127.0.0.1:%5$d/token", "clientId": "orders", "clientSecret": "${SECRET_A}" },
              "relay": { "url": "%3$s/" } } ] }
        """
            .formatted(idpA.tokenEndpointUrl("a"), idpB.tokenEndpointUrl("b"), upstreamA.baseUrl(), upstreamB.baseUrl(),
                deadPort);
    accessLog.start();
    ((Logger) LoggerFactory.getLogger(AccessLog.class)).addAppender(accessLog);
    relay = new Relay(
        new ConfigLoader(Map.of("SECRET_A", SECRET_A, "SECRET_B", SECRET_B)::get).parse(JSON.readTree(config), "routes.json"),
        Clock.systemUTC());
    relayUrl = "http://127.0.0.1:" + relay.start().getPort();
    adminUrl = "http://127.0.0.1:" + relay.adminAddress().getPort();
  }

  @AfterEach
  void stopRelay() {
    relay.close();
    ((Logger) LoggerFactory.getLogger(AccessLog.class)).detachAppender(accessLog);
  }

  private HttpResponse<String> get(String url) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void eachUpstreamOnlyEverSeesItsOwnRoutesTokenUnderInterleavedConcurrentRequests() throws Exception {
    List<String> paths = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      paths.add("/crm/items/" + i);
      paths.add("/billing/items/" + i);
    }
    Collections.shuffle(paths);
    List<CompletableFuture<HttpResponse<String>>> sent = new ArrayList<>();
    for (String path : paths) {
      sent.add(http.sendAsync(HttpRequest.newBuilder(URI.create(relayUrl + path)).build(), HttpResponse.BodyHandlers.ofString()));
    }

    for (int i = 0; i < paths.size(); i++) {
      HttpResponse<String> r = sent.get(i).join();
      String path = paths.get(i);
      assertThat(r.statusCode()).as(path + ": " + r.body()).isEqualTo(200);
      JsonNode echo = JSON.readTree(r.body());
      if (path.startsWith("/crm/")) {
        assertThat(echo.get("path").asText()).as("the prefix is stripped").isEqualTo("/v1" + path.substring("/crm".length()));
        assertThat(echo.get("sub").asText()).isEqualTo("crm-client");
      } else {
        assertThat(echo.get("path").asText()).as("stripPrefix false keeps it").isEqualTo(path);
        assertThat(echo.get("sub").asText()).isEqualTo("billing-client");
      }
    }
    // Each upstream verified every token against its own provider's keys and issuer: none came from the other.
    assertThat(upstreamA.rejectedRequests()).as(String.valueOf(upstreamA.lastRejectionReason())).isZero();
    assertThat(upstreamB.rejectedRequests()).as(String.valueOf(upstreamB.lastRejectionReason())).isZero();
    assertThat(upstreamA.acceptedRequests()).isEqualTo(60);
    assertThat(upstreamB.acceptedRequests()).isEqualTo(60);
  }

  @Test
  void aHostRouteTakesRequestsForItsHostWhateverThePort() throws Exception {
    for (String host : List.of("partner.example", "Partner.Example:8443")) {
      String answer = rawGet("/orders-list?page=2", host);

      assertThat(answer).as(host).startsWith("HTTP/1.1 200");
      JsonNode echo = JSON.readTree(answer.substring(answer.indexOf("\r\n\r\n") + 4));
      assertThat(echo.get("path").asText()).isEqualTo("/partner/orders-list");
      assertThat(echo.get("query").asText()).isEqualTo("page=2");
      assertThat(echo.get("sub").asText()).isEqualTo("partner-client");
    }
    assertThat(upstreamB.rejectedRequests()).isZero();
  }

  @Test
  void aPathNoRouteTakesGets404JsonAndReachesNoUpstream() throws Exception {
    for (String path : List.of("/nothing", "/crmx", "/", "/billings/x")) {
      HttpResponse<String> r = get(relayUrl + path);

      assertThat(r.statusCode()).as(path).isEqualTo(404);
      assertThat(r.headers().firstValue("Content-Type")).get().asString().startsWith("application/json");
      assertThat(JSON.readTree(r.body()).get("error").asText()).isEqualTo("no_route");
    }
    assertThat(upstreamA.acceptedRequests() + upstreamA.rejectedRequests()).isZero();
    assertThat(upstreamB.acceptedRequests() + upstreamB.rejectedRequests()).isZero();
  }

  @Test
  void readyzNamesTheRouteWhoseIdentityProviderIsDownAndOnlyThatOne() throws Exception {
    assertThat(get(relayUrl + "/crm/x").statusCode()).isEqualTo(200);
    assertThat(get(relayUrl + "/billing/x").statusCode()).isEqualTo(200);
    assertThat(rawGet("/x", "partner.example")).startsWith("HTTP/1.1 200");

    HttpResponse<String> r = get(adminUrl + "/readyz");

    assertThat(r.statusCode()).isEqualTo(503);
    JsonNode body = JSON.readTree(r.body());
    assertThat(body.get("status").asText()).isEqualTo("not ready");
    assertThat(body.get("routes")).hasSize(1);
    assertThat(body.get("routes").get(0).get("route").asText()).isEqualTo("orders");
    assertThat(r.body()).doesNotContain(SECRET_A).doesNotContain(SECRET_B);
  }

  @Test
  void metricsAndTheAccessLogCarryEachExchangesRoute() throws Exception {
    for (int i = 0; i < 3; i++) {
      assertThat(get(relayUrl + "/crm/x").statusCode()).isEqualTo(200);
    }
    assertThat(get(relayUrl + "/billing/x").statusCode()).isEqualTo(200);
    assertThat(get(relayUrl + "/nothing").statusCode()).isEqualTo(404);
    assertThat(get(relayUrl + "/orders/x").statusCode()).as("no token can be had").isEqualTo(503);

    String metrics = get(adminUrl + "/metrics").body();

    assertThat(metrics)
        .containsPattern("relay_requests_seconds_count\\{route=\"crm\",status=\"200\"} 3")
        .containsPattern("relay_requests_seconds_count\\{route=\"billing\",status=\"200\"} 1")
        .containsPattern("relay_requests_seconds_count\\{route=\"-\",status=\"404\"} 1")
        .containsPattern("relay_requests_seconds_count\\{route=\"orders\",status=\"503\"} 1")
        .containsPattern("relay_token_fetches_total\\{call=\"login\",route=\"crm\"} 1")
        .containsPattern("relay_token_fetches_total\\{call=\"login\",route=\"billing\"} 1")
        .containsPattern("relay_token_failures_total\\{call=\"login\",class=\"transient\",route=\"orders\"} [1-9]")
        .containsPattern("relay_token_expiry_seconds\\{route=\"crm\"} [1-9]")
        .doesNotContain("route=\"relay\"")
        .doesNotContain(SECRET_A)
        .doesNotContain(SECRET_B);
    List<String> lines = accessLog.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    assertThat(lines).filteredOn(l -> l.startsWith("GET /crm/x 200")).hasSize(3).allSatisfy(l -> assertThat(l).endsWith("route=crm"));
    assertThat(lines).filteredOn(l -> l.startsWith("GET /billing/x 200")).singleElement().asString().endsWith("route=billing");
    assertThat(lines).filteredOn(l -> l.startsWith("GET /nothing 404")).singleElement().asString().endsWith("route=-");
  }

  /** A GET with a {@code Host} of our choosing (the JDK client will not set one), read to the end. */
  private String rawGet(String target, String host) throws Exception {
    try (Socket s = new Socket("127.0.0.1", URI.create(relayUrl).getPort())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(("GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      InputStream in = s.getInputStream();
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      in.transferTo(all);
      return all.toString(StandardCharsets.UTF_8);
    }
  }
}
