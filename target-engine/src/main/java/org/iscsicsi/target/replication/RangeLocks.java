package org.iscsicsi.target.replication;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Byte-range locks of a replicated LUN's primary (docs/replication.md section 2, rule 1): a
 * write locks its range before it gets its sequence number, overlapping ranges wait, disjoint
 * ones run concurrently. So at most one write per block is in flight and every member applies
 * overlapping writes in the primary's order. Requests are granted in arrival order among those
 * that overlap (a request waits for every earlier overlapping one, held or waiting), so a long
 * stream of small writes cannot starve a large one.
 */
public final class RangeLocks {

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  /** Held and waiting ranges in arrival order. */
  private final List<Range> ranges = new ArrayList<>();

  /** A held range; closing releases it. */
  public final class Range implements AutoCloseable {
    private final long start;
    private final long end;
    private boolean released;

    private Range(long start, long end) {
      this.start = start;
      this.end = end;
    }

    boolean overlaps(Range o) {
      return start < o.end && o.start < end;
    }

    @Override
    public void close() {
      lock.lock();
      try {
        if (!released) {
          released = true;
          ranges.remove(this);
          changed.signalAll();
        }
      } finally {
        lock.unlock();
      }
    }
  }

  /** Locks {@code [offset, offset + length)}, waiting for every earlier overlapping range. */
  public Range lock(long offset, long length) throws InterruptedException {
    if (offset < 0 || length <= 0) {
      throw new IllegalArgumentException("range " + offset + "+" + length);
    }
    Range r = new Range(offset, offset + length);
    lock.lock();
    try {
      ranges.add(r);
      try {
        while (blocked(r)) {
          changed.await();
        }
      } catch (InterruptedException e) {
        ranges.remove(r);
        changed.signalAll();
        throw e;
      }
      return r;
    } finally {
      lock.unlock();
    }
  }

  /** Ranges held or waiting (for tests and metrics). */
  public int size() {
    lock.lock();
    try {
      return ranges.size();
    } finally {
      lock.unlock();
    }
  }

  /** Waits up to {@code millis} until nothing is held (a quiesce point for tests). */
  boolean awaitIdle(long millis) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    lock.lock();
    try {
      while (!ranges.isEmpty()) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        changed.awaitNanos(left);
      }
      return true;
    } finally {
      lock.unlock();
    }
  }

  private boolean blocked(Range r) {
    for (Range earlier : ranges) {
      if (earlier == r) {
        return false;
      }
      if (earlier.overlaps(r)) {
        return true;
      }
    }
    return false;
  }
}
