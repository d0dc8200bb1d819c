package org.iscsicsi.target.lun;

import java.io.IOException;

/**
 * The unit cannot take the command now: the SCSI layer answers NOT READY with this additional
 * sense code and qualifier (for a replicated LUN: 04h/0Bh, target port in standby state, while
 * its serve lease is lapsed; 04h/0Ch, target port in unavailable state, once it is no longer the
 * primary; SPC-4 5.16.2.4.4). dm-multipath retries such a command on another path.
 */
public final class UnitNotReadyException extends IOException {

  public static final int ASC_NOT_READY = 0x04;
  public static final int ASCQ_STANDBY = 0x0b;
  public static final int ASCQ_UNAVAILABLE = 0x0c;

  private final int asc;
  private final int ascq;

  public UnitNotReadyException(int asc, int ascq, String message) {
    super(message);
    this.asc = asc;
    this.ascq = ascq;
  }

  public static UnitNotReadyException standby(String why) {
    return new UnitNotReadyException(ASC_NOT_READY, ASCQ_STANDBY, why);
  }

  public static UnitNotReadyException unavailable(String why) {
    return new UnitNotReadyException(ASC_NOT_READY, ASCQ_UNAVAILABLE, why);
  }

  public int asc() {
    return asc;
  }

  public int ascq() {
    return ascq;
  }
}
