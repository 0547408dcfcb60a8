package io.oauth2relay.server.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails the test class in which Netty reports a leaked buffer. Loaded for every test class through
 * JUnit's extension auto-detection ({@code junit-platform.properties}), so no test can forget it; the test
 * JVMs run with {@code -Dio.netty.leakDetection.level=paranoid}, so every buffer is tracked.
 *
 * <p>Netty only finds a leak when the garbage collector has cleared a buffer that was never released,
 * and it reports it at a later allocation. After each class this runs a collection and allocates, so a
 * leak is reported by the class that caused it or, at worst, by the next one.
 */
public final class LeakCheck implements AfterAllCallback {
  private static final List<String> LEAKS = new ArrayList<>();

  static {
    // Must run before Netty creates its detectors (on the first buffer class initialisation): JUnit
    // instantiates auto-detected extensions before it runs any test.
    ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(
        new ResourceLeakDetectorFactory() {
          @Override
          @SuppressWarnings("deprecation")
          public <T> ResourceLeakDetector<T> newResourceLeakDetector(
              Class<T> resource, int samplingInterval, long maxActive) {
            return new ResourceLeakDetector<>(resource, samplingInterval) {
              @Override
              protected void reportTracedLeak(String resourceType, String records) {
                record(resourceType + records);
                super.reportTracedLeak(resourceType, records);
              }

              @Override
              protected void reportUntracedLeak(String resourceType) {
                record(resourceType);
                super.reportUntracedLeak(resourceType);
              }
            };
          }
        });
  }

  private static void record(String leak) {
    synchronized (LEAKS) {
      LEAKS.add(leak);
    }
  }

  @Override
  public void afterAll(ExtensionContext context) throws InterruptedException {
    List<String> found = collect();
    if (!found.isEmpty()) {
      throw new AssertionError(
          found.size() + " Netty buffer leak(s) reported during or just before "
              + context.getDisplayName() + ":\n" + String.join("\n---\n", found));
    }
  }

  /** Collects garbage, gives the detectors a chance to report, and returns (and forgets) every leak reported. */
  static List<String> collect() throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(20);
      // The detector looks at its reference queue when it tracks a new buffer.
      ByteBuf probe = PooledByteBufAllocator.DEFAULT.buffer(16);
      probe.release();
    }
    synchronized (LEAKS) {
      List<String> found = List.copyOf(LEAKS);
      LEAKS.clear();
      return found;
    }
  }
}
