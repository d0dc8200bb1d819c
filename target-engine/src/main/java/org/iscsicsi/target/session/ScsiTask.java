package org.iscsicsi.target.session;

import io.netty.buffer.ByteBuf;
import java.util.HashMap;
import java.util.Map;
import org.iscsicsi.target.scsi.DataDirection;
import org.iscsicsi.target.scsi.TaskAttribute;

/**
 * One SCSI task of a session, from its SCSI Command PDU to its status: the Data-Out gathered so far
 * (immediate, unsolicited, solicited by R2T, RFC 7143 section 10.7) and the R2Ts outstanding.
 */
final class ScsiTask {

  /** One Data-Out sequence: the unsolicited one (TTT 0xffffffff) or one per R2T. */
  static final class Sequence {
    final int ttt;
    final int offset;
    final int length;
    int received;
    int nextDataSn;

    Sequence(int ttt, int offset, int length) {
      this.ttt = ttt;
      this.offset = offset;
      this.length = length;
    }
  }

  final int itt;
  final long lunField;
  final long lun;
  final byte[] cdb;
  final int cmdSn;
  final int expectedLength;
  final DataDirection direction;
  final TaskAttribute attribute;
  ByteBuf dataOut;
  int received;
  /**
   * Bytes of Data-Out gathered before the task runs: what the CDB describes (at most the
   * expected length), or the unsolicited data the initiator may send if that is more.
   */
  int dataLimit;
  /** Bytes this task counts against the connection's {@link DataPathLimits#maxBytesInFlight}. */
  long reservation;
  Sequence unsolicited;
  int nextR2tOffset;
  int r2tSn;
  final Map<Integer, Sequence> r2ts = new HashMap<>(4);
  boolean executing;
  boolean aborted;

  ScsiTask(int itt, long lunField, long lun, byte[] cdb, int cmdSn, int expectedLength,
      DataDirection direction, TaskAttribute attribute) {
    this.itt = itt;
    this.lunField = lunField;
    this.lun = lun;
    this.cdb = cdb;
    this.cmdSn = cmdSn;
    this.expectedLength = expectedLength;
    this.direction = direction;
    this.attribute = attribute;
  }

  /** Drops gathered data (abort, connection loss) unless the SCSI layer already owns it. */
  void releaseData() {
    if (dataOut != null && !executing) {
      dataOut.release();
    }
    dataOut = null;
  }
}
