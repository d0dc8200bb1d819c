package org.iscsicsi.target.transfer;

import java.util.Optional;

/**
 * The frame types a transfer uses, with their codes from the replica protocol
 * (docs/replication.md section 3) and the largest payload each may carry.
 */
public enum FrameType {
  HELLO(0x01, Frame.MAX_HELLO_BYTES),
  HELLO_ACK(0x02, Frame.MAX_CONTROL_BYTES),
  /** Region data written: the payload is the SHA-256 of what the destination wrote. */
  ACK(0x07, Frame.HASH_BYTES),
  /** A refusal; the payload is the reason (UTF-8) and the connection closes after it. */
  NACK(0x08, Frame.MAX_CONTROL_BYTES),
  REGION_HASHES(0x10, Frame.MAX_HASH_ENTRIES * Frame.HASH_ENTRY_BYTES),
  REGION_WANT(0x11, Frame.MAX_HASH_ENTRIES * Integer.BYTES),
  REGION_DATA(0x12, Frame.REGION_BYTES),
  DONE(0x13, Frame.HASH_BYTES),
  /** The payload: 1 (equal) or 0, then the destination's hash of all region hashes. */
  DONE_ACK(0x14, 1 + Frame.HASH_BYTES);

  private final int code;
  private final int maxPayload;

  FrameType(int code, int maxPayload) {
    this.code = code;
    this.maxPayload = maxPayload;
  }

  public int code() {
    return code;
  }

  /** The longest payload a frame of this type may declare; longer ones break the connection. */
  public int maxPayload() {
    return maxPayload;
  }

  public static Optional<FrameType> of(int code) {
    for (FrameType t : values()) {
      if (t.code == code) {
        return Optional.of(t);
      }
    }
    return Optional.empty();
  }
}
