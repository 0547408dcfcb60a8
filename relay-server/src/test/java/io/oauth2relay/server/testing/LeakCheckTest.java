package io.oauth2relay.server.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import org.junit.jupiter.api.Test;

/** The leak check sees a leak: without this, a green build would prove nothing about reference counts. */
class LeakCheckTest {
  @Test
  void aBufferThatIsNeverReleasedIsReported() throws Exception {
    leakOne();
    assertThat(LeakCheck.collect()).anySatisfy(leak -> assertThat(leak).contains("ByteBuf"));
  }

  @Test
  void releasedBuffersAreNotReported() throws Exception {
    LeakCheck.collect(); // whatever earlier tests left
    ByteBuf b = PooledByteBufAllocator.DEFAULT.buffer(64);
    b.writeLong(42);
    b.release();
    assertThat(LeakCheck.collect()).isEmpty();
  }

  private static void leakOne() {
    ByteBuf leaked = PooledByteBufAllocator.DEFAULT.buffer(64);
    leaked.writeLong(7); // and dropped without release()
  }
}
