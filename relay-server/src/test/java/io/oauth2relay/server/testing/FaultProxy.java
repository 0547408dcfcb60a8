package io.oauth2relay.server.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP proxy of the tests' own, put between the relay and an identity provider on loopback to break the
 * connection on demand: pass traffic through (optionally delayed), refuse connections (accept and reset),
 * or drop them (accept and never answer). It counts the HTTP requests that went through, by their request
 * lines, so a test can tell how often the relay called.
 */
public final class FaultProxy implements AutoCloseable {
  /** What happens to new connections (and to the bytes of open ones). */
  public enum Mode {
    PASS,
    REFUSE,
    DROP
  }

  private static final byte[][] METHODS = {
    "GET ".getBytes(StandardCharsets.US_ASCII), "POST ".getBytes(StandardCharsets.US_ASCII)
  };

  private final InetSocketAddress target;
  private final ServerSocket server;
  private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "fault-proxy");
    t.setDaemon(true);
    return t;
  });
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private final AtomicInteger requests = new AtomicInteger();
  private volatile Mode mode = Mode.PASS;
  private volatile long delayMillis;

  public FaultProxy(int targetPort) throws IOException {
    this.target = new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort);
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    threads.execute(this::acceptLoop);
  }

  public int port() {
    return server.getLocalPort();
  }

  /** Sets the mode; open connections are cut, so the next call meets the new mode. */
  public void mode(Mode mode) {
    this.mode = mode;
    for (Socket s : open) {
      closeQuietly(s);
    }
  }

  /** Delays every chunk passed through by this much. */
  public void delay(long millis) {
    this.delayMillis = millis;
  }

  /** HTTP requests seen going to the target (request lines starting with GET or POST). */
  public int requests() {
    return requests.get();
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      try {
        Socket client = server.accept();
        open.add(client);
        switch (mode) {
          case REFUSE -> {
            client.setSoLinger(true, 0); // a reset, as a refused or crashed peer gives
            closeQuietly(client);
          }
          case DROP -> threads.execute(() -> swallow(client));
          case PASS -> threads.execute(() -> connect(client));
        }
      } catch (IOException e) {
        return; // closed
      }
    }
  }

  private void swallow(Socket client) {
    try (client; InputStream in = client.getInputStream()) {
      in.transferTo(OutputStream.nullOutputStream());
    } catch (IOException e) {
      // cut by mode() or close()
    } finally {
      open.remove(client);
    }
  }

  private void connect(Socket client) {
    try {
      Socket upstream = new Socket();
      upstream.connect(target, 5_000);
      open.add(upstream);
      threads.execute(() -> pump(client, upstream, true));
      pump(upstream, client, false);
    } catch (IOException e) {
      closeQuietly(client);
    }
  }

  private void pump(Socket from, Socket to, boolean countRequests) {
    byte[] buffer = new byte[16 * 1024];
    try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
      for (int n; (n = in.read(buffer)) > 0; ) {
        if (mode == Mode.DROP) {
          continue;
        }
        if (countRequests && startsWithMethod(buffer, n)) {
          requests.incrementAndGet();
        }
        long delay = delayMillis;
        if (delay > 0) {
          Thread.sleep(delay);
        }
        out.write(buffer, 0, n);
        out.flush();
      }
    } catch (IOException | InterruptedException e) {
      // one side closed
    } finally {
      closeQuietly(from);
      closeQuietly(to);
      open.remove(from);
      open.remove(to);
    }
  }

  private static boolean startsWithMethod(byte[] b, int n) {
    outer:
    for (byte[] m : METHODS) {
      if (n < m.length) {
        continue;
      }
      for (int i = 0; i < m.length; i++) {
        if (b[i] != m[i]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException e) {
      // already closed
    }
  }

  @Override
  public void close() {
    try {
      server.close();
    } catch (IOException e) {
      // already closed
    }
    for (Socket s : open) {
      closeQuietly(s);
    }
    threads.shutdownNow();
  }
}
