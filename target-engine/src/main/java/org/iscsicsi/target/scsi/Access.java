package org.iscsicsi.target.scsi;

/**
 * How a command is treated under reservations (SPC-4 5.12.1, "SPC commands that are allowed in
 * the presence of various reservations", and its SBC-3 counterpart for block commands).
 */
enum Access {
  /** Never conflicts (INQUIRY, REPORT LUNS, REQUEST SENSE, READ CAPACITY, TUR, PRIN...). */
  ALWAYS,
  /** Reads the medium: conflicts with Exclusive Access reservations of others. */
  READ,
  /** Changes the medium or the LUN's state: conflicts with any reservation of others. */
  WRITE,
  /** PERSISTENT RESERVE OUT: its own rules (SPC-4 5.12). */
  PERSISTENT_RESERVE_OUT,
  /** RESERVE/RELEASE(6/10): conflict with persistent reservations (SPC-4 5.13). */
  LEGACY_RESERVATION
}
