package org.iscsicsi.target.transfer;

import java.util.Objects;

/**
 * One frame of the replication port (docs/replication.md section 3): a 48-byte big-endian header
 * (magic, version, type, flags, epoch, seq, commit, offset, payload length, CRC32C of the header),
 * the payload, and a CRC32C of the payload when there is one. Transfers use epoch 0 and commit 0,
 * and {@code seq} names the image a frame belongs to (0 the LUN, then the snapshots in HELLO's
 * order).
 *
 * @param offset byte offset of REGION_DATA in its image; 0 for other types
 */
public record Frame(FrameType type, int flags, long epoch, long seq, long commit, long offset,
    byte[] payload) {

  public static final int MAGIC = 0x49534352;
  public static final int VERSION = 1;
  public static final int HEADER_BYTES = 48;
  public static final int CRC_BYTES = 4;
  public static final int HASH_BYTES = 32;
  /** A region: what one hash covers and one REGION_DATA carries at most. */
  public static final int REGION_BYTES = 4 << 20;
  /** Region number (u32) and its SHA-256. */
  public static final int HASH_ENTRY_BYTES = Integer.BYTES + HASH_BYTES;
  /** Entries per REGION_HASHES frame (the source sends at most this many per batch). */
  public static final int MAX_HASH_ENTRIES = 256;
  public static final int MAX_HELLO_BYTES = 1 << 20;
  public static final int MAX_CONTROL_BYTES = 4096;
  /** Flag of REGION_DATA for an unmapped region (not sent by transfers, which skip holes). */
  public static final int FLAG_HOLE = 0x0002;

  public Frame {
    Objects.requireNonNull(type, "type");
    payload = payload == null ? new byte[0] : payload;
    if (payload.length > type.maxPayload()) {
      throw new IllegalArgumentException(type + " payload of " + payload.length
          + " bytes exceeds " + type.maxPayload());
    }
  }

  /** A frame of {@code type} for image {@code seq}. */
  public static Frame of(FrameType type, long seq, long offset, byte[] payload) {
    return new Frame(type, 0, 0, seq, 0, offset, payload);
  }

  @Override
  public String toString() {
    return "Frame[" + type + ", seq=" + seq + ", offset=" + offset + ", " + payload.length
        + " bytes]";
  }
}
