package org.iscsicsi.target.replication;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The serve lease on a fake monotonic clock: it runs 3 s from the send time (not the ack time)
 * of the latest frame every in-sync member acked, lapses after, never shrinks by an older ack;
 * a lone primary's runs 6 s from its engine-Lease renewal's send time; a new primary serves only
 * 1.1 × 3 s + 100 ms after its own last ack to the old primary, by which time the old primary's
 * lease (from an earlier send) has lapsed; a revoked lease serves nothing.
 */
class ServeLeaseTest {

  final AtomicLong now = new AtomicLong(1_000_000_000L);
  final ServeLease lease = new ServeLease(now::get);

  void at(long millis) {
    now.set(1_000_000_000L + Duration.ofMillis(millis).toNanos());
  }

  long t(long millis) {
    return 1_000_000_000L + Duration.ofMillis(millis).toNanos();
  }

  @Test
  void nothingIsServedBeforeTheFirstAck() {
    assertThat(lease.valid()).isFalse();
    assertThat(lease.remaining()).isZero();
  }

  @Test
  void runsFromTheSendTimeOfTheLatestFrameAllAcked() {
    at(200); // the ack of a heartbeat sent at 0 arrives at 200 ms
    lease.ackedByAll(t(0));
    assertThat(lease.valid()).isTrue();
    assertThat(lease.remaining()).isEqualTo(Duration.ofMillis(2800));
    at(2999);
    assertThat(lease.valid()).isTrue();
    at(3000);
    assertThat(lease.valid()).as("3 s after the send, not after the ack").isFalse();
    lease.ackedByAll(t(2500));
    assertThat(lease.valid()).isTrue();
    lease.ackedByAll(t(100)); // a late ack of an older frame does not shorten it
    at(5499);
    assertThat(lease.valid()).isTrue();
    at(5500);
    assertThat(lease.valid()).isFalse();
  }

  @Test
  void aLonePrimaryRunsOnItsEngineLease() {
    lease.renewedAlone(t(0));
    at(5999);
    assertThat(lease.valid()).isTrue();
    at(6000);
    assertThat(lease.valid()).isFalse();
    lease.renewedAlone(t(2000));
    at(7999);
    assertThat(lease.valid()).isTrue();
  }

  @Test
  void theNewPrimaryWaitsOutTheOldOnesLease() {
    // the old primary's lease ran at most 3 s from a send earlier than this member's last ack
    ServeLease old = new ServeLease(now::get);
    old.ackedByAll(t(0));
    long lastAckToOld = t(50);
    lease.waitOutPredecessor(lastAckToOld);
    assertThat(lease.predecessorWait()).isEqualTo(Duration.ofMillis(3450));
    at(100);
    lease.ackedByAll(t(100)); // its own members ack at once
    at(3349);
    assertThat(lease.valid()).as("before 50 ms + 3.3 s + 100 ms").isFalse();
    assertThat(old.valid()).as("the old lease lapsed before").isFalse();
    lease.ackedByAll(t(3300));
    at(3450);
    assertThat(lease.valid()).isTrue();
  }

  @Test
  void aRevokedLeaseServesNothingUntilTheNextAck() {
    lease.ackedByAll(t(0));
    lease.revoke();
    assertThat(lease.valid()).isFalse();
    lease.ackedByAll(t(10));
    assertThat(lease.valid()).isTrue();
  }
}
