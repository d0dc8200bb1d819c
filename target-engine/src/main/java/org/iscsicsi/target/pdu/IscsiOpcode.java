package org.iscsicsi.target.pdu;

/**
 * iSCSI PDU opcodes (RFC 7143 section 11.2.1.2), with a value-to-enum lookup table.
 */
public enum IscsiOpcode {
  NOP_OUT(0x00, true),
  SCSI_COMMAND(0x01, true),
  TASK_MANAGEMENT_REQUEST(0x02, true),
  LOGIN_REQUEST(0x03, true),
  TEXT_REQUEST(0x04, true),
  SCSI_DATA_OUT(0x05, true),
  LOGOUT_REQUEST(0x06, true),
  SNACK_REQUEST(0x10, true),
  NOP_IN(0x20, false),
  SCSI_RESPONSE(0x21, false),
  TASK_MANAGEMENT_RESPONSE(0x22, false),
  LOGIN_RESPONSE(0x23, false),
  TEXT_RESPONSE(0x24, false),
  SCSI_DATA_IN(0x25, false),
  LOGOUT_RESPONSE(0x26, false),
  R2T(0x31, false),
  ASYNC_MESSAGE(0x32, false),
  REJECT(0x3f, false);

  private static final IscsiOpcode[] BY_VALUE = new IscsiOpcode[64];

  static {
    for (IscsiOpcode op : values()) {
      if (BY_VALUE[op.value] != null) {
        throw new AssertionError("duplicate opcode " + op.value);
      }
      BY_VALUE[op.value] = op;
    }
  }

  private final int value;
  private final boolean initiator;

  IscsiOpcode(int value, boolean initiator) {
    this.value = value;
    this.initiator = initiator;
  }

  /** The 6-bit opcode. */
  public int value() {
    return value;
  }

  /** True for opcodes an initiator sends. */
  public boolean isInitiatorOpcode() {
    return initiator;
  }

  /** The opcode for a 6-bit value, or null when the value is not defined. */
  public static IscsiOpcode of(int value) {
    return value >= 0 && value < BY_VALUE.length ? BY_VALUE[value] : null;
  }
}
