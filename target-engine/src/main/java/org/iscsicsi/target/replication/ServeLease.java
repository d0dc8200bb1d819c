package org.iscsicsi.target.replication;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * A primary's serve lease (docs/replication.md section 4), on the monotonic clock: it runs
 * {@link #SERVE_LEASE} from the send time of the latest heartbeat or data frame that every
 * in-sync member acked; a primary alone in sync instead runs {@link #ENGINE_LEASE} from the send
 * time of its latest successful engine-Lease renewal. A new primary serves only after its own
 * last ack to the old primary plus {@code 1.1 × SERVE_LEASE + 100 ms} (skipped when the old one
 * stepped down or restarted), so the old primary's lease, measured on its own clock, has lapsed
 * by then. Until one of these grants it, nothing is served.
 */
public final class ServeLease {

  public static final Duration SERVE_LEASE = Duration.ofSeconds(3);
  public static final Duration ENGINE_LEASE = Duration.ofSeconds(6);
  /** Clock-rate drift allowance and margin of the new primary's wait. */
  static final double DRIFT = 1.1;
  static final Duration MARGIN = Duration.ofMillis(100);

  private final LongSupplier nanos;
  /** End of the lease (monotonic nanos); only valid while {@link #granted}. */
  private long until;
  private boolean granted;
  /** The new primary's wait: nothing is served before this. */
  private long notBefore;
  private boolean waiting;

  /** A lease on the system's monotonic clock. */
  public ServeLease() {
    this(System::nanoTime);
  }

  /** A lease on {@code nanos} (a fake clock in tests). */
  public ServeLease(LongSupplier nanos) {
    this.nanos = nanos;
  }

  /** Every in-sync member acked a frame sent at {@code sentNanos}. */
  public synchronized void ackedByAll(long sentNanos) {
    extend(sentNanos + SERVE_LEASE.toNanos());
  }

  /** Alone in sync: the engine Lease was renewed by a request sent at {@code sentNanos}. */
  public synchronized void renewedAlone(long sentNanos) {
    extend(sentNanos + ENGINE_LEASE.toNanos());
  }

  /**
   * Becoming primary after a promotion: this engine last acked the old primary at
   * {@code lastAckNanos}; nothing is served before that plus {@code 1.1 × SERVE_LEASE + 100 ms}.
   */
  public synchronized void waitOutPredecessor(long lastAckNanos) {
    notBefore = lastAckNanos + (long) (DRIFT * SERVE_LEASE.toNanos()) + MARGIN.toNanos();
    waiting = true;
  }

  /** How long the new primary's wait still runs (zero when over or never set). */
  public synchronized Duration predecessorWait() {
    long left = waiting ? notBefore - nanos.getAsLong() : 0;
    return left > 0 ? Duration.ofNanos(left) : Duration.ZERO;
  }

  /** The lease lapses now (a membership change, a step-down). */
  public synchronized void revoke() {
    granted = false;
  }

  /** Whether commands may be served now. */
  public synchronized boolean valid() {
    long now = nanos.getAsLong();
    if (waiting) {
      if (now - notBefore < 0) {
        return false;
      }
      waiting = false;
    }
    return granted && now - until < 0;
  }

  /** How long the lease still runs (zero when lapsed). */
  public synchronized Duration remaining() {
    if (!valid()) {
      return Duration.ZERO;
    }
    return Duration.ofNanos(until - nanos.getAsLong());
  }

  private void extend(long end) {
    if (!granted || end - until > 0) {
      until = end;
    }
    granted = true;
  }
}
