package org.iscsicsi.target.pdu;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.FileRegion;
import io.netty.util.ReferenceCounted;

/**
 * PDUs this target sends (RFC 7143 sections 11.3 to 11.19). Each knows how to write its 48-byte
 * BHS; the encoder adds digests, the data segment and padding.
 */
public sealed interface TargetPdu extends IscsiPdu {

  /** Writes the BHS (exactly 48 bytes) with {@code data().readableBytes()} as DataSegmentLength. */
  void encodeHeader(ByteBuf out);

  /** NOP-In (section 11.19). */
  record NopIn(long lun, int itt, int ttt, int statSn, int expCmdSn, int maxCmdSn, ByteBuf data)
      implements TargetPdu {
    @Override
    public IscsiOpcode opcode() {
      return IscsiOpcode.NOP_IN;
    }

    @Override
    public void encodeHeader(ByteBuf out) {
      int b = Bhs.start(out, 0x20, 0x80, data.readableBytes());
      out.setLong(b + 8, lun).setInt(b + 16, itt).setInt(b + 20, ttt).setInt(b + 24, statSn)
          .setInt(b + 28, expCmdSn).setInt(b + 32, maxCmdSn);
    }
  }

  /**
   * SCSI Response (section 11.4). {@code data} holds the 2-byte SenseLength and the sense data.
   *
   * @param residualFlags bits o 0x10, u 0x08, O 0x04, U 0x02 of byte 1
   */
  record ScsiResponse(int residualFlags, int response, int status, int itt, int statSn,
      int expCmdSn, int maxCmdSn, int expDataSn, int bidiResidualCount, int residualCount,
      ByteBuf data) implements TargetPdu {
    @Override
    public IscsiOpcode opcode() {
      return IscsiOpcode.SCSI_RESPONSE;
    }

    @Override
    public void encodeHeader(ByteBuf out) {
      int b = Bhs.start(out, 0x21, 0x80 | (residualFlags & 0x1e), data.readableBytes());
      out.setByte(b + 2, response).setByte(b + 3, status).setInt(b + 16, itt)
          .setInt(b + 24, statSn).setInt(b + 28, expCmdSn).setInt(b + 32, maxCmdSn)
          .setInt(b + 36, expDataSn).setInt(b + 40, bidiResidualCount)
          .setInt(b + 44, residualCount);
    }
  }

  /** Task Management Function Response (section 11.6). */
  record TaskManagementResponse(int response, int itt, int statSn, int expCmdSn, int maxCmdSn)
      implements TargetPdu {
    public static final int FUNCTION_COMPLETE = 0;
    public static final int TASK_DOES_NOT_EXIST = 1;
    public static final int LUN_DOES_NOT_EXIST = 2;
    public static final int TASK_STILL_ALLEGIANT = 3;
    public static final int REASSIGNMENT_NOT_SUPPORTED = 4;
    public static final int FUNCTION_NOT_SUPPORTED = 5;
    public static final int AUTHORIZATION_FAILED = 6;
    public static final int FUNCTION_REJECTED = 255;

    @Override
    public IscsiOpcode opcode() {
      return IscsiOpcode.TASK_MANAGEMENT_RESPONSE;
    }

    @Override
    public ByteBuf data() {
      return Unpooled.EMPTY_BUFFER;
    }

    @Override
    public void encodeHeader(ByteBuf out) {
      int b = Bhs.start(out, 0x22, 0x80, 0);
      out.setByte(b + 2, response).setInt(b + 16, itt).setInt(b + 24, statSn)
          .setInt(b + 28, expCmdSn).setInt(b + 32, maxCmdSn);
    }
  }

