package org.iscsicsi.target.scsi;

import io.netty.buffer.ByteBuf;

/**
 * The outcome of a SCSI command. The iSCSI layer splits {@code dataIn} into Data-In PDUs, trims it
 * to the expected transfer length and computes residuals; it releases {@code dataIn}.
 *
 * @param status SAM status byte (GOOD 0x00, CHECK CONDITION 0x02, BUSY 0x08,
 *     RESERVATION CONFLICT 0x18, TASK SET FULL 0x28)
 * @param sense fixed-format sense data when status is CHECK CONDITION, else an empty array
 * @param dataIn data for the initiator, or null
 * @param transferLength the bytes of data the CDB itself describes (for WRITE(10) of n blocks,
 *     n times the block size), or -1 when not reported. The iSCSI layer compares it with the
 *     expected data transfer length to report residual overflow/underflow for commands that
 *     carry Data-Out (RFC 7143 section 11.4.5); for Data-In it uses the length of {@code dataIn}
 */
public record ScsiResponse(int status, byte[] sense, ByteBuf dataIn, int transferLength) {

  /** A response that does not report the CDB's transfer length. */
  public ScsiResponse(int status, byte[] sense, ByteBuf dataIn) {
    this(status, sense, dataIn, -1);
  }

  /** The same response reporting the CDB's transfer length. */
  public ScsiResponse withTransferLength(int length) {
    return new ScsiResponse(status, sense, dataIn, length);
  }

  public static final int GOOD = 0x00;
  public static final int CHECK_CONDITION = 0x02;
  public static final int BUSY = 0x08;
  public static final int RESERVATION_CONFLICT = 0x18;
  public static final int TASK_SET_FULL = 0x28;

  private static final byte[] NO_SENSE = new byte[0];

  public static ScsiResponse good() {
    return new ScsiResponse(GOOD, NO_SENSE, null);
  }

  public static ScsiResponse good(ByteBuf dataIn) {
    return new ScsiResponse(GOOD, NO_SENSE, dataIn);
  }
}
