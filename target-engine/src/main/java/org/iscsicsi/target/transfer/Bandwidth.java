package org.iscsicsi.target.transfer;

import java.util.concurrent.TimeUnit;

/**
 * The engine's transfer bandwidth, shared by every transfer it sends: each region waits until
 * the bytes before it have had their time at the configured rate (a pacing clock, so the rate
 * holds on average over any stretch longer than one region's share, with no burst beyond one
 * region).
 */
public final class Bandwidth {

  /** The default of {@code --transfer-bandwidth}: 100 MiB/s. */
  public static final long DEFAULT_BYTES_PER_SECOND = 100L << 20;

  private final long bytesPerSecond;
  private long nextFreeNanos = System.nanoTime();

  public Bandwidth(long bytesPerSecond) {
    if (bytesPerSecond <= 0) {
      throw new IllegalArgumentException("transfer bandwidth must be positive: "
          + bytesPerSecond);
    }
    this.bytesPerSecond = bytesPerSecond;
  }

  public long bytesPerSecond() {
    return bytesPerSecond;
  }

  /** Waits until {@code bytes} may be sent. */
  public void acquire(long bytes) throws InterruptedException {
    long start;
    synchronized (this) {
      long now = System.nanoTime();
      start = Math.max(now, nextFreeNanos);
      nextFreeNanos = start + TimeUnit.SECONDS.toNanos(1) * bytes / bytesPerSecond;
    }
    long wait = start - System.nanoTime();
    if (wait > 0) {
      TimeUnit.NANOSECONDS.sleep(wait);
    }
  }
}
