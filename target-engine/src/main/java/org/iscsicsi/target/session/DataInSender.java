package org.iscsicsi.target.session;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.FileRegion;
import org.iscsicsi.target.lun.LunFileRegion;
import org.iscsicsi.target.pdu.TargetPdu;
import org.iscsicsi.target.scsi.DataDirection;
import org.iscsicsi.target.scsi.ScsiResponse;

/**
 * Sends the outcome of a SCSI command (RFC 7143 sections 10.4, 11.4, 11.7): Data-In split by the
 * initiator's MaxRecvDataSegmentLength and into sequences of at most MaxBurstLength, the status in
 * the last Data-In when there is no sense data (phase collapse, section 11.7.4), else in a SCSI
 * Response; residual overflow and underflow (section 11.4.5).
 *
 * <p>Data-In comes as a buffer (each PDU a retained slice of it, no copy) or as a range of the
 * LUN's file (each PDU a sub-range, sent with {@code sendfile(2)}); the PDUs are the same bytes on
 * the wire either way. It consumes the response's Data-In.
 */
final class DataInSender {

  private static final int RESERVED = 0xffffffff;

  /** The connection's sequence numbers at the moment of sending. */
  interface Numbers {
    /** Returns StatSN for a PDU that carries status and advances it. */
    int nextStatSn();

    int expCmdSn();

    int maxCmdSn();
  }

  private final SessionCountersRecorder counters;

  DataInSender(SessionCountersRecorder counters) {
    this.counters = counters;
  }

  /** Writes (does not flush) the Data-In PDUs and the status of {@code task}. */
  void send(ChannelHandlerContext ctx, int initiatorMrdsl, int maxBurstLength, ScsiTask task,
      ScsiResponse response, Numbers n) {
    Residual res = Residual.NONE;
    int dataSn = 0;
    boolean hasSense = response.sense() != null && response.sense().length > 0;
    if (task.direction == DataDirection.READ || task.direction == DataDirection.BIDIRECTIONAL) {
      long available = response.dataInLength();
      int send = (int) Math.min(available, task.expectedLength);
      res = Residual.of(available, task.expectedLength);
      boolean collapse = response.status() == ScsiResponse.GOOD && !hasSense;
      ByteBuf buffer = response.dataIn();
      LunFileRegion file = response.dataInFile();
      try {
        int offset = 0;
        while (offset < send) {
          int length = Math.min(Math.min(initiatorMrdsl, send - offset),
              maxBurstLength - offset % maxBurstLength);
          boolean last = offset + length == send;
          boolean endOfBurst = (offset + length) % maxBurstLength == 0;
          boolean status = last && collapse;
          ByteBuf slice = Unpooled.EMPTY_BUFFER;
          FileRegion range = null;
          if (file != null) {
            range = file.slice(offset, length);
          } else {
            slice = buffer.retainedSlice(buffer.readerIndex() + offset, length);
          }
          ctx.write(new TargetPdu.DataIn(last || endOfBurst, status, res.flags(),
              response.status(), task.lunField, task.itt, RESERVED, status ? n.nextStatSn() : 0,
              n.expCmdSn(), n.maxCmdSn(), dataSn++, offset, res.count(), slice, range));
          counters.txdataOctets.add(length);
          offset += length;
        }
      } finally {
        response.releaseDataIn();
      }
      if (send > 0 && collapse) {
        return;
      }
    } else {
      response.releaseDataIn();
      int described = response.transferLength();
      if (described >= 0) {
        res = Residual.of(described, task.expectedLength);
      }
    }
    ByteBuf sense = Unpooled.EMPTY_BUFFER;
    if (hasSense) {
      sense = Unpooled.buffer(2 + response.sense().length);
      sense.writeShort(response.sense().length).writeBytes(response.sense());
    }
    ctx.write(new TargetPdu.ScsiResponse(res.flags(), 0, response.status(), task.itt,
        n.nextStatSn(), n.expCmdSn(), n.maxCmdSn(), dataSn, 0, res.count(), sense));
  }

  /**
   * Residual overflow (O, 0x04: the command had more data than expected) or underflow (U, 0x02:
   * less) and its byte count, RFC 7143 section 11.4.5.
   */
  record Residual(int flags, int count) {
    static final Residual NONE = new Residual(0, 0);

    static Residual of(long actual, int expected) {
      if (actual > expected) {
        return new Residual(0x04, (int) (actual - expected));
      }
      if (actual < expected) {
        return new Residual(0x02, (int) (expected - actual));
      }
      return NONE;
    }
  }
}
