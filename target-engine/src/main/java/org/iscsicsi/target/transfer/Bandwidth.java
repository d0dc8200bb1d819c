package org.iscsicsi.target.transfer;

import java.util.concurrent.TimeUnit;

/**
 * The engine's transfer bandwidth, shared by every transfer it sends: a token bucket holding at
 * most one region's worth, so over any stretch of time T at most {@code rate × T} plus one region
 * is sent, and the pause of the dialogue between two regions (the destination's write, sync and
 * answer) is absorbed by that one region of credit instead of lowering the rate.
 */
public final class Bandwidth {

  /** The default of {@code --transfer-bandwidth}: 100 MiB/s. */
  public static final long DEFAULT_BYTES_PER_SECOND = 100L << 20;

  private final long bytesPerSecond;
  private long nextFreeNanos = System.nanoTime();

  private final long burstNanos;

  public Bandwidth(long bytesPerSecond) {
    if (bytesPerSecond <= 0) {
      throw new IllegalArgumentException("transfer bandwidth must be positive: "
          + bytesPerSecond);
    }
    this.bytesPerSecond = bytesPerSecond;
    this.burstNanos = nanosFor(Frame.REGION_BYTES);
  }

  private long nanosFor(long bytes) {
    return TimeUnit.SECONDS.toNanos(1) * bytes / bytesPerSecond;
  }

  public long bytesPerSecond() {
    return bytesPerSecond;
  }

  /** Waits until {@code bytes} may be sent. */
  public void acquire(long bytes) throws InterruptedException {
    long start;
    synchronized (this) {
      long now = System.nanoTime();
      // unused time earns credit, up to one region
      nextFreeNanos = Math.max(nextFreeNanos, now - burstNanos);
      start = Math.max(now, nextFreeNanos);
      nextFreeNanos += nanosFor(bytes);
    }
    long wait = start - System.nanoTime();
    if (wait > 0) {
      TimeUnit.NANOSECONDS.sleep(wait);
    }
  }
}
