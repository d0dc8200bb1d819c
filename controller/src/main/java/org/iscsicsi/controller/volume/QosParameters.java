package org.iscsicsi.controller.volume;

import java.math.BigDecimal;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;
import org.iscsicsi.target.v1.LunQos;

/**
 * The mutable parameters of a volume (CSI {@code mutable_parameters}, from a Kubernetes
 * VolumeAttributesClass): its I/O limits, which the engine enforces on the volume's LUN.
 *
 * <ul>
 *   <li>{@code qos.readIops}, {@code qos.writeIops}: READ / WRITE commands per second, a whole
 *       number from 1 to 2^40, or {@code 0} for no limit.
 *   <li>{@code qos.readBytesPerSecond}, {@code qos.writeBytesPerSecond}: bytes per second as a
 *       quantity ({@code 104857600}, {@code 100Mi}, {@code 50M}), at least 64 KiB, or {@code 0}.
 *   <li>{@code qos.burstSeconds}: how long the volume may run at full speed after a quiet spell
 *       (each limit's token bucket holds rate x burst), 0 to 3600 in steps of 1 ms; a decimal
 *       such as {@code 0.5}. 0 (the default of a volume never given one) paces every command.
 * </ul>
 *
 * A key left out leaves that figure as it is (CSI: a plugin must not modify a volume based on
 * the absence of keys); a present key replaces it. Any other key, and any value out of range, is
 * INVALID_ARGUMENT, which Kubernetes reports as an infeasible modification.
 */
public record QosParameters(OptionalLong readIops, OptionalLong writeIops,
    OptionalLong readBytesPerSecond, OptionalLong writeBytesPerSecond,
    OptionalLong burstMillis) {

  public static final String READ_IOPS = "qos.readIops";
  public static final String WRITE_IOPS = "qos.writeIops";
  public static final String READ_BYTES = "qos.readBytesPerSecond";
  public static final String WRITE_BYTES = "qos.writeBytesPerSecond";
  public static final String BURST_SECONDS = "qos.burstSeconds";
  /** The engine's bounds (target.v1 LunQos). */
  static final long MAX_RATE = 1L << 40;
  static final long MIN_BYTES_PER_SECOND = 64 * 1024;
  static final BigDecimal MAX_BURST_SECONDS = BigDecimal.valueOf(3600);

  private static final String KNOWN = READ_IOPS + ", " + WRITE_IOPS + ", " + READ_BYTES + ", "
      + WRITE_BYTES + ", " + BURST_SECONDS;

  public static final QosParameters NONE = new QosParameters(OptionalLong.empty(),
      OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty());

  /**
   * Validates mutable parameters.
   *
   * @throws io.grpc.StatusRuntimeException INVALID_ARGUMENT naming the bad key
   */
  public static QosParameters parse(Map<String, String> parameters) {
    OptionalLong readIops = OptionalLong.empty();
    OptionalLong writeIops = OptionalLong.empty();
    OptionalLong readBytes = OptionalLong.empty();
    OptionalLong writeBytes = OptionalLong.empty();
    OptionalLong burst = OptionalLong.empty();
    for (Map.Entry<String, String> e : new TreeMap<>(parameters).entrySet()) {
      String key = e.getKey();
      String value = e.getValue().trim();
      switch (key) {
        case READ_IOPS -> readIops = OptionalLong.of(iops(key, value));
        case WRITE_IOPS -> writeIops = OptionalLong.of(iops(key, value));
        case READ_BYTES -> readBytes = OptionalLong.of(bytesPerSecond(key, value));
        case WRITE_BYTES -> writeBytes = OptionalLong.of(bytesPerSecond(key, value));
        case BURST_SECONDS -> burst = OptionalLong.of(burstMillis(value));
        default -> throw CsiErrors.invalid("unknown mutable parameter \"" + key + "\" (known: "
            + KNOWN + ")");
      }
    }
    return new QosParameters(readIops, writeIops, readBytes, writeBytes, burst);
  }

  /** Whether no key was given. */
  public boolean isEmpty() {
    return this.equals(NONE);
  }

  /** {@code current} with every figure given here replaced. */
  public LunQos applyTo(LunQos current) {
    LunQos.Builder b = current.toBuilder();
    readIops.ifPresent(b::setReadIops);
    writeIops.ifPresent(b::setWriteIops);
    readBytesPerSecond.ifPresent(b::setReadBytesPerSecond);
    writeBytesPerSecond.ifPresent(b::setWriteBytesPerSecond);
    burstMillis.ifPresent(b::setBurstMillis);
    return b.build();
  }

  private static long iops(String key, String value) {
    long n;
    try {
      n = Long.parseLong(value);
    } catch (NumberFormatException e) {
      throw CsiErrors.invalid("mutable parameter " + key + ": \"" + value
          + "\" is not a whole number");
    }
    if (n < 0 || n > MAX_RATE) {
      throw CsiErrors.invalid("mutable parameter " + key + ": " + n + " is not 0 (no limit) or "
          + "1 to " + MAX_RATE);
    }
    return n;
  }

  private static long bytesPerSecond(String key, String value) {
    if (value.equals("0")) {
      return 0;
    }
    long n;
    try {
      n = ByteQuantity.parse(value);
    } catch (IllegalArgumentException e) {
      throw CsiErrors.invalid("mutable parameter " + key + ": " + e.getMessage());
    }
    if (n < MIN_BYTES_PER_SECOND || n > MAX_RATE) {
      throw CsiErrors.invalid("mutable parameter " + key + ": " + n + " bytes per second is not"
          + " 0 (no limit) or " + MIN_BYTES_PER_SECOND + " (64Ki) to " + MAX_RATE + " (1Ti)");
    }
    return n;
  }

  private static long burstMillis(String value) {
    BigDecimal seconds;
    try {
      seconds = new BigDecimal(value);
    } catch (NumberFormatException e) {
      throw CsiErrors.invalid("mutable parameter " + BURST_SECONDS + ": \"" + value
          + "\" is not a number of seconds");
    }
    if (seconds.signum() < 0 || seconds.compareTo(MAX_BURST_SECONDS) > 0) {
      throw CsiErrors.invalid("mutable parameter " + BURST_SECONDS + ": " + value
          + " is not 0 to " + MAX_BURST_SECONDS + " seconds");
    }
    BigDecimal millis = seconds.movePointRight(3);
    if (millis.stripTrailingZeros().scale() > 0) {
      throw CsiErrors.invalid("mutable parameter " + BURST_SECONDS + ": " + value
          + " is finer than a millisecond");
    }
    return millis.longValueExact();
  }
}
