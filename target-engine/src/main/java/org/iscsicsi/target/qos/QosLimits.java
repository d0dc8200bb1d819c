package org.iscsicsi.target.qos;

import java.util.ArrayList;
import java.util.List;

/**
 * A LUN's I/O limits: READ and WRITE commands per second and bytes per second, each direction on
 * its own, with a burst. Zero means no limit for that figure; {@link #NONE} limits nothing.
 *
 * @param burstMillis how far ahead of its rate a LUN may run after a quiet spell: up to
 *     {@code rate x burstMillis / 1000} commands or bytes pass without delay (the depth of the
 *     token bucket); 0 paces every command at the rate
 */
public record QosLimits(long readIops, long writeIops, long readBytesPerSecond,
    long writeBytesPerSecond, long burstMillis) {

  /** No limit at all. */
  public static final QosLimits NONE = new QosLimits(0, 0, 0, 0, 0);
  /** The largest rate accepted: beyond it a limit would never hold a command back. */
  public static final long MAX_RATE = 1L << 40;
  /** The longest burst accepted (one hour). */
  public static final long MAX_BURST_MILLIS = 3_600_000;
  /**
   * The smallest byte rate accepted: one second of it must carry a command of 64 KiB, or a
   * limit would hold typical requests for longer than initiators wait.
   */
  public static final long MIN_BYTES_PER_SECOND = 64 * 1024;

  /**
   * @throws IllegalArgumentException naming the first figure out of range
   */
  public QosLimits {
    List<String> problems = new ArrayList<>();
    rate(problems, "read IOPS", readIops, 1);
    rate(problems, "write IOPS", writeIops, 1);
    rate(problems, "read bytes per second", readBytesPerSecond, MIN_BYTES_PER_SECOND);
    rate(problems, "write bytes per second", writeBytesPerSecond, MIN_BYTES_PER_SECOND);
    if (burstMillis < 0 || burstMillis > MAX_BURST_MILLIS) {
      problems.add("burst must be 0 to " + MAX_BURST_MILLIS + " ms, not " + burstMillis);
    }
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(String.join("; ", problems));
    }
  }

  private static void rate(List<String> problems, String what, long value, long min) {
    if (value != 0 && (value < min || value > MAX_RATE)) {
      problems.add(what + " must be 0 (no limit) or " + min + " to " + MAX_RATE + ", not "
          + value);
    }
  }

  /** Whether any figure is limited. */
  public boolean limited() {
    return readIops != 0 || writeIops != 0 || readBytesPerSecond != 0 || writeBytesPerSecond != 0;
  }

  @Override
  public String toString() {
    if (!limited()) {
      return "no limits";
    }
    StringBuilder b = new StringBuilder();
    append(b, "read IOPS", readIops);
    append(b, "write IOPS", writeIops);
    append(b, "read B/s", readBytesPerSecond);
    append(b, "write B/s", writeBytesPerSecond);
    return b.append(", burst ").append(burstMillis).append(" ms").toString();
  }

  private static void append(StringBuilder b, String what, long value) {
    if (value != 0) {
      b.append(b.isEmpty() ? "" : ", ").append(what).append(' ').append(value);
    }
  }
}
