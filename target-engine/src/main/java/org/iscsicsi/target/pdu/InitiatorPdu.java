package org.iscsicsi.target.pdu;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/**
 * PDUs an initiator sends (RFC 7143 sections 11.2 to 11.16), decoded from their BHS. Field names
 * follow the RFC; sequence numbers are unsigned 32-bit values held in ints (serial arithmetic,
 * RFC 1982).
 */
public sealed interface InitiatorPdu extends IscsiPdu {

  /** The I bit: an immediate PDU does not advance CmdSN. */
  boolean immediate();

  /** NOP-Out (section 11.18). */
  record NopOut(boolean immediate, long lun, int itt, int ttt, int cmdSn, int expStatSn,
      ByteBuf data) implements InitiatorPdu {
    @Override
    public IscsiOpcode opcode() {
      return IscsiOpcode.NOP_OUT;
    }
  }

  /**
   * SCSI Command (section 11.3). {@code cdb} includes the extended CDB AHS bytes, if any.
   *
   * @param data immediate data
   */
  record ScsiCommand(boolean immediate, boolean isFinal, boolean read, boolean write,
      int attribute, long lun, int itt, int expectedDataTransferLength, int cmdSn, int expStatSn,
      byte[] cdb, ByteBuf data) implements InitiatorPdu {
    @Override
    public IscsiOpcode opcode() {
      return IscsiOpcode.SCSI_COMMAND;
    }
  }

  /** Task Management Function Request (section 11.5). */
  record TaskManagementRequest(boolean immediate, int function, long lun, int itt,
      int referencedTaskTag, int cmdSn, int expStatSn, int refCmdSn, int expDataSn)
      implements InitiatorPdu {
    @Override
    public IscsiOpcode opcode() {
      return IscsiOpcode.TASK_MANAGEMENT_REQUEST;
    }

    @Override
    public ByteBuf data() {
      return Unpooled.EMPTY_BUFFER;
    }
  }

  /** Login Request (section 11.12). The I bit is always 1 in a login request. */
  record LoginRequest(boolean transit, boolean cont, int csg, int nsg, int versionMax,
      int versionMin, long isid, int tsih, int itt, int cid, int cmdSn, int expStatSn,
      ByteBuf data) implements InitiatorPdu {
    @Override
    public boolean immediate() {
      return true;
    }

    @Override
    public IscsiOpcode opcode() {
      return IscsiOpcode.LOGIN_REQUEST;
    }
  }

  /** Text Request (section 11.10). */
  record TextRequest(boolean immediate, boolean isFinal, boolean cont, long lun, int itt, int ttt,
      int cmdSn, int expStatSn, ByteBuf data) implements InitiatorPdu {
    @Override
    public IscsiOpcode opcode() {
      return IscsiOpcode.TEXT_REQUEST;
    }
  }

  /** SCSI Data-Out (section 11.7). */
  record DataOut(boolean isFinal, long lun, int itt, int ttt, int expStatSn, int dataSn,
      int bufferOffset, ByteBuf data) implements InitiatorPdu {
    @Override
    public boolean immediate() {
      return false;
    }

    @Override
    public IscsiOpcode opcode() {
      return IscsiOpcode.SCSI_DATA_OUT;
    }
  }

  /** Logout Request (section 11.14); reason 0 closes the session, 1 the connection. */
  record LogoutRequest(boolean immediate, int reasonCode, int itt, int cid, int cmdSn,
      int expStatSn) implements InitiatorPdu {
    @Override
    public IscsiOpcode opcode() {
      return IscsiOpcode.LOGOUT_REQUEST;
    }

    @Override
    public ByteBuf data() {
      return Unpooled.EMPTY_BUFFER;
    }
  }

  /** SNACK Request (section 11.16); this target runs at ErrorRecoveryLevel 0 and rejects it. */
  record SnackRequest(int type, long lun, int itt, int ttt, int expStatSn, int begRun,
      int runLength) implements InitiatorPdu {
    @Override
    public boolean immediate() {
      return false;
    }

    @Override
    public IscsiOpcode opcode() {
      return IscsiOpcode.SNACK_REQUEST;
    }

    @Override
    public ByteBuf data() {
      return Unpooled.EMPTY_BUFFER;
    }
  }

