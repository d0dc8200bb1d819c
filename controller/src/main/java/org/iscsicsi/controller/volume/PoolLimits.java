package org.iscsicsi.controller.volume;

import java.math.BigDecimal;
import java.math.BigInteger;

/**
 * What one volume and all volumes together may promise of an engine's pool, so that no tenant
 * promises the pool away: a volume is at most {@code maxVolumeBytes}, and the sizes of all LUNs
 * (thin ones counted at their full size) stay within {@code overcommitRatio} times the pool's
 * total bytes. Set by the controller's flags; a StorageClass may only lower them.
 *
 * @param overcommitRatio how many times the pool's size may be promised; 0 for no limit
 * @param maxVolumeBytes the largest volume; 0 for no limit
 */
public record PoolLimits(double overcommitRatio, long maxVolumeBytes) {

  public static final PoolLimits NONE = new PoolLimits(0, 0);

  public PoolLimits {
    if (!(overcommitRatio >= 0) || Double.isInfinite(overcommitRatio)) {
      throw new IllegalArgumentException("overcommit ratio " + overcommitRatio
          + " is not a finite number of at least 0");
    }
    if (maxVolumeBytes < 0) {
      throw new IllegalArgumentException("maximum volume size " + maxVolumeBytes
          + " is negative");
    }
  }

  /**
   * These limits lowered by a StorageClass's ({@code asked}, whose zeroes mean "not set").
   *
   * @throws io.grpc.StatusRuntimeException INVALID_ARGUMENT when the class asks for more than
   *     the controller allows
   */
  public PoolLimits narrowedBy(PoolLimits asked) {
    if (asked.overcommitRatio > 0 && overcommitRatio > 0
        && asked.overcommitRatio > overcommitRatio) {
      throw CsiErrors.invalid("parameter " + VolumeParameters.OVERCOMMIT_RATIO + " "
          + asked.overcommitRatio + " is above the controller's " + overcommitRatio
          + "; a StorageClass can only lower it");
    }
    if (asked.maxVolumeBytes > 0 && maxVolumeBytes > 0 && asked.maxVolumeBytes > maxVolumeBytes) {
      throw CsiErrors.invalid("parameter " + VolumeParameters.MAX_VOLUME_SIZE + " "
          + asked.maxVolumeBytes + " is above the controller's " + maxVolumeBytes
          + " bytes; a StorageClass can only lower it");
    }
    return new PoolLimits(asked.overcommitRatio > 0 ? asked.overcommitRatio : overcommitRatio,
        asked.maxVolumeBytes > 0 ? asked.maxVolumeBytes : maxVolumeBytes);
  }

  /** Bytes that may still be promised on a pool of {@code totalBytes} holding {@code promised}. */
  public long headroom(long totalBytes, long promised) {
    if (overcommitRatio == 0) {
      return Long.MAX_VALUE;
    }
    BigInteger allowed = new BigDecimal(totalBytes).multiply(BigDecimal.valueOf(overcommitRatio))
        .toBigInteger();
    BigInteger left = allowed.subtract(BigInteger.valueOf(promised)).max(BigInteger.ZERO);
    return left.min(BigInteger.valueOf(Long.MAX_VALUE)).longValueExact();
  }

  /** The largest volume these limits allow by themselves. */
  public long largestVolume() {
    return maxVolumeBytes == 0 ? Long.MAX_VALUE : maxVolumeBytes;
  }
}
