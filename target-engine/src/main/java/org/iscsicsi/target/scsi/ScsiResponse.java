package org.iscsicsi.target.scsi;

import io.netty.buffer.ByteBuf;
import org.iscsicsi.target.lun.LunFileRegion;

/**
 * The outcome of a SCSI command. The iSCSI layer splits the Data-In ({@code dataIn} or
 * {@code dataInFile}) into Data-In PDUs, trims it to the expected transfer length and computes
 * residuals; it releases it.
 *
 * @param status SAM status byte (GOOD 0x00, CHECK CONDITION 0x02, BUSY 0x08,
 *     RESERVATION CONFLICT 0x18, TASK SET FULL 0x28)
 * @param sense fixed-format sense data when status is CHECK CONDITION, else an empty array
 * @param dataIn data for the initiator, or null
 * @param transferLength the bytes of data the CDB itself describes (for WRITE(10) of n blocks,
 *     n times the block size), or -1 when not reported. The iSCSI layer compares it with the
 *     expected data transfer length to report residual overflow/underflow for commands that
 *     carry Data-Out (RFC 7143 section 11.4.5); for Data-In it uses the length of the data
 * @param dataInFile data for the initiator as a range of the LUN's file, to go out with
 *     {@code sendfile(2)}; only when the request allowed it ({@link ScsiRequest#dataInByFile}),
 *     and never together with {@code dataIn}
 */
public record ScsiResponse(int status, byte[] sense, ByteBuf dataIn, int transferLength,
    LunFileRegion dataInFile) {

  /** A response that does not report the CDB's transfer length. */
  public ScsiResponse(int status, byte[] sense, ByteBuf dataIn) {
    this(status, sense, dataIn, -1, null);
  }

  public ScsiResponse(int status, byte[] sense, ByteBuf dataIn, int transferLength) {
    this(status, sense, dataIn, transferLength, null);
  }

  /** The same response reporting the CDB's transfer length. */
  public ScsiResponse withTransferLength(int length) {
    return new ScsiResponse(status, sense, dataIn, length, dataInFile);
  }

  /** Bytes of Data-In, from either source. */
  public long dataInLength() {
    return dataIn != null ? dataIn.readableBytes() : dataInFile != null ? dataInFile.count() : 0;
  }

  /** Releases the Data-In, whichever form it has; for responses that will not be sent. */
  public void releaseDataIn() {
    if (dataIn != null) {
      dataIn.release();
    }
    if (dataInFile != null) {
      dataInFile.release();
    }
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

  public static ScsiResponse good(LunFileRegion dataIn) {
    return new ScsiResponse(GOOD, NO_SENSE, null, -1, dataIn);
  }
}
