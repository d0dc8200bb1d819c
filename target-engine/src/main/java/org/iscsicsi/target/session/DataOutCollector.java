package org.iscsicsi.target.session;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import org.iscsicsi.target.pdu.InitiatorPdu.DataOut;

/**
 * Gathers the Data-Out of one write task (immediate, unsolicited and R2T-solicited data, RFC 7143
 * section 10.7) without copying: each received data segment joins a composite buffer as a retained
 * slice of what the socket delivered, so the SCSI layer writes every segment where it lands
 * ({@code pwrite} at its offset). Many small segments are merged once at the end instead, where
 * one copy is cheaper than a system call per segment.
 *
 * <p>Each Data-Out PDU is checked against its sequence (section 11.7): a sequence that exists
 * (the unsolicited one, TTT 0xffffffff, or an outstanding R2T's), the next DataSN and the next
 * buffer offset within the sequence. This target negotiates DataPDUInOrder=Yes and
 * DataSequenceInOrder=Yes, so data out of order or overlapping what arrived is a protocol error.
 */
final class DataOutCollector {

  /** Above this many segments the data is merged into one buffer before it is written. */
  static final int MAX_SEGMENTS = 16;
  private static final int RESERVED = 0xffffffff;

  private DataOutCollector() {
  }

  /** Starts a task's Data-Out with the command's immediate data (may be empty); takes it. */
  static void start(ByteBufAllocator alloc, ScsiTask task, ByteBuf immediate) {
    CompositeByteBuf gathered = alloc.compositeDirectBuffer(Integer.MAX_VALUE);
    if (immediate.isReadable()) {
      gathered.addComponent(true, immediate);
    } else {
      immediate.release();
    }
    task.dataOut = gathered;
    task.received = gathered.readableBytes();
  }

  /**
   * Checks a Data-Out PDU against {@code task} and, if it fits, takes its data and advances the
   * sequence. Returns null when accepted, else why not (the caller rejects the PDU and releases
   * it). Does not release {@code d} either way; on acceptance its data is retained.
   */
  static String accept(ScsiTask task, DataOut d) {
    int length = d.data().readableBytes();
    ScsiTask.Sequence seq = d.ttt() == RESERVED ? task.unsolicited : task.r2ts.get(d.ttt());
    if (seq == null) {
      return "Data-Out for no open sequence";
    }
    if (d.dataSn() != seq.nextDataSn) {
      return "DataSN " + d.dataSn() + " expected " + seq.nextDataSn;
    }
    if (d.bufferOffset() != task.received
        || (long) d.bufferOffset() + length > (long) seq.offset + seq.length) {
      return "Data-Out offset " + d.bufferOffset() + "+" + length + " out of order";
    }
    if (length > 0) {
      ((CompositeByteBuf) task.dataOut).addComponent(true, d.data().retain());
    }
    task.received += length;
    seq.received += length;
    seq.nextDataSn++;
    boolean seqDone = seq.received == seq.length;
    if (d.isFinal() || seqDone) {
      if (seq == task.unsolicited) {
        task.unsolicited = null;
        if (!seqDone) {
          task.nextR2tOffset = task.received; // unsolicited burst ended early
        }
      } else {
        task.r2ts.remove(seq.ttt);
      }
    }
    return null;
  }

  /**
   * The gathered data for the SCSI layer: the composite as is, or, with many small segments, one
   * pooled buffer they are copied into (and the composite released).
   */
  static ByteBuf finish(ByteBufAllocator alloc, ByteBuf gathered) {
    if (!(gathered instanceof CompositeByteBuf c) || c.numComponents() <= MAX_SEGMENTS) {
      return gathered;
    }
    ByteBuf merged = alloc.directBuffer(c.readableBytes());
    try {
      merged.writeBytes(c, c.readerIndex(), c.readableBytes());
    } catch (RuntimeException e) {
      merged.release();
      throw e;
    } finally {
      c.release();
    }
    return merged;
  }
}