  /** Login Response (section 11.13). */
  record LoginResponse(boolean transit, boolean cont, int csg, int nsg, int versionMax,
      int versionActive, long isid, int tsih, int itt, int statSn, int expCmdSn, int maxCmdSn,
      int statusClass, int statusDetail, ByteBuf data) implements TargetPdu {
    @Override
    public IscsiOpcode opcode() {
      return IscsiOpcode.LOGIN_RESPONSE;
    }

    /** The same response with another TSIH (assigned when the session is admitted). */
    public LoginResponse withTsih(int newTsih) {
      return new LoginResponse(transit, cont, csg, nsg, versionMax, versionActive, isid, newTsih,
          itt, statSn, expCmdSn, maxCmdSn, statusClass, statusDetail, data);
    }

    /** The same response with sequence numbers filled in. */
    public LoginResponse withSequence(int newStatSn, int newExpCmdSn, int newMaxCmdSn) {
      return new LoginResponse(transit, cont, csg, nsg, versionMax, versionActive, isid, tsih,
          itt, newStatSn, newExpCmdSn, newMaxCmdSn, statusClass, statusDetail, data);
    }

    @Override
    public void encodeHeader(ByteBuf out) {
      int flags = (transit ? 0x80 : 0) | (cont ? 0x40 : 0) | ((csg & 3) << 2) | (nsg & 3);
      int b = Bhs.start(out, 0x23, flags, data.readableBytes());
      out.setByte(b + 2, versionMax).setByte(b + 3, versionActive)
          .setLong(b + 8, (isid << 16) | (tsih & 0xffff)).setInt(b + 16, itt)
          .setInt(b + 24, statSn).setInt(b + 28, expCmdSn).setInt(b + 32, maxCmdSn)
          .setByte(b + 36, statusClass).setByte(b + 37, statusDetail);
    }
  }

  /** Text Response (section 11.11). */
  record TextResponse(boolean isFinal, boolean cont, long lun, int itt, int ttt, int statSn,
      int expCmdSn, int maxCmdSn, ByteBuf data) implements TargetPdu {
    @Override
    public IscsiOpcode opcode() {
      return IscsiOpcode.TEXT_RESPONSE;
    }

    @Override
    public void encodeHeader(ByteBuf out) {
      int b = Bhs.start(out, 0x24, (isFinal ? 0x80 : 0) | (cont ? 0x40 : 0),
          data.readableBytes());
      out.setLong(b + 8, lun).setInt(b + 16, itt).setInt(b + 20, ttt).setInt(b + 24, statSn)
          .setInt(b + 28, expCmdSn).setInt(b + 32, maxCmdSn);
    }
  }

  /**
   * SCSI Data-In (section 11.7). With {@code statusPresent} (phase collapse) it carries the status,
   * StatSN and residual; the F bit is then set too. The data segment is either {@code data} or,
   * when {@code file} is not null, that file range (sent with {@code sendfile(2)}; {@code data}
   * is then empty and reference counting applies to {@code file}).
   *
   * @param residualFlags O 0x04 and U 0x02, only with {@code statusPresent}
   */
  record DataIn(boolean isFinal, boolean statusPresent, int residualFlags, int status, long lun,
      int itt, int ttt, int statSn, int expCmdSn, int maxCmdSn, int dataSn, int bufferOffset,
      int residualCount, ByteBuf data, FileRegion file) implements TargetPdu {

    /** Data-In whose data segment is a buffer. */
    public DataIn(boolean isFinal, boolean statusPresent, int residualFlags, int status, long lun,
        int itt, int ttt, int statSn, int expCmdSn, int maxCmdSn, int dataSn, int bufferOffset,
        int residualCount, ByteBuf data) {
      this(isFinal, statusPresent, residualFlags, status, lun, itt, ttt, statSn, expCmdSn,
          maxCmdSn, dataSn, bufferOffset, residualCount, data, null);
    }

    @Override
    public IscsiOpcode opcode() {
      return IscsiOpcode.SCSI_DATA_IN;
    }

    /** DataSegmentLength: the buffer's readable bytes or the file range's length. */
    public int segmentLength() {
      return file != null ? (int) file.count() : data.readableBytes();
    }

    @Override
    public void encodeHeader(ByteBuf out) {
      int flags = (isFinal ? 0x80 : 0) | (statusPresent ? 0x01 | (residualFlags & 0x06) : 0);
      int b = Bhs.start(out, 0x25, flags, segmentLength());
      out.setByte(b + 3, statusPresent ? status : 0).setLong(b + 8, lun).setInt(b + 16, itt)
          .setInt(b + 20, ttt).setInt(b + 24, statusPresent ? statSn : 0)
          .setInt(b + 28, expCmdSn).setInt(b + 32, maxCmdSn).setInt(b + 36, dataSn)
          .setInt(b + 40, bufferOffset).setInt(b + 44, statusPresent ? residualCount : 0);
    }

    /** What the reference counting of this PDU applies to: the file range or the buffer. */
    private ReferenceCounted payload() {
      return file != null ? file : data;
    }

    @Override
    public int refCnt() {
      return payload().refCnt();
    }

    @Override
    public DataIn retain() {
      payload().retain();
      return this;
    }

    @Override
    public DataIn retain(int increment) {
      payload().retain(increment);
      return this;
    }

    @Override
    public DataIn touch(Object hint) {
      payload().touch(hint);
      return this;
    }

    @Override
    public boolean release() {
      return payload().release();
    }

    @Override
    public boolean release(int decrement) {
      return payload().release(decrement);
    }
  }

