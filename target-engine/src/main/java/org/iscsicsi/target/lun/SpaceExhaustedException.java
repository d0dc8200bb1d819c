package org.iscsicsi.target.lun;

import java.io.IOException;

/**
 * The backing filesystem is full (ENOSPC). The SCSI layer reports it as DATA PROTECT, SPACE
 * ALLOCATION FAILED WRITE PROTECT (SBC-3 4.7.3.6).
 */
public final class SpaceExhaustedException extends IOException {

  public SpaceExhaustedException(String message, Throwable cause) {
    super(message, cause);
  }
}
