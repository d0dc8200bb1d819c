package org.iscsicsi.target.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

/**
 * Per-source and total bounds: a source at its limit is refused while others are not, the total
 * caps all sources together, releases free slots, and sources holding nothing leave the map.
 */
class SourceCounterTest {

  @Test
  void perSourceAndTotalLimits() throws Exception {
    SourceCounter c = new SourceCounter(2, 3);
    InetAddress a = InetAddress.getByName("192.0.2.1");
    InetAddress b = InetAddress.getByName("192.0.2.2");
    assertThat(c.acquire(a)).isTrue();
    assertThat(c.acquire(a)).isTrue();
    assertThat(c.acquire(a)).as("per source").isFalse();
    assertThat(c.acquire(b)).isTrue();
    assertThat(c.acquire(b)).as("total").isFalse();
    c.release(a);
    assertThat(c.acquire(b)).isTrue();
    c.release(a);
    c.release(b);
    c.release(b);
    assertThat(c.total()).isZero();
    assertThat(c.sources()).isZero();
    assertThatThrownBy(() -> c.release(a)).isInstanceOf(IllegalStateException.class);
  }
}
