package org.iscsicsi.target.transfer;

import java.util.Optional;

/**
 * The frame types of the replication port, transfers and replica streams, with their codes from
 * the replica protocol (docs/replication.md section 3) and the largest payload each may carry.
 */
public enum FrameType {
  HELLO(0x01, Frame.MAX_HELLO_BYTES),
  HELLO_ACK(0x02, Frame.MAX_CONTROL_BYTES),
  /** Replica stream: data at {@code offset}, one region at most per frame. */
  WRITE(0x03, Frame.REGION_BYTES),
  /** Replica stream: (offset, length) pairs, u64 each. */
  UNMAP(0x04, Frame.MAX_CONTROL_BYTES),
  /** Replica stream: earlier writes applied and on stable storage, then ACK. */
  FLUSH(0x06, 0),
  /**
   * Region data written: the payload is the SHA-256 of what the destination wrote. On a replica
   * stream: {@code seq} acked (0 for a heartbeat, whose id {@code offset} echoes), no payload.
   */
  ACK(0x07, Frame.HASH_BYTES),
  /**
   * A refusal; the payload is the reason (UTF-8). On a replica stream {@code epoch} is the
   * member's accepted epoch, {@code seq} the refused frame's and {@code offset} the reason's code
   * ({@code NackReason}); the connection closes after STALE_EPOCH, NOT_MEMBER and PROTOCOL, and
   * always after a transfer's.
   */
  NACK(0x08, Frame.MAX_CONTROL_BYTES),
  /** Replica stream, every 500 ms: {@code offset} is the heartbeat's id. */
  HEARTBEAT(0x09, 0),
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
