package io.oauth2relay.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.codec.http2.Http2StreamFrame;
import io.oauth2relay.server.Relay;
import io.oauth2relay.server.config.ConfigLoader;
import io.oauth2relay.server.config.OriginSpec;
import io.oauth2relay.server.config.RelayConfig;
import io.oauth2relay.server.config.RouteSpec;
import io.oauth2relay.server.config.ServerTls;
import io.oauth2relay.server.config.Template;
import io.oauth2relay.server.testing.NginxServer;
import io.oauth2relay.server.testing.Pki;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The data plane against a real nginx as the upstream: HTTP/2 on both sides, TLS and mutual TLS on both
 * sides with certificates made at test time (BouncyCastle), and the HTTP semantics of an intermediary.
 * nginx echoes what reached it, so each test sees exactly what the relay forwarded.
 */
class DataPlaneIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  /**
   * Threads for the hand-written upstreams, which block: not the common pool, whose one thread on a
   * 2-core machine would make each test wait for the previous one's upstream to finish.
   */
  private static final java.util.concurrent.ExecutorService FIXTURES =
      java.util.concurrent.Executors.newCachedThreadPool(
          r -> {
            Thread t = new Thread(r, "dataplane-upstream");
            t.setDaemon(true);
            return t;
          });
  /** The relay injects this fixed token; the tests look for it at the upstream. */
  private static final String TOKEN = "fixed-token-for-the-data-plane";
  private static final String ECHO =
      "return 200 \"proto=$server_protocol\\nauth=$http_authorization\\nhost=$host\\nuri=$request_uri"
          + "\\nmethod=$request_method\\nxff=$http_x_forwarded_for\\nxfp=$http_x_forwarded_proto"
          + "\\nxfh=$http_x_forwarded_host\\nvia=$http_via\\nte=$http_te\\nconnection=$http_connection"
          + "\\nxfoo=$http_x_foo\\nkeepalive=$http_keep_alive\\nupgrade=$http_upgrade"
          + "\\nproxyauth=$http_proxy_authorization\\nclient=$ssl_client_s_dn\\nconn=$connection\\nend\\n\";";

  @TempDir static Path dir;
  private static Pki pki;
  private static NginxServer nginx;
  private static int h1Port;
  private static int h2cPort;
  private static int tlsPort;
  private static Pki.Leaf relayClient;

  private Relay relay;

  @BeforeAll
  static void startNginx() throws Exception {
    pki = new Pki(dir);
    Pki.Leaf origin = pki.issue("origin", "ip:127.0.0.1", "dns:localhost");
    relayClient = pki.issue("relay-client");
    h1Port = NginxServer.freePort();
    h2cPort = NginxServer.freePort();
    tlsPort = NginxServer.freePort();
    String locations =
        """
            location / { %1$s }
            location /redirect { return 302 /elsewhere; }
            location = /status/204 { return 204; }
            location = /status/304 { return 304; }
        """
            .formatted(ECHO);
    String servers =
        """
          server { listen 127.0.0.1:%1$d; %4$s }
          server { listen 127.0.0.1:%2$d http2; %4$s }
          server {
            listen 127.0.0.1:%3$d ssl http2;
            ssl_certificate %5$s;
            ssl_certificate_key %6$s;
            ssl_client_certificate %7$s;
            ssl_verify_client optional;
            location / { if ($ssl_client_verify != SUCCESS) { return 400 "no client certificate\\n"; } %8$s }
          }
        """
            .formatted(h1Port, h2cPort, tlsPort, locations, origin.chainFile(), origin.pkcs8File(), pki.caFile(), ECHO);
    nginx = NginxServer.start(dir.resolve("nginx"), servers, h1Port, h2cPort, tlsPort);
  }

  @AfterAll
  static void stopNginx() throws Exception {
    if (nginx != null) {
      nginx.close();
    }
  }

  @AfterEach
  void stopRelay() {
    if (relay != null) {
      relay.close();
    }
  }

  /** Starts a relay in front of {@code upstream} with a fixed token; returns its port. */
  private int startRelay(String upstream, OriginSpec origin, ServerTls tls) throws Exception {
    return startRelay(upstream, origin, tls, "");
  }

  private int startRelay(String upstream, OriginSpec origin, ServerTls tls, String moreTopLevel) throws Exception {
    String json =
        """
        { "port": 0, "host": "127.0.0.1", "accessLog": false, %s
          "relay": { "url": "%s", "fixedtoken": "%s" } }
        """
            .formatted(moreTopLevel, upstream, TOKEN);
    RelayConfig c = new ConfigLoader(Map.<String, String>of()::get).parse(JSON.readTree(json), "dataplane.json");
    RouteSpec r = c.routes().get(0);
    RouteSpec route =
        new RouteSpec(r.name(), r.pathPrefix(), r.host(), r.stripPrefix(), r.login(), r.refresh(), r.relay(), r.policy(), origin);
    RelayConfig withOrigin =
        new RelayConfig(
            c.source(), c.host(), c.port(), c.debug(), c.logfile(), c.login(), c.refresh(), c.relay(), c.policy(),
            c.variables(), c.secrets(), c.ops(), List.of(route), tls);
    relay = new Relay(withOrigin, Clock.systemUTC());
    return relay.start().getPort();
  }

  private int startRelay(String upstream) throws Exception {
    return startRelay(upstream, OriginSpec.DEFAULTS, null);
  }

  private static OriginSpec protocol(OriginSpec.Protocol p) {
    OriginSpec d = OriginSpec.DEFAULTS;
    return new OriginSpec(p, d.caBundle(), d.clientCertificate(), d.clientKey(), d.clientKeyPassword(), d.connectTimeout(),
        d.responseTimeout(), d.idleTimeout(), d.maxConnections(), d.forwardedHeaders(), d.via());
  }

  private static String curl(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("curl", "-s", "-i", "--max-time", "10"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(15, TimeUnit.SECONDS)).isTrue();
    return out;
  }

  // ---- HTTP/2 ----

  @Test
  void anH2cPriorKnowledgeCallerIsRelayedToAnHttp11Origin() throws Exception {
    int port = startRelay("http://127.0.0.1:" + h1Port + "/");

    String out = curl("--http2-prior-knowledge", "http://127.0.0.1:" + port + "/a/b?x=1");

    assertThat(out).startsWith("HTTP/2 200").contains("proto=HTTP/1.1", "auth=Bearer " + TOKEN, "uri=/a/b?x=1");
  }

  @Test
  void anH2cUpgradeCallerIsRelayed() throws Exception {
    int port = startRelay("http://127.0.0.1:" + h1Port + "/");

    String out = curl("--http2", "http://127.0.0.1:" + port + "/upgraded");

    assertThat(out).startsWith("HTTP/1.1 101").contains("HTTP/2 200", "auth=Bearer " + TOKEN, "uri=/upgraded");
  }

  /**
   * Sends one GET per path as concurrent streams on one HTTP/2 (h2c) connection, with Netty's own HTTP/2
   * client, and returns each answer as "status\nbody" (or the failure's message), in order. Also used by
   * {@link Http2UpstreamIT}.
   */
  static List<String> h2cStreams(int port, List<String> paths, Duration wait) throws Exception {
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    try {
      Channel connection =
          new Bootstrap()
              .group(group)
              .channel(NioSocketChannel.class)
              .handler(
                  new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                      ch.pipeline().addLast(Http2FrameCodecBuilder.forClient().build(), new Http2MultiplexHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {}
                      }));
                    }
                  })
              .connect("127.0.0.1", port)
              .sync()
              .channel();
      List<CompletableFuture<String>> answers = new ArrayList<>();
      for (String path : paths) {
        CompletableFuture<String> answer = new CompletableFuture<>();
        answers.add(answer);
        Http2StreamChannel stream =
            new Http2StreamChannelBootstrap(connection).handler(new StreamCollector(answer)).open().sync().getNow();
        stream.writeAndFlush(
            new DefaultHttp2HeadersFrame(
                new DefaultHttp2Headers().method("GET").scheme("http").authority("127.0.0.1:" + port).path(path), true));
      }
      List<String> out = new ArrayList<>();
      for (CompletableFuture<String> a : answers) {
        out.add(a.get(wait.toMillis(), TimeUnit.MILLISECONDS));
      }
      connection.close().sync();
      return out;
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }
  }

  @Test
  void manyConcurrentStreamsOnOneConnectionEachGetTheirOwnAnswer() throws Exception {
    int port = startRelay("http://127.0.0.1:" + h2cPort + "/", protocol(OriginSpec.Protocol.HTTP2), null);
    List<String> paths = new ArrayList<>();
    for (int i = 0; i < 64; i++) {
      paths.add("/stream/" + i);
    }

    List<String> answers = h2cStreams(port, paths, Duration.ofSeconds(10));

    for (int i = 0; i < answers.size(); i++) {
      assertThat(answers.get(i)).startsWith("200\n").contains("proto=HTTP/2.0", "uri=/stream/" + i + "\n", "auth=Bearer " + TOKEN);
    }
  }

  // ---- the origin pool ----

  @Test
  void callersOnSeparateConnectionsShareOneKeptAliveOriginConnection() throws Exception {
    int port = startRelay("http://127.0.0.1:" + h1Port + "/");

    // Sequential requests on one caller connection each, several of them: the event loops they land on
    // each open at most one origin connection, which later requests reuse.
    java.util.Set<String> originConnections = new java.util.HashSet<>();
    for (int i = 0; i < 8; i++) {
      String out = curl("http://127.0.0.1:" + port + "/pooled/" + i);
      assertThat(out).startsWith("HTTP/1.1 200");
      originConnections.add(out.replaceAll("(?s).*\nconn=(\\d+)\n.*", "$1"));
    }

    assertThat(originConnections).hasSizeLessThanOrEqualTo(Runtime.getRuntime().availableProcessors() * 2).hasSizeLessThan(8);
  }

  /** An upstream that reads a request head and then says nothing more: the idle timeout answers, not the response timeout. */
  @Test
  void anUpstreamSilentForTheIdleTimeoutGets504() throws Exception {
    try (ServerSocket silent = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      List<Socket> held = java.util.Collections.synchronizedList(new ArrayList<>());
      Thread acceptor = acceptForever(silent, held::add);
      OriginSpec d = OriginSpec.DEFAULTS;
      OriginSpec quick = new OriginSpec(OriginSpec.Protocol.HTTP1, null, null, null, Template.empty(), d.connectTimeout(),
          Duration.ofSeconds(60), Duration.ofSeconds(1), d.maxConnections(), d.forwardedHeaders(), d.via());
      int port = startRelay("http://127.0.0.1:" + silent.getLocalPort() + "/", quick, null);

      String out = raw(port, "GET /silent HTTP/1.1\r\nHost: x\r\n\r\n", "}");

      assertThat(out).startsWith("HTTP/1.1 504").contains("\"error\":\"upstream_timeout\"");
      stopRelayThenUpstream(silent, acceptor, held);
    }
  }

  /** A pooled upstream connection with nothing to carry for the idle timeout is hung up. */
  @Test
  void anIdlePooledUpstreamConnectionIsClosedAfterTheIdleTimeout() throws Exception {
    try (ServerSocket upstream = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      java.util.concurrent.CompletableFuture<Integer> afterAnswer = new java.util.concurrent.CompletableFuture<>();
      Thread acceptor =
          acceptForever(
              upstream,
              s -> {
                try (s) {
                  s.setSoTimeout(10_000);
                  readUntil(s.getInputStream(), "\r\n\r\n");
                  s.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n".getBytes(StandardCharsets.US_ASCII));
                  s.getOutputStream().flush();
                  afterAnswer.complete(s.getInputStream().read()); // -1: the relay hung up
                } catch (Exception e) {
                  afterAnswer.completeExceptionally(e);
                }
              });
      OriginSpec d = OriginSpec.DEFAULTS;
      OriginSpec quick = new OriginSpec(OriginSpec.Protocol.HTTP1, null, null, null, Template.empty(), d.connectTimeout(),
          d.responseTimeout(), Duration.ofSeconds(1), d.maxConnections(), d.forwardedHeaders(), d.via());
      int port = startRelay("http://127.0.0.1:" + upstream.getLocalPort() + "/", quick, null);

      assertThat(raw(port, "GET /once HTTP/1.1\r\nHost: x\r\n\r\n", "ok\n")).startsWith("HTTP/1.1 200");

      assertThat(afterAnswer.get(10, java.util.concurrent.TimeUnit.SECONDS)).as("the relay closed the idle connection").isEqualTo(-1);
      upstream.close();
      acceptor.join(5_000);
    }
  }

  /** Closes the relay first (so that it does not reconnect), then the upstream and what it accepted. */
  private void stopRelayThenUpstream(ServerSocket upstream, Thread acceptor, List<Socket> held) throws Exception {
    relay.close();
    relay = null;
    upstream.close();
    acceptor.join(5_000);
    for (Socket s : held) {
      s.close();
    }
  }

  /** Hands every connection {@code server} accepts to {@code each} on a thread of its own, until it is closed. */
  private static Thread acceptForever(ServerSocket server, java.util.function.Consumer<Socket> each) {
    Thread acceptor =
        new Thread(
            () -> {
              try {
                for (;;) {
                  Socket s = server.accept();
                  new Thread(() -> each.accept(s)).start();
                }
              } catch (java.io.IOException closed) {
                // the test is over
              }
            });
    acceptor.start();
    return acceptor;
  }

  @Test
  void pastMaxConnectionsARequestWaitsThenGets503AndNoExtraConnectionIsOpened() throws Exception {
    try (ServerSocket silent = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      java.util.concurrent.atomic.AtomicInteger accepted = new java.util.concurrent.atomic.AtomicInteger();
      List<Socket> held = java.util.Collections.synchronizedList(new ArrayList<>());
      Thread acceptor =
          new Thread(
              () -> {
                try {
                  for (;;) {
                    held.add(silent.accept()); // and never answer
                    accepted.incrementAndGet();
                  }
                } catch (java.io.IOException closed) {
                  // the test is over
                }
              });
      acceptor.start();
      OriginSpec d = OriginSpec.DEFAULTS;
      OriginSpec one = new OriginSpec(OriginSpec.Protocol.HTTP1, null, null, null, Template.empty(), Duration.ofMillis(500),
          Duration.ofSeconds(3), d.idleTimeout(), 1, d.forwardedHeaders(), d.via());
      int port = startRelay("http://127.0.0.1:" + silent.getLocalPort() + "/", one, null);

      // Two streams of one HTTP/2 connection share an event loop, and so its pool of one connection.
      List<String> answers = h2cStreams(port, List.of("/first", "/second"), Duration.ofSeconds(10));

      assertThat(answers).anySatisfy(a -> assertThat(a).startsWith("503\n").contains("\"error\":\"upstream_busy\""));
      assertThat(answers).anySatisfy(a -> assertThat(a).startsWith("504\n").contains("\"error\":\"upstream_timeout\""));
      assertThat(accepted.get()).isEqualTo(1);
      stopRelayThenUpstream(silent, acceptor, held);
    }
  }

  @Test
  void theTotalTimeoutCutsAResponseThatTakesTooLong() throws Exception {
    try (ServerSocket dribbling = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      CompletableFuture<Void> served =
          CompletableFuture.runAsync(
              () -> {
                try (Socket s = dribbling.accept()) {
                  readUntil(s.getInputStream(), "\r\n\r\n");
                  OutputStream out = s.getOutputStream();
                  out.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n".getBytes(StandardCharsets.US_ASCII));
                  out.flush();
                  readUntil(s.getInputStream(), null); // and never the rest, until the relay hangs up
                } catch (Exception e) {
                  throw new RuntimeException(e);
                }
              }, FIXTURES);
      OriginSpec d = OriginSpec.DEFAULTS;
      OriginSpec total = new OriginSpec(d.protocol(), null, null, null, Template.empty(), d.connectTimeout(),
          d.responseTimeout(), d.idleTimeout(), d.maxConnections(), d.forwardedHeaders(), d.via(), Duration.ofSeconds(1));
      int port = startRelay("http://127.0.0.1:" + dribbling.getLocalPort() + "/", total, null);

      String out = raw(port, "GET /slow-body HTTP/1.1\r\nHost: x\r\n\r\n", null);

      // The head and the first piece came through; then the relay cut both connections: no final chunk.
      assertThat(out).startsWith("HTTP/1.1 200").contains("first").doesNotContain("\r\n0\r\n\r\n");
      served.get(10, TimeUnit.SECONDS);
    }
  }

  /** Collects one HTTP/2 response as "status\nbody". */
  private static final class StreamCollector extends SimpleChannelInboundHandler<Http2StreamFrame> {
    private final CompletableFuture<String> answer;
    private final StringBuilder text = new StringBuilder();

    StreamCollector(CompletableFuture<String> answer) {
      this.answer = answer;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, Http2StreamFrame frame) {
      boolean end = false;
      if (frame instanceof Http2HeadersFrame headers) {
        if (headers.headers().status() != null) {
          text.append(headers.headers().status()).append('\n');
        }
        end = headers.isEndStream();
      } else if (frame instanceof Http2DataFrame data) {
        ByteBuf content = data.content();
        text.append(content.toString(StandardCharsets.UTF_8));
        end = data.isEndStream();
      }
      if (end) {
        answer.complete(text.toString());
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      answer.completeExceptionally(cause);
    }
  }

  @Test
  void anHttp2OnlyOriginIsSpokenToInHttp2() throws Exception {
    int port = startRelay("http://127.0.0.1:" + h2cPort + "/", protocol(OriginSpec.Protocol.HTTP2), null);

    String out = curl("http://127.0.0.1:" + port + "/over-h2");

    assertThat(out).startsWith("HTTP/1.1 200").contains("proto=HTTP/2.0", "auth=Bearer " + TOKEN, "uri=/over-h2");
  }

  @Test
  void anHttp2OnlyOriginCannotBeSpokenToInHttp11() throws Exception {
    // The counterpart of the test above: it shows the protocol setting is what made that one work.
    int port = startRelay("http://127.0.0.1:" + h2cPort + "/", protocol(OriginSpec.Protocol.HTTP1), null);

    String out = curl("http://127.0.0.1:" + port + "/over-h1");

    assertThat(out).startsWith("HTTP/1.1 502").contains("\"error\":\"upstream_");
  }

  // ---- TLS ----

  private static HttpClient client(HttpClient.Version version, Pki.Leaf clientCertificate) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("ca", java.security.cert.CertificateFactory.getInstance("X.509")
        .generateCertificate(java.nio.file.Files.newInputStream(pki.caFile())));
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    KeyManagerFactory kmf = null;
    if (clientCertificate != null) {
      KeyStore keys = KeyStore.getInstance("PKCS12");
      keys.load(null, null);
      keys.setKeyEntry("me", io.oauth2relay.server.internal.PemKeys.privateKey(clientCertificate.pkcs8File(), null),
          "x".toCharArray(), new java.security.cert.Certificate[] {clientCertificate.certificate});
      kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(keys, "x".toCharArray());
    }
    SSLContext ssl = SSLContext.getInstance("TLS");
    ssl.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    return HttpClient.newBuilder().version(version).sslContext(ssl).connectTimeout(Duration.ofSeconds(5)).build();
  }

  private ServerTls serverTls(String keyFormat, ServerTls.ClientCertificates clientAuth) throws Exception {
    Pki.Leaf server = pki.issue("relay-server", "ip:127.0.0.1", "dns:localhost");
    return switch (keyFormat) {
      case "pkcs8" -> new ServerTls(server.chainFile(), server.pkcs8File(), Template.empty(), pki.caFile(), clientAuth);
      case "pkcs1" -> new ServerTls(server.chainFile(), server.pkcs1File(), Template.empty(), pki.caFile(), clientAuth);
      default -> new ServerTls(server.chainFile(), server.encryptedPkcs8File("key-pass"), Template.literal("key-pass"), pki.caFile(), clientAuth);
    };
  }

  @ParameterizedTest(name = "server key as {0}")
  @ValueSource(strings = {"pkcs8", "pkcs1", "encrypted-pkcs8"})
  void httpsCallersGetH2OrHttp11ThroughAlpn(String keyFormat) throws Exception {
    int port = startRelay("http://127.0.0.1:" + h1Port + "/", OriginSpec.DEFAULTS, serverTls(keyFormat, ServerTls.ClientCertificates.NONE));
    URI uri = URI.create("https://localhost:" + port + "/tls");

    HttpResponse<String> h2 = client(HttpClient.Version.HTTP_2, null).send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
    HttpResponse<String> h1 = client(HttpClient.Version.HTTP_1_1, null).send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());

    assertThat(h2.version()).isEqualTo(HttpClient.Version.HTTP_2);
    assertThat(h2.body()).contains("auth=Bearer " + TOKEN, "xfp=https", "via=2 oauth2relay");
    assertThat(h1.version()).isEqualTo(HttpClient.Version.HTTP_1_1);
    assertThat(h1.body()).contains("auth=Bearer " + TOKEN, "xfp=https", "via=1.1 oauth2relay");
    // And curl, whose ALPN offers h2 first.
    assertThat(curl("--http2", "--cacert", pki.caFile().toString(), uri.toString())).startsWith("HTTP/2 200").contains("auth=Bearer " + TOKEN);
  }

  @Test
  void mutualTlsRefusesACallerWithoutACertificate() throws Exception {
    int port = startRelay("http://127.0.0.1:" + h1Port + "/", OriginSpec.DEFAULTS, serverTls("pkcs8", ServerTls.ClientCertificates.REQUIRE));
    URI uri = URI.create("https://localhost:" + port + "/mtls");

    assertThatThrownBy(() -> client(HttpClient.Version.HTTP_1_1, null).send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString()))
        .isInstanceOf(java.io.IOException.class);
    HttpResponse<String> withCertificate =
        client(HttpClient.Version.HTTP_2, pki.issue("caller")).send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(withCertificate.statusCode()).isEqualTo(200);
    assertThat(withCertificate.body()).contains("auth=Bearer " + TOKEN);
  }

  @Test
  void theOriginGetsTheRouteClientCertificateOverVerifiedTls() throws Exception {
    OriginSpec d = OriginSpec.DEFAULTS;
    OriginSpec mtls = new OriginSpec(OriginSpec.Protocol.AUTO, pki.caFile(), relayClient.chainFile(),
        relayClient.encryptedPkcs8File("client-pass"), Template.literal("client-pass"), d.connectTimeout(),
        d.responseTimeout(), d.idleTimeout(), d.maxConnections(), d.forwardedHeaders(), d.via());
    int port = startRelay("https://localhost:" + tlsPort + "/", mtls, null);

    String out = curl("http://127.0.0.1:" + port + "/mtls-origin");

    // auto: ALPN let nginx choose HTTP/2.
    assertThat(out).startsWith("HTTP/1.1 200").contains("proto=HTTP/2.0", "client=CN=relay-client", "auth=Bearer " + TOKEN);
  }

  @Test
  void withoutTheClientCertificateTheOriginRefuses() throws Exception {
    OriginSpec d = OriginSpec.DEFAULTS;
    OriginSpec trustOnly = new OriginSpec(OriginSpec.Protocol.HTTP1, pki.caFile(), null, null, Template.empty(),
        d.connectTimeout(), d.responseTimeout(), d.idleTimeout(), d.maxConnections(), d.forwardedHeaders(), d.via());
    int port = startRelay("https://localhost:" + tlsPort + "/", trustOnly, null);

    String out = curl("http://127.0.0.1:" + port + "/no-client-cert");

    assertThat(out).startsWith("HTTP/1.1 400").contains("no client certificate");
  }

  @Test
  void anUntrustedOriginCertificateIsRefused() throws Exception {
    // The system trust store does not know the test CA.
    int port = startRelay("https://localhost:" + tlsPort + "/", protocol(OriginSpec.Protocol.AUTO), null);

    String out = curl("http://127.0.0.1:" + port + "/untrusted");

    assertThat(out).startsWith("HTTP/1.1 502").contains("\"error\":\"upstream_tls_failed\"");
  }

  // ---- HTTP semantics ----

  /** Sends raw bytes on a fresh connection and reads until the relay closes it or {@code until} appears. */
  private static String raw(int port, String request, String until) throws Exception {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      out.write(request.getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      return readUntil(s.getInputStream(), until);
    }
  }

  static String readUntil(InputStream in, String until) throws Exception {
    ByteArrayOutputStream got = new ByteArrayOutputStream();
    byte[] buf = new byte[8192];
    for (int n; (n = in.read(buf)) > 0; ) {
      got.write(buf, 0, n);
      if (until != null && got.toString(StandardCharsets.ISO_8859_1).contains(until)) {
        break;
      }
    }
    return got.toString(StandardCharsets.ISO_8859_1);
  }

  @Test
  void hopByHopHeadersStayBehindAndForwardingHeadersAreAdded() throws Exception {
    int port = startRelay("http://127.0.0.1:" + h1Port + "/");

    String out =
        raw(
            port,
            "GET /hop HTTP/1.1\r\nHost: relay.example:" + port + "\r\nConnection: keep-alive, X-Foo\r\nX-Foo: named-by-connection\r\n"
                + "Keep-Alive: timeout=5\r\nTE: trailers\r\nUpgrade: websocket\r\nProxy-Authorization: Basic cHJveHk6c2VjcmV0\r\n"
                + "Authorization: Basic Y2FsbGVyOm93bg==\r\nX-Forwarded-For: 198.51.100.7\r\nVia: 1.0 earlier-proxy\r\n\r\n",
            "end\n");

    assertThat(out).startsWith("HTTP/1.1 200");
    assertThat(out)
        .contains("\nxfoo=\n", "\nkeepalive=\n", "\nte=\n", "\nupgrade=\n", "\nproxyauth=\n", "\nconnection=\n")
        .contains("auth=Bearer " + TOKEN, "host=127.0.0.1")
        .contains("xff=198.51.100.7, 127.0.0.1", "xfp=http", "xfh=relay.example:" + port, "via=1.0 earlier-proxy, 1.1 oauth2relay");
  }

  @Test
  void smugglingAndForwardProxyRequestsAreRefused() throws Exception {
    int port = startRelay("http://127.0.0.1:" + h1Port + "/");

    assertThat(raw(port, "POST /s HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "}"))
        .startsWith("HTTP/1.1 400");
    assertThat(raw(port, "POST /s HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello", "}"))
        .startsWith("HTTP/1.1 400");
    assertThat(raw(port, "GET http://169.254.169.254/latest/meta-data HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n", "}"))
        .startsWith("HTTP/1.1 400");
    assertThat(raw(port, "CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n", "}"))
        .startsWith("HTTP/1.1 405");
    // A dot segment behind a path parameter, which Tomcat and Spring upstreams read as "..".
    assertThat(raw(port, "GET /api/..;x=1/admin HTTP/1.1\r\nHost: x\r\n\r\n", "}")).startsWith("HTTP/1.1 400");
    // And the relay still serves well-formed callers.
    assertThat(curl("http://127.0.0.1:" + port + "/after")).startsWith("HTTP/1.1 200");
  }

  @Test
  void expectContinueIsAnsweredBeforeTheBodyIsSent() throws Exception {
    int port = startRelay("http://127.0.0.1:" + h1Port + "/");
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      out.write("POST /continue HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      String first = readUntil(s.getInputStream(), "\r\n\r\n");
      assertThat(first).startsWith("HTTP/1.1 100 Continue");
      out.write("hello".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      // nginx's return answers without reading the body, so the 200 may already have come with the 100.
      String all = first.contains("end\n") ? first : first + readUntil(s.getInputStream(), "end\n");
      assertThat(all.substring(all.indexOf("\r\n\r\n") + 4)).startsWith("HTTP/1.1 200").contains("method=POST");
    }
  }

  @Test
  void headGetsTheHeadersWithoutABodyAndTheConnectionStaysUsable() throws Exception {
    int port = startRelay("http://127.0.0.1:" + h1Port + "/");

    String out = raw(port, "HEAD /head HTTP/1.1\r\nHost: x\r\n\r\nGET /after-head HTTP/1.1\r\nHost: x\r\n\r\n", "end\n");

    String[] responses = out.split("(?=HTTP/1\\.1 )");
    assertThat(responses).hasSize(2);
    assertThat(responses[0]).startsWith("HTTP/1.1 200").contains("Content-Length: ").endsWith("\r\n\r\n");
    assertThat(responses[1]).startsWith("HTTP/1.1 200").contains("uri=/after-head");
  }

  @Test
  void aCallerDribblingARequestHeadIsCutOffButAnIdleKeptConnectionIsNot() throws Exception {
    int port = startRelay("http://127.0.0.1:" + h1Port + "/", OriginSpec.DEFAULTS, null, "\"requestHeaderTimeoutSeconds\": 1,");
    try (Socket slow = new Socket("127.0.0.1", port); Socket idle = new Socket("127.0.0.1", port)) {
      slow.setSoTimeout(10_000);
      idle.setSoTimeout(10_000);
      OutputStream out = slow.getOutputStream();
      out.write("GET /slow HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII)); // and never the end
      out.flush();

      assertThat(slow.getInputStream().read()).as("closed by the relay, no answer").isEqualTo(-1);
      // The idle connection sent nothing for as long: it is kept, and serves a request now.
      idle.getOutputStream().write("GET /idle HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      assertThat(readUntil(idle.getInputStream(), "end\n")).startsWith("HTTP/1.1 200").contains("uri=/idle");
    }
  }

  @Test
  void aKeptAliveCallerDribblingItsNextRequestHeadIsCutOffToo() throws Exception {
    int port = startRelay("http://127.0.0.1:" + h1Port + "/", OriginSpec.DEFAULTS, null, "\"requestHeaderTimeoutSeconds\": 1,");
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      out.write("GET /first HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      assertThat(readUntil(s.getInputStream(), "end\n")).startsWith("HTTP/1.1 200").contains("uri=/first");

      out.write("GET /second HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII)); // and never the end
      out.flush();

      assertThat(s.getInputStream().read()).as("closed by the relay, no answer").isEqualTo(-1);
    }
  }

  @Test
  void aCallerThatHalfClosesAfterItsRequestStillGetsTheAnswer() throws Exception {
    int port = startRelay("http://127.0.0.1:" + h1Port + "/");
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write("GET /half-closed HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      s.shutdownOutput(); // as `nc -N` or an HTTP/1.0-era client does

      String out = readUntil(s.getInputStream(), null); // to the relay's close

      assertThat(out).startsWith("HTTP/1.1 200").contains("uri=/half-closed", "end\n");
    }
  }

  @Test
  void pipelinedRequestsSentBeforeAHalfCloseAreAllAnswered() throws Exception {
    int port = startRelay("http://127.0.0.1:" + h1Port + "/");
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(
          ("GET /first HTTP/1.1\r\nHost: x\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n"
                  + "GET /third HTTP/1.1\r\nHost: x\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      s.shutdownOutput();

      String out = readUntil(s.getInputStream(), null); // to the relay's close

      assertThat(out.split("(?=HTTP/1\\.1 )")).hasSize(3);
      assertThat(out).contains("uri=/first\n", "uri=/second\n", "uri=/third\n");
    }
  }

  @Test
  void noContentAndNotModifiedCarryNoBody() throws Exception {
    int port = startRelay("http://127.0.0.1:" + h1Port + "/");

    String out = raw(port, "GET /status/204 HTTP/1.1\r\nHost: x\r\n\r\nGET /status/304 HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n", "end\n");

    String[] responses = out.split("(?=HTTP/1\\.1 )");
    assertThat(responses).hasSize(3);
    assertThat(responses[0]).startsWith("HTTP/1.1 204").endsWith("\r\n\r\n").doesNotContainIgnoringCase("transfer-encoding");
    assertThat(responses[1]).startsWith("HTTP/1.1 304").endsWith("\r\n\r\n").doesNotContainIgnoringCase("transfer-encoding");
    assertThat(responses[2]).startsWith("HTTP/1.1 200").contains("uri=/after");
  }

  @Test
  void redirectsArePassedBackNotFollowed() throws Exception {
    int port = startRelay("http://127.0.0.1:" + h1Port + "/");

    String out = curl("http://127.0.0.1:" + port + "/redirect");

    assertThat(out).startsWith("HTTP/1.1 302").containsIgnoringCase("location: http://127.0.0.1:" + h1Port + "/elsewhere");
  }

  // ---- upstream failures (no nginx: these need an upstream that misbehaves on purpose) ----

  @Test
  void aSilentUpstreamGets504AfterTheResponseTimeoutAndOthersAreStillServed() throws Exception {
    try (ServerSocket silent = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      OriginSpec d = OriginSpec.DEFAULTS;
      OriginSpec quick = new OriginSpec(d.protocol(), null, null, null, Template.empty(), d.connectTimeout(),
          Duration.ofMillis(500), d.idleTimeout(), d.maxConnections(), d.forwardedHeaders(), d.via());
      int port = startRelay("http://127.0.0.1:" + silent.getLocalPort() + "/", quick, null);

      String out = curl("http://127.0.0.1:" + port + "/silent");

      assertThat(out).startsWith("HTTP/1.1 504").contains("\"error\":\"upstream_timeout\"");
    }
  }

  @Test
  void anUnreachableUpstreamGets502() throws Exception {
    int closedPort = NginxServer.freePort();
    int port = startRelay("http://127.0.0.1:" + closedPort + "/");

    assertThat(curl("http://127.0.0.1:" + port + "/nobody")).startsWith("HTTP/1.1 502").contains("\"error\":\"upstream_unreachable\"");
    assertThat(curl("--http2-prior-knowledge", "http://127.0.0.1:" + port + "/nobody")).startsWith("HTTP/2 502");
  }

  /**
   * Trailers reach the upstream, but not what the head may not forward: the caller's {@code Authorization}
   * (the relay injects its own), hop-by-hop fields, {@code Host}, {@code Content-Length}.
   */
  @Test
  void aChunkedRequestBodyAndItsTrailersReachTheUpstream() throws Exception {
    // A hand-written upstream that records the raw request: nginx does not show request trailers.
    try (ServerSocket upstream = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      CompletableFuture<String> received =
          CompletableFuture.supplyAsync(
              () -> {
                try (Socket s = upstream.accept()) {
                  String request = readUntil(s.getInputStream(), "\r\n0\r\nX-Digest: abc\r\n\r\n");
                  s.getOutputStream().write("HTTP/1.1 204 No Content\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                  s.getOutputStream().flush();
                  readUntil(s.getInputStream(), null);
                  return request;
                } catch (Exception e) {
                  throw new RuntimeException(e);
                }
              }, FIXTURES);
      int port = startRelay("http://127.0.0.1:" + upstream.getLocalPort() + "/");

      String out =
          raw(
              port,
              "POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: X-Digest\r\n\r\n"
                  + "5\r\nhello\r\n6\r\n world\r\n0\r\nX-Digest: abc\r\nAuthorization: Bearer caller-trailer-secret\r\n"
                  + "Proxy-Authorization: Basic dHJhaWxlcg==\r\nHost: evil.example\r\nContent-Length: 99\r\n\r\n",
              "\r\n\r\n");

      assertThat(out).startsWith("HTTP/1.1 204");
      relay.close();
      relay = null;
      String request = received.get(10, TimeUnit.SECONDS);
      assertThat(request).containsIgnoringCase("transfer-encoding: chunked").contains("hello").contains(" world")
          .endsWith("0\r\nX-Digest: abc\r\n\r\n")
          .doesNotContain("caller-trailer-secret").doesNotContain("dHJhaWxlcg==").doesNotContain("evil.example");
    }
  }

  @Test
  void responseTrailersReachTheCaller() throws Exception {
    // A hand-written upstream: nginx adds trailers only to responses it generates chunked, which its
    // echo and static files never are.
    try (ServerSocket upstream = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      CompletableFuture<Void> served =
          CompletableFuture.runAsync(
              () -> {
                try (Socket s = upstream.accept()) {
                  readUntil(s.getInputStream(), "\r\n\r\n");
                  s.getOutputStream().write(
                      ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
                              + "5\r\nhello\r\n0\r\nX-Checksum: 5d41402a\r\n\r\n")
                          .getBytes(StandardCharsets.US_ASCII));
                  s.getOutputStream().flush();
                  readUntil(s.getInputStream(), null);
                } catch (Exception e) {
                  throw new RuntimeException(e);
                }
              }, FIXTURES);
      int port = startRelay("http://127.0.0.1:" + upstream.getLocalPort() + "/");

      String out = raw(port, "GET /trailers HTTP/1.1\r\nHost: x\r\nTE: trailers\r\n\r\n", "X-Checksum: 5d41402a\r\n\r\n");

      assertThat(out).startsWith("HTTP/1.1 200").contains("hello").contains("\r\n0\r\nX-Checksum: 5d41402a\r\n\r\n");
      relay.close();
      relay = null;
      served.get(10, TimeUnit.SECONDS);
    }
  }
}
