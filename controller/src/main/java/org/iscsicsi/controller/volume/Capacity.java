package org.iscsicsi.controller.volume;

import csi.v1.Csi.CapacityRange;

/**
 * Turns a CSI capacity range into a LUN size: whole logical blocks (SBC-3 READ CAPACITY reports
 * the size in blocks), at least the required bytes, at most the limit (CSI spec, CreateVolume:
 * "capacity_range ... MUST always be honored"; OUT_OF_RANGE when it cannot be).
 */
public final class Capacity {

  /** Size given to a volume whose request names no capacity. */
  public static final long DEFAULT_BYTES = 1L << 30;

  private Capacity() {}

  /**
   * The size of a new volume.
   *
   * @param minimumBytes a floor from the content source (0 for an empty volume)
   */
  public static long size(CapacityRange range, int blockSize, long minimumBytes) {
    long required = range.getRequiredBytes();
    long limit = range.getLimitBytes();
    if (required < 0 || limit < 0) {
      throw CsiErrors.invalid("capacity_range: negative byte counts");
    }
    if (limit > 0 && required > limit) {
      throw CsiErrors.invalid("capacity_range: required_bytes " + required
          + " exceeds limit_bytes " + limit);
    }
    long want;
    if (required > 0) {
      want = Math.max(required, minimumBytes);
    } else if (minimumBytes > 0) {
      want = minimumBytes;
    } else {
      want = limit > 0 ? Math.min(DEFAULT_BYTES, limit) : DEFAULT_BYTES;
    }
    long size = roundUp(want, blockSize);
    if (limit > 0 && size > limit) {
      if (minimumBytes > limit) {
        throw CsiErrors.outOfRange("capacity_range: the source needs " + minimumBytes
            + " bytes, more than limit_bytes " + limit);
      }
      size = limit / blockSize * blockSize;
      if (size < Math.max(1, Math.max(required, minimumBytes))) {
        throw CsiErrors.outOfRange("capacity_range: no whole number of " + blockSize
            + "-byte blocks lies between " + required + " and " + limit + " bytes");
      }
    }
    return size;
  }

  /** True when an existing volume of {@code sizeBytes} satisfies the range. */
  public static boolean satisfies(CapacityRange range, long sizeBytes) {
    return sizeBytes >= range.getRequiredBytes()
        && (range.getLimitBytes() == 0 || sizeBytes <= range.getLimitBytes());
  }

  public static long roundUp(long bytes, int blockSize) {
    long blocks = bytes / blockSize + (bytes % blockSize == 0 ? 0 : 1);
    return Math.multiplyExact(blocks, (long) blockSize);
  }
}
