package org.iscsicsi.target.replication;

import java.util.Objects;

/**
 * The content of a replicated LUN's metadata superblock (docs/replication.md, section 10): the
 * LUN's identity and geometry, the highest epoch this engine accepted and that epoch's primary,
 * the role it plays, whether it shut down cleanly, and per member slot the membership
 * generation since which its bitmap is valid (0: none).
 *
 * @param acceptedPrimary the engine recorded as primary of {@code acceptedEpoch}; empty before
 *     any epoch was accepted
 */
public record Superblock(String naa, long sizeBytes, int regionBytes, long acceptedEpoch,
    String acceptedPrimary, Role role, boolean clean, long[] bitmapValidSince) {

  /** Region size: a bitmap bit and an activity-log unit. */
  public static final int REGION_BYTES = 4 << 20;
  /** Member slots 1 to 3; index 0 of {@link #bitmapValidSince} is slot 1. */
  public static final int SLOTS = 3;

  /** What this engine is for the LUN in {@code acceptedEpoch}. */
  public enum Role { NONE, PRIMARY, REPLICA }

  public Superblock {
    Objects.requireNonNull(naa, "naa");
    Objects.requireNonNull(acceptedPrimary, "acceptedPrimary");
    Objects.requireNonNull(role, "role");
    if (bitmapValidSince.length != SLOTS) {
      throw new IllegalArgumentException("one bitmap validity per slot, " + SLOTS);
    }
    bitmapValidSince = bitmapValidSince.clone();
  }

  /** A new replicated LUN's superblock: no epoch accepted yet. */
  public static Superblock fresh(String naa, long sizeBytes) {
    return new Superblock(naa, sizeBytes, REGION_BYTES, 0, "", Role.NONE, true,
        new long[SLOTS]);
  }

  /** This superblock with {@code epoch} and its primary accepted; {@code self} names the role. */
  public Superblock accepting(long epoch, String primary, String self) {
    return new Superblock(naa, sizeBytes, regionBytes, epoch, primary,
        primary.equals(self) ? Role.PRIMARY : Role.REPLICA, clean, bitmapValidSince);
  }

  @Override
  public long[] bitmapValidSince() {
    return bitmapValidSince.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Superblock s && naa.equals(s.naa) && sizeBytes == s.sizeBytes
        && regionBytes == s.regionBytes && acceptedEpoch == s.acceptedEpoch
        && acceptedPrimary.equals(s.acceptedPrimary) && role == s.role && clean == s.clean
        && java.util.Arrays.equals(bitmapValidSince, s.bitmapValidSince);
  }

  @Override
  public int hashCode() {
    return Objects.hash(naa, sizeBytes, acceptedEpoch, acceptedPrimary, role);
  }
}
