package io.oauth2relay.server.testing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A real nginx (Debian's package, installed by {@code .ci/run}) started on loopback for a test, as the
 * upstream API: it speaks HTTP/1.1, HTTP/2 (h2c prior knowledge, or ALPN over TLS) and mutual TLS, and
 * its {@code return} directive echoes what it received, so a test sees exactly what the relay forwarded.
 */
public final class NginxServer implements AutoCloseable {
  private final Process process;
  private final Path dir;

  private NginxServer(Process process, Path dir) {
    this.process = process;
    this.dir = dir;
  }

  /** A free loopback port (closed again at once: nginx binds it a moment later). */
  public static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /**
   * Starts nginx with {@code servers} (one or more {@code server { ... }} blocks) in {@code dir}, and waits
   * until every port in {@code ports} accepts connections.
   */
  public static NginxServer start(Path dir, String servers, int... ports) throws Exception {
    Path nginx = Path.of("/usr/sbin/nginx");
    if (!Files.isExecutable(nginx)) {
      throw new IllegalStateException("nginx is not installed (.ci/run installs it: apt-get install nginx)");
    }
    Files.createDirectories(dir.resolve("tmp"));
    String conf =
        """
        user root;
        daemon off;
        master_process off;
        worker_processes 1;
        pid nginx.pid;
        error_log error.log warn;
        events { worker_connections 4096; }
        http {
          access_log off;
          client_body_temp_path tmp/body;
          proxy_temp_path tmp/proxy;
          fastcgi_temp_path tmp/fastcgi;
          uwsgi_temp_path tmp/uwsgi;
          scgi_temp_path tmp/scgi;
          default_type text/plain;
          keepalive_requests 100000;
        %s
        }
        """
            .formatted(servers);
    Path file = Files.writeString(dir.resolve("nginx.conf"), conf);
    Process p =
        new ProcessBuilder(nginx.toString(), "-p", dir.toString(), "-c", file.toString())
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("stdout.log").toFile())
            .start();
    NginxServer server = new NginxServer(p, dir);
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    for (int port : ports) {
      while (!accepts(port)) {
        if (!p.isAlive() || System.nanoTime() > deadline) {
          server.close();
          throw new IllegalStateException("nginx did not start: " + Files.readString(dir.resolve("stdout.log"))
              + (Files.exists(dir.resolve("error.log")) ? Files.readString(dir.resolve("error.log")) : ""));
        }
        Thread.sleep(20);
      }
    }
    return server;
  }

  private static boolean accepts(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 200);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** nginx's error log so far (for a failing assertion's message). */
  public String errorLog() throws IOException {
    Path log = dir.resolve("error.log");
    return Files.exists(log) ? Files.readString(log) : "";
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(5, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
    }
  }
}