  /**
   * Builds the PDU from its BHS (48 readable bytes at {@code bhs.readerIndex()}), AHS and data.
   * Takes ownership of {@code data}.
   *
   * @return null when the opcode is not an initiator opcode
   */
  static InitiatorPdu decode(ByteBuf bhs, ByteBuf ahs, ByteBuf data) {
    int b = bhs.readerIndex();
    int op = bhs.getUnsignedByte(b) & 0x3f;
    boolean imm = (bhs.getByte(b) & 0x40) != 0;
    int flags = bhs.getUnsignedByte(b + 1);
    long lun = bhs.getLong(b + 8);
    int itt = bhs.getInt(b + 16);
    int w20 = bhs.getInt(b + 20);
    int w24 = bhs.getInt(b + 24);
    int w28 = bhs.getInt(b + 28);
    IscsiOpcode opcode = IscsiOpcode.of(op);
    if (opcode == null) {
      return null;
    }
    if (opcode == IscsiOpcode.TASK_MANAGEMENT_REQUEST || opcode == IscsiOpcode.LOGOUT_REQUEST
        || opcode == IscsiOpcode.SNACK_REQUEST) {
      data.release(); // these PDUs carry no data segment; a stray one is dropped
    }
    return switch (opcode) {
      case NOP_OUT -> new NopOut(imm, lun, itt, w20, w24, w28, data);
      case SCSI_COMMAND -> {
        byte[] cdb = scsiCdb(bhs, b, ahs);
        yield new ScsiCommand(imm, (flags & 0x80) != 0, (flags & 0x40) != 0,
            (flags & 0x20) != 0, flags & 0x07, lun, itt, w20, w24, w28, cdb, data);
      }
      case TASK_MANAGEMENT_REQUEST -> new TaskManagementRequest(imm, flags & 0x7f, lun, itt, w20,
          w24, w28, bhs.getInt(b + 32), bhs.getInt(b + 36));
      case LOGIN_REQUEST -> new LoginRequest((flags & 0x80) != 0, (flags & 0x40) != 0,
          (flags >> 2) & 3, flags & 3, bhs.getUnsignedByte(b + 2), bhs.getUnsignedByte(b + 3),
          (lun >>> 16) & 0xffff_ffff_ffffL, (int) (lun & 0xffff), itt,
          bhs.getUnsignedShort(b + 20), w24, w28, data);
      case TEXT_REQUEST -> new TextRequest(imm, (flags & 0x80) != 0, (flags & 0x40) != 0, lun,
          itt, w20, w24, w28, data);
      case SCSI_DATA_OUT -> new DataOut((flags & 0x80) != 0, lun, itt, w20, w28,
          bhs.getInt(b + 36), bhs.getInt(b + 40), data);
      case LOGOUT_REQUEST -> new LogoutRequest(imm, flags & 0x7f, itt,
          bhs.getUnsignedShort(b + 20), w24, w28);
      case SNACK_REQUEST -> new SnackRequest(flags & 0x0f, lun, itt, w20, w28,
          bhs.getInt(b + 40), bhs.getInt(b + 44));
      default -> null;
    };
  }

  private static byte[] scsiCdb(ByteBuf bhs, int b, ByteBuf ahs) {
    int extra = 0;
    int extIndex = -1;
    // AHS entries: 2-byte length, 1-byte type, 1 reserved byte, then payload padded to 4 bytes
    for (int i = ahs.readerIndex(); i + 4 <= ahs.writerIndex(); ) {
      int len = ahs.getUnsignedShort(i);
      int type = ahs.getUnsignedByte(i + 2);
      if (type == 1 && len > 1 && i + 3 + len <= ahs.writerIndex()) {
        extIndex = i + 4;
        extra = len - 1;
      }
      i += 3 + len + Bhs.padding(3 + len);
    }
    byte[] cdb = new byte[16 + extra];
    bhs.getBytes(b + 32, cdb, 0, 16);
    if (extra > 0) {
      ahs.getBytes(extIndex, cdb, 16, extra);
    }
    return cdb;
  }
}
