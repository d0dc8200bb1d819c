package org.iscsicsi.target.replication;

/**
 * Why a member refuses a replication frame (the payload of NACK, docs/replication.md,
 * section 3). After {@link #STALE_EPOCH}, {@link #NOT_MEMBER} and {@link #PROTOCOL} the
 * connection closes.
 */
public enum NackReason {
  STALE_EPOCH(1, true),
  NOT_MEMBER(2, true),
  IO_ERROR(3, false),
  NO_SPACE(4, false),
  OUT_OF_RANGE(5, false),
  PROTOCOL(6, true);

  private final int code;
  private final boolean closes;

  NackReason(int code, boolean closes) {
    this.code = code;
    this.closes = closes;
  }

  public int code() {
    return code;
  }

  /** Whether the member closes the connection after this NACK. */
  public boolean closes() {
    return closes;
  }

  public static NackReason of(int code) {
    for (NackReason r : values()) {
      if (r.code == code) {
        return r;
      }
    }
    throw new IllegalArgumentException("unknown NACK reason " + code);
  }
}
