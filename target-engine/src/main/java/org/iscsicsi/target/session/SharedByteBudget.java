package org.iscsicsi.target.session;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The bytes every connection of one engine may buffer together for its tasks (Data-Out being
 * gathered, Data-In not yet handed to the socket). Each connection's own budget
 * ({@link DataPathLimits#maxBytesInFlight}) bounds one connection; this bounds their sum, so that
 * many authenticated connections cannot together exhaust the engine's direct memory. Shared by
 * the event loops, so lock-free.
 */
public final class SharedByteBudget {

  /** Never below one connection's default budget, so a lone connection keeps all of it. */
  private static final long MIN_CAPACITY = DataPathLimits.DEFAULTS.maxBytesInFlight();
  private static final long MAX_DEFAULT_CAPACITY = 1L << 30;
  /** The share of the JVM's memory limit the default gives to buffered task data. */
  private static final int DEFAULT_SHARE_DIVISOR = 4;

  private final long capacity;
  private final AtomicLong reserved = new AtomicLong();

  public SharedByteBudget(long capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be positive: " + capacity);
    }
    this.capacity = capacity;
  }

  /**
   * A quarter of the JVM's maximum heap (netty's direct memory limit follows it by default), at
   * least one connection's budget and at most 1 GiB.
   */
  public static SharedByteBudget forThisJvm() {
    long share = Runtime.getRuntime().maxMemory() / DEFAULT_SHARE_DIVISOR;
    return new SharedByteBudget(Math.clamp(share, MIN_CAPACITY, MAX_DEFAULT_CAPACITY));
  }

  public long capacity() {
    return capacity;
  }

  public long reserved() {
    return reserved.get();
  }

  /** Takes {@code bytes} if they fit; nothing otherwise. Zero always fits. */
  boolean tryReserve(long bytes) {
    if (bytes == 0) {
      return true;
    }
    long now;
    do {
      now = reserved.get();
      if (now + bytes > capacity) {
        return false;
      }
    } while (!reserved.compareAndSet(now, now + bytes));
    return true;
  }

  void release(long bytes) {
    if (bytes != 0) {
      reserved.addAndGet(-bytes);
    }
  }
}
