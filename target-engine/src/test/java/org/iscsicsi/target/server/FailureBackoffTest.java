package org.iscsicsi.target.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The failed-authentication backoff on a fake clock: N failures within the window block that
 * address (and only it) for the first backoff, each further failure doubles it up to the maximum,
 * failures outside the window do not add up, and the table stays within its cap and forgets
 * addresses whose backoff is long over.
 */
class FailureBackoffTest {

  final AtomicLong now = new AtomicLong(1_000_000_000L);
  final AdmissionLimits limits = AdmissionLimits.defaults().withBackoff(3, Duration.ofSeconds(60),
      Duration.ofSeconds(2), Duration.ofSeconds(16));

  static InetAddress ip(String a) throws Exception {
    return InetAddress.getByName(a);
  }

  void advance(Duration d) {
    now.addAndGet(d.toNanos());
  }

  @Test
  void blocksAfterThresholdAndDoublesUpToTheMaximum() throws Exception {
    FailureBackoff b = new FailureBackoff(limits, now::get);
    InetAddress a = ip("192.0.2.1");
    b.failed(a);
    b.failed(a);
    assertThat(b.blockedForNanos(a)).isZero();
    b.failed(a);
    assertThat(b.blockedForNanos(a)).isEqualTo(Duration.ofSeconds(2).toNanos());
    assertThat(b.blockedForNanos(ip("192.0.2.2"))).as("another address").isZero();
    advance(Duration.ofSeconds(2));
    assertThat(b.blockedForNanos(a)).isZero();
    long[] expected = {4, 8, 16, 16};
    for (long seconds : expected) {
      b.failed(a);
      assertThat(b.blockedForNanos(a)).isEqualTo(Duration.ofSeconds(seconds).toNanos());
      advance(Duration.ofSeconds(seconds));
    }
  }

  @Test
  void failuresOutsideTheWindowDoNotAddUp() throws Exception {
    FailureBackoff b = new FailureBackoff(limits, now::get);
    InetAddress a = ip("192.0.2.3");
    for (int i = 0; i < 10; i++) {
      b.failed(a);
      advance(Duration.ofSeconds(31)); // two failures per window at most
      assertThat(b.blockedForNanos(a)).isZero();
    }
  }

  @Test
  void theTableIsCappedAndForgetsOldSources() throws Exception {
    AdmissionLimits small = new AdmissionLimits(64, 256, 8, 3, Duration.ofSeconds(60),
        Duration.ofSeconds(2), Duration.ofSeconds(16), 100);
    FailureBackoff b = new FailureBackoff(small, now::get);
    for (int i = 0; i < 1000; i++) {
      b.failed(ip("10.0." + (i / 250) + "." + (i % 250)));
    }
    assertThat(b.trackedSources()).isEqualTo(100);
    advance(Duration.ofMinutes(10));
    b.failed(ip("192.0.2.9"));
    assertThat(b.trackedSources()).as("stale records dropped on insert").isEqualTo(1);
  }
}
