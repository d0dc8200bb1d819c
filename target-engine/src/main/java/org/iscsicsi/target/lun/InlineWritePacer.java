package org.iscsicsi.target.lun;

import java.util.concurrent.TimeUnit;

/**
 * Decides whether a write may run on the caller's thread (a netty event loop): yes until one
 * such write is slow (the page cache throttling writers, say), then no for a while. Linux has no
 * RWF_NOWAIT for buffered writes on ext4, hence the heuristic.
 */
final class InlineWritePacer {

  /** An inline write slower than this sends writes to I/O threads for a while. */
  static final long INLINE_SLOW_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
  /** How long writes stay off the caller's thread after a slow inline write. */
  static final long INLINE_PAUSE_NANOS = TimeUnit.SECONDS.toNanos(1);

  /** Inline writes are declined until this {@link System#nanoTime} after a slow one. */
  private volatile long pausedUntil = System.nanoTime();

  /** Whether a write starting at {@link System#nanoTime} {@code now} may run inline. */
  boolean allows(long now) {
    return now - pausedUntil >= 0;
  }

  /**
   * Notes an inline write that began at {@code started}; true when it was slow and writes now
   * go to I/O threads for {@link #INLINE_PAUSE_NANOS}.
   */
  boolean slowed(long started) {
    long now = System.nanoTime();
    if (now - started > INLINE_SLOW_NANOS) {
      pausedUntil = now + INLINE_PAUSE_NANOS;
      return true;
    }
    return false;
  }
}
