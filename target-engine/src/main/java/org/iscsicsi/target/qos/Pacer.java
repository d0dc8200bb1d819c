package org.iscsicsi.target.qos;

/**
 * One token bucket, kept as a theoretical arrival time (the generic cell rate algorithm, which is
 * a token bucket without a refill loop): {@code schedule} is when the bucket would be full again
 * if nothing more were taken. A command may start once the schedule is no more than the burst
 * ahead of the clock; its cost moves the schedule on by {@code cost / rate}. So an idle bucket
 * lets {@code rate x burst} pass at once, and over any long window no more than the rate passes.
 * A command costlier than the whole burst still starts (on an idle bucket) and delays the ones
 * after it instead.
 *
 * <p>Not thread-safe: {@link LunThrottle} holds its lock around each decision.
 */
final class Pacer {

  private static final long NANOS_PER_SECOND = 1_000_000_000L;

  private final long rate;
  private final long burstNanos;
  private long schedule = Long.MIN_VALUE;

  /**
   * @param rate units (commands or bytes) per second, above 0
   */
  Pacer(long rate, long burstNanos) {
    this.rate = rate;
    this.burstNanos = burstNanos;
  }

  /** Nanoseconds from {@code now} until a command may start (0: at once). */
  long delay(long now) {
    long base = Math.max(schedule, now);
    return Math.max(0, base - burstNanos - now);
  }

  /** Takes {@code cost} units for a command that starts at {@code start}. */
  void take(long start, int cost) {
    // an int cost times 10^9 stays below 2^63
    schedule = Math.max(schedule, start) + cost * NANOS_PER_SECOND / rate;
  }
}
