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
 */
public record ScsiResponse(int status, byte[] sense, ByteBuf dataIn) {

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
