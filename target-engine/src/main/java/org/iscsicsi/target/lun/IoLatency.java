package org.iscsicsi.target.lun;

import java.util.concurrent.atomic.LongAdder;

/**
 * A lock-free latency histogram of one kind of I/O on one LUN, with fixed bucket bounds from 25 us
 * to 2.5 s. Recording is two {@link LongAdder} increments (no lock, no allocation), so it sits on
 * the I/O path; {@link #snapshot()} reads it at scrape time for the Prometheus histogram
 * {@code iscsi_lun_io_latency_seconds}.
 */
public final class IoLatency {

  /** Upper bounds in seconds of the finite buckets (the last, +Inf, is implicit). */
  public static final double[] BOUNDS_SECONDS = {
      0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
      0.25, 0.5, 1.0, 2.5};

  private static final long[] BOUNDS_NANOS = new long[BOUNDS_SECONDS.length];

  static {
    for (int i = 0; i < BOUNDS_SECONDS.length; i++) {
      BOUNDS_NANOS[i] = Math.round(BOUNDS_SECONDS[i] * 1e9);
    }
  }

  private final LongAdder[] buckets = new LongAdder[BOUNDS_SECONDS.length + 1];
  private final LongAdder sumNanos = new LongAdder();

  public IoLatency() {
    for (int i = 0; i < buckets.length; i++) {
      buckets[i] = new LongAdder();
    }
  }

  /** Records one I/O that took {@code nanos}. */
  public void record(long nanos) {
    int i = 0;
    while (i < BOUNDS_NANOS.length && nanos > BOUNDS_NANOS[i]) {
      i++;
    }
    buckets[i].increment();
    sumNanos.add(nanos);
  }

  /**
   * The counts so far: {@code counts[i]} I/Os took at most {@code BOUNDS_SECONDS[i]} and more than
   * the bound before (not cumulative); the last entry counts those above every bound.
   */
  public Snapshot snapshot() {
    long[] counts = new long[buckets.length];
    for (int i = 0; i < counts.length; i++) {
      counts[i] = buckets[i].sum();
    }
    return new Snapshot(counts, sumNanos.sum() / 1e9);
  }

  /** Per-bucket counts (not cumulative) and the sum of all latencies in seconds. */
  public record Snapshot(long[] counts, double sumSeconds) {

    public long count() {
      long n = 0;
      for (long c : counts) {
        n += c;
      }
      return n;
    }
  }
}
