package org.iscsicsi.target.session;

/** The 8-byte LUN field of iSCSI PDUs (RFC 7143 section 11.2.1.3, SAM-5 section 4.7). */
final class LunField {

  private LunField() {
  }

  /** The LUN number of a LUN field, peripheral or flat space addressing (SAM-5 4.7). */
  static long number(long field) {
    int first = (int) (field >>> 56) & 0xff;
    int second = (int) (field >>> 48) & 0xff;
    return switch (first >> 6) {
      case 0 -> first == 0 ? second : ((long) (first & 0x3f) << 8) | second;
      case 1 -> ((long) (first & 0x3f) << 8) | second;
      default -> field; // other addressing methods: passed through, the SCSI layer rejects them
    };
  }
}
