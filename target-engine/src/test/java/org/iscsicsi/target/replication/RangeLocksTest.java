package org.iscsicsi.target.replication;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Range locks of the primary: overlapping ranges are serialized in arrival order (a later
 * overlapping request waits for an earlier one even while that one itself waits), disjoint and
 * adjacent ranges are held at once, and an interrupted waiter leaves nothing behind.
 */
class RangeLocksTest {

  @Test
  void disjointAndAdjacentRangesAreHeldTogether() throws Exception {
    RangeLocks locks = new RangeLocks();
    try (var a = locks.lock(0, 4096); var b = locks.lock(4096, 4096);
        var c = locks.lock(1 << 20, 512)) {
      assertThat(locks.size()).isEqualTo(3);
    }
    assertThat(locks.size()).isZero();
  }

  @Test
  void anOverlappingRangeWaitsForTheHolder() throws Exception {
    RangeLocks locks = new RangeLocks();
    RangeLocks.Range held = locks.lock(0, 8192);
    CountDownLatch got = new CountDownLatch(1);
    Thread t = Thread.ofVirtual().start(() -> {
      try (var r = locks.lock(4096, 4096)) {
        got.countDown();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    assertThat(got.await(300, TimeUnit.MILLISECONDS)).as("waits while overlapped").isFalse();
    held.close();
    assertThat(got.await(5, TimeUnit.SECONDS)).isTrue();
    t.join();
    assertThat(locks.size()).isZero();
  }

  @Test
  void overlappingRequestsAreGrantedInArrivalOrder() throws Exception {
    RangeLocks locks = new RangeLocks();
    List<String> order = new CopyOnWriteArrayList<>();
    RangeLocks.Range first = locks.lock(0, 4096);
    // "big" overlaps first and arrives before "small", which overlaps only big
    Thread big = Thread.ofVirtual().start(() -> hold(locks, 0, 16384, "big", order));
    awaitSize(locks, 2);
    Thread small = Thread.ofVirtual().start(() -> hold(locks, 8192, 512, "small", order));
    awaitSize(locks, 3);
    await("small waits behind big, which waits").during(Duration.ofMillis(200))
        .atMost(Duration.ofSeconds(1)).until(order::isEmpty);
    first.close();
    big.join(5000);
    small.join(5000);
    assertThat(order).containsExactly("big", "small");
  }

  @Test
  void anInterruptedWaiterLeavesNothing() throws Exception {
    RangeLocks locks = new RangeLocks();
    RangeLocks.Range held = locks.lock(0, 4096);
    Thread t = Thread.ofVirtual().start(() -> {
      try {
        locks.lock(0, 4096).close();
      } catch (InterruptedException e) {
        // expected
      }
    });
    awaitSize(locks, 2);
    t.interrupt();
    t.join(5000);
    assertThat(locks.size()).isEqualTo(1);
    held.close();
    assertThat(locks.awaitIdle(1000)).isTrue();
    assertThatThrownBy(() -> locks.lock(0, 0)).isInstanceOf(IllegalArgumentException.class);
  }

  private static void hold(RangeLocks locks, long offset, long length, String name,
      List<String> order) {
    try (var r = locks.lock(offset, length)) {
      order.add(name);
      Thread.sleep(50);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void awaitSize(RangeLocks locks, int n) {
    await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(5))
        .until(locks::size, size -> size >= n);
    assertThat(locks.size()).isEqualTo(n);
  }
}