  /** Logout Response (section 11.15). */
  record LogoutResponse(int response, int itt, int statSn, int expCmdSn, int maxCmdSn,
      int time2Wait, int time2Retain) implements TargetPdu {
    @Override
    public IscsiOpcode opcode() {
      return IscsiOpcode.LOGOUT_RESPONSE;
    }

    @Override
    public ByteBuf data() {
      return Unpooled.EMPTY_BUFFER;
    }

    @Override
    public void encodeHeader(ByteBuf out) {
      int b = Bhs.start(out, 0x26, 0x80, 0);
      out.setByte(b + 2, response).setInt(b + 16, itt).setInt(b + 24, statSn)
          .setInt(b + 28, expCmdSn).setInt(b + 32, maxCmdSn).setShort(b + 40, time2Wait)
          .setShort(b + 42, time2Retain);
    }
  }

  /** Ready To Transfer (section 11.8). */
  record R2t(long lun, int itt, int ttt, int statSn, int expCmdSn, int maxCmdSn, int r2tSn,
      int bufferOffset, int desiredLength) implements TargetPdu {
    @Override
    public IscsiOpcode opcode() {
      return IscsiOpcode.R2T;
    }

    @Override
    public ByteBuf data() {
      return Unpooled.EMPTY_BUFFER;
    }

    @Override
    public void encodeHeader(ByteBuf out) {
      int b = Bhs.start(out, 0x31, 0x80, 0);
      out.setLong(b + 8, lun).setInt(b + 16, itt).setInt(b + 20, ttt).setInt(b + 24, statSn)
          .setInt(b + 28, expCmdSn).setInt(b + 32, maxCmdSn).setInt(b + 36, r2tSn)
          .setInt(b + 40, bufferOffset).setInt(b + 44, desiredLength);
    }
  }

  /** Reject (section 11.17); {@code data} is the rejected PDU's header. */
  record Reject(int reason, int statSn, int expCmdSn, int maxCmdSn, int dataSn, ByteBuf data)
      implements TargetPdu {
    @Override
    public int itt() {
      return -1;
    }

    @Override
    public IscsiOpcode opcode() {
      return IscsiOpcode.REJECT;
    }

    @Override
    public void encodeHeader(ByteBuf out) {
      int b = Bhs.start(out, 0x3f, 0x80, data.readableBytes());
      out.setByte(b + 2, reason).setInt(b + 16, -1).setInt(b + 24, statSn)
          .setInt(b + 28, expCmdSn).setInt(b + 32, maxCmdSn).setInt(b + 36, dataSn);
    }
  }
}
