package org.iscsicsi.target.scsi;

/**
 * Sense data (SPC-4 4.5): sense key, additional sense code and qualifier, plus the optional
 * information field and sense-key-specific field pointer. Encoded in fixed format (SPC-4 4.5.3) or,
 * when asked, descriptor format (4.5.2).
 *
 * @param information the INFORMATION field (e.g. the miscompare offset), or -1 for none
 * @param fieldPointer byte offset of the invalid field (in the CDB when {@code inCdb}, else in the
 *     parameter list), or -1 for none
 * @param bitPointer bit of that byte (0-7), or -1
 */
public record Sense(int key, int asc, int ascq, long information, int fieldPointer, int bitPointer,
    boolean inCdb) {

  public static final int NO_SENSE = 0x0;
  public static final int NOT_READY = 0x2;
  public static final int MEDIUM_ERROR = 0x3;
  public static final int ILLEGAL_REQUEST = 0x5;
  public static final int UNIT_ATTENTION = 0x6;
  public static final int DATA_PROTECT = 0x7;
  public static final int HARDWARE_ERROR = 0x4;
  public static final int ABORTED_COMMAND = 0xb;
  public static final int MISCOMPARE = 0xe;

  public static Sense of(int key, int asc, int ascq) {
    return new Sense(key, asc, ascq, -1, -1, -1, false);
  }

  /** ILLEGAL REQUEST, INVALID FIELD IN CDB, pointing at {@code byteOffset}. */
  public static Sense invalidCdbField(int byteOffset, int bit) {
    return new Sense(ILLEGAL_REQUEST, 0x24, 0x00, -1, byteOffset, bit, true);
  }

  /** ILLEGAL REQUEST, INVALID FIELD IN PARAMETER LIST, pointing at {@code byteOffset}. */
  public static Sense invalidParameterField(int byteOffset, int bit) {
    return new Sense(ILLEGAL_REQUEST, 0x26, 0x00, -1, byteOffset, bit, false);
  }

  public static final Sense NONE = of(NO_SENSE, 0, 0);
  public static final Sense INVALID_OPCODE = of(ILLEGAL_REQUEST, 0x20, 0x00);
  public static final Sense LBA_OUT_OF_RANGE = of(ILLEGAL_REQUEST, 0x21, 0x00);
  public static final Sense LUN_NOT_SUPPORTED = of(ILLEGAL_REQUEST, 0x25, 0x00);
  public static final Sense PARAMETER_LIST_LENGTH_ERROR = of(ILLEGAL_REQUEST, 0x1a, 0x00);
  public static final Sense SAVING_PARAMETERS_NOT_SUPPORTED = of(ILLEGAL_REQUEST, 0x39, 0x00);
  public static final Sense INVALID_RELEASE_OF_PR = of(ILLEGAL_REQUEST, 0x26, 0x04);
  public static final Sense INSUFFICIENT_REGISTRATION_RESOURCES = of(ILLEGAL_REQUEST, 0x55, 0x04);
  public static final Sense MEDIUM_REMOVAL_PREVENTED = of(ILLEGAL_REQUEST, 0x53, 0x02);
  public static final Sense WRITE_PROTECTED = of(DATA_PROTECT, 0x27, 0x00);
  public static final Sense SPACE_ALLOCATION_FAILED = of(DATA_PROTECT, 0x27, 0x07);
  public static final Sense UNRECOVERED_READ_ERROR = of(MEDIUM_ERROR, 0x11, 0x00);
  public static final Sense WRITE_ERROR = of(MEDIUM_ERROR, 0x0c, 0x00);
  public static final Sense INTERNAL_TARGET_FAILURE = of(HARDWARE_ERROR, 0x44, 0x00);
  public static final Sense NOT_READY_MANUAL_INTERVENTION = of(NOT_READY, 0x04, 0x03);
  public static final Sense NOT_READY_START_REQUIRED = of(NOT_READY, 0x04, 0x02);
  /** LOGICAL UNIT NOT ACCESSIBLE, ASYMMETRIC ACCESS STATE TRANSITION (SPC-4 5.16.2.4.6). */
  public static final Sense ALUA_TRANSITIONING = of(NOT_READY, 0x04, 0x0a);
  /** LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN STANDBY STATE (SPC-4 5.16.2.4.4). */
  public static final Sense ALUA_STANDBY = of(NOT_READY, 0x04, 0x0b);
  /** LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN UNAVAILABLE STATE (SPC-4 5.16.2.4.5). */
  public static final Sense ALUA_UNAVAILABLE = of(NOT_READY, 0x04, 0x0c);
  public static final Sense POWER_ON_RESET = of(UNIT_ATTENTION, 0x29, 0x00);
  public static final Sense LUN_RESET_OCCURRED = of(UNIT_ATTENTION, 0x29, 0x03);
  public static final Sense I_T_NEXUS_LOSS = of(UNIT_ATTENTION, 0x29, 0x07);
  public static final Sense MODE_PARAMETERS_CHANGED = of(UNIT_ATTENTION, 0x2a, 0x01);
  public static final Sense RESERVATIONS_PREEMPTED = of(UNIT_ATTENTION, 0x2a, 0x03);
  public static final Sense RESERVATIONS_RELEASED = of(UNIT_ATTENTION, 0x2a, 0x04);
  public static final Sense REGISTRATIONS_PREEMPTED = of(UNIT_ATTENTION, 0x2a, 0x05);
  public static final Sense ASYMMETRIC_ACCESS_STATE_CHANGED = of(UNIT_ATTENTION, 0x2a, 0x06);
  public static final Sense CAPACITY_DATA_CHANGED = of(UNIT_ATTENTION, 0x2a, 0x09);
  public static final Sense REPORTED_LUNS_DATA_CHANGED = of(UNIT_ATTENTION, 0x3f, 0x0e);

  /** MISCOMPARE DURING VERIFY OPERATION at byte {@code offset} of the compared data. */
  public static Sense miscompare(long offset) {
    return new Sense(MISCOMPARE, 0x1d, 0x00, offset, -1, -1, false);
  }

  public boolean isUnitAttention() {
    return key == UNIT_ATTENTION;
  }

  /** Fixed-format sense data, 18 bytes. */
  public byte[] toFixedFormat() {
    byte[] s = new byte[18];
    s[0] = (byte) (information >= 0 ? 0xf0 : 0x70);
    s[2] = (byte) key;
    if (information >= 0) {
      s[3] = (byte) (information >>> 24);
      s[4] = (byte) (information >>> 16);
      s[5] = (byte) (information >>> 8);
      s[6] = (byte) information;
    }
    s[7] = 10;
    s[12] = (byte) asc;
    s[13] = (byte) ascq;
    if (fieldPointer >= 0) {
      s[15] = (byte) (0x80 | (inCdb ? 0x40 : 0) | (bitPointer >= 0 ? 0x08 | bitPointer : 0));
      s[16] = (byte) (fieldPointer >>> 8);
      s[17] = (byte) fieldPointer;
    }
    return s;
  }

  /** Descriptor-format sense data (information and sense-key-specific descriptors as needed). */
  public byte[] toDescriptorFormat() {
    int len = 8 + (information >= 0 ? 12 : 0) + (fieldPointer >= 0 ? 8 : 0);
    byte[] s = new byte[len];
    s[0] = 0x72;
    s[1] = (byte) key;
    s[2] = (byte) asc;
    s[3] = (byte) ascq;
    s[7] = (byte) (len - 8);
    int p = 8;
    if (information >= 0) {
      s[p] = 0x00;
      s[p + 1] = 0x0a;
      s[p + 2] = (byte) 0x80;
      for (int i = 0; i < 8; i++) {
        s[p + 4 + i] = (byte) (information >>> (56 - 8 * i));
      }
      p += 12;
    }
    if (fieldPointer >= 0) {
      s[p] = 0x02;
      s[p + 1] = 0x06;
      s[p + 4] = (byte) (0x80 | (inCdb ? 0x40 : 0) | (bitPointer >= 0 ? 0x08 | bitPointer : 0));
      s[p + 5] = (byte) (fieldPointer >>> 8);
      s[p + 6] = (byte) fieldPointer;
    }
    return s;
  }

  @Override
  public String toString() {
    return String.format("Sense[%X/%02X/%02X%s]", key, asc, ascq,
        fieldPointer >= 0 ? " field " + fieldPointer + (inCdb ? " of CDB" : " of parameters") : "");
  }
}
