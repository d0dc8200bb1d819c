package org.iscsicsi.target.session;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import java.util.ArrayList;
import java.util.List;
import org.iscsicsi.target.pdu.InitiatorPdu.DataOut;
import org.iscsicsi.target.scsi.DataDirection;
import org.iscsicsi.target.scsi.TaskAttribute;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link DataOutCollector}: immediate data and Data-Out segments are gathered without a copy (each
 * segment a component that shares the received memory) and read back in offset order; the RFC
 * 7143 rules of section 11.7 with DataPDUInOrder=Yes and DataSequenceInOrder=Yes reject Data-Out
 * out of order, overlapping what arrived, past its sequence, with the wrong DataSN or for no open
 * sequence, leaving the task as it was; a sequence closes on its F bit or its length; many small
 * segments are merged into one buffer; every buffer is released (leak detector at PARANOID).
 */
class DataOutCollectorTest {

  private static final int RESERVED = 0xffffffff;
  private static final ByteBufAllocator ALLOC = PooledByteBufAllocator.DEFAULT;
  private final List<ByteBuf> received = new ArrayList<>();

  @BeforeAll
  static void paranoid() {
    ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
  }

  @AfterEach
  void allReleased() {
    for (ByteBuf b : received) {
      assertThat(b.refCnt()).as("segment released").isZero();
    }
  }

  private ByteBuf segment(int offset, int length) {
    ByteBuf b = ALLOC.directBuffer(length);
    for (int i = 0; i < length; i++) {
      b.writeByte((byte) (offset + i) * 7);
    }
    received.add(b);
    return b;
  }

  private static ScsiTask task(int edtl) {
    return new ScsiTask(1, 0, 0, new byte[16], 1, edtl, DataDirection.WRITE,
        TaskAttribute.SIMPLE);
  }

  private DataOut dataOut(int ttt, int dataSn, int offset, int length, boolean isFinal) {
    return new DataOut(isFinal, 0, 1, ttt, 0, dataSn, offset, segment(offset, length));
  }

  /** Accepts like the connection does: the PDU is released either way. */
  private static String offer(ScsiTask task, DataOut d) {
    try {
      return DataOutCollector.accept(task, d);
    } finally {
      d.release();
    }
  }

  private static void assertPattern(ByteBuf data, int length) {
    assertThat(data.readableBytes()).isEqualTo(length);
    for (int i = 0; i < length; i++) {
      assertThat(data.getByte(data.readerIndex() + i)).isEqualTo((byte) (i * 7));
    }
  }

  @Test
  void segmentsAreGatheredWithoutACopy() {
    ScsiTask task = task(12288);
    ByteBuf immediate = segment(0, 4096);
    DataOutCollector.start(ALLOC, task, immediate);
    task.unsolicited = new ScsiTask.Sequence(RESERVED, 4096, 4096);
    assertThat(offer(task, dataOut(RESERVED, 0, 4096, 4096, true))).isNull();
    assertThat(task.unsolicited).isNull();
    task.r2ts.put(5, new ScsiTask.Sequence(5, 8192, 4096));
    assertThat(offer(task, dataOut(5, 0, 8192, 2048, false))).isNull();
    assertThat(offer(task, dataOut(5, 1, 10240, 2048, true))).isNull();
    assertThat(task.r2ts).isEmpty();
    assertThat(task.received).isEqualTo(12288);

    ByteBuf data = DataOutCollector.finish(ALLOC, task.dataOut);
    CompositeByteBuf composite = (CompositeByteBuf) data;
    assertThat(composite.numComponents()).isEqualTo(4);
    // the gathered data shares the received memory: no copy was made
    immediate.setByte(100, 42);
    assertThat(data.getByte(100)).isEqualTo((byte) 42);
    immediate.setByte(100, 100 * 7);
    assertThat(data.nioBufferCount()).isEqualTo(4);
    assertPattern(data, 12288);
    data.release();
  }

  @Test
  void outOfOrderOverlappingAndStrayDataOutIsRejected() {
    ScsiTask task = task(8192);
    DataOutCollector.start(ALLOC, task, ALLOC.directBuffer(0));
    task.r2ts.put(9, new ScsiTask.Sequence(9, 0, 8192));
    assertThat(offer(task, dataOut(9, 0, 0, 2048, false))).isNull();
    assertThat(offer(task, dataOut(9, 1, 4096, 2048, false))).contains("out of order");
    assertThat(offer(task, dataOut(9, 1, 1024, 2048, false))).contains("out of order");
    assertThat(offer(task, dataOut(9, 2, 2048, 2048, false))).contains("DataSN 2 expected 1");
    assertThat(offer(task, dataOut(9, 1, 2048, 8192, false))).contains("out of order");
    assertThat(offer(task, dataOut(8, 0, 2048, 2048, false))).contains("no open sequence");
    assertThat(offer(task, dataOut(RESERVED, 0, 2048, 2048, false)))
        .contains("no open sequence");
    assertThat(task.received).as("rejected PDUs leave the task as it was").isEqualTo(2048);
    assertThat(offer(task, dataOut(9, 1, 2048, 6144, true))).isNull();
    ByteBuf data = DataOutCollector.finish(ALLOC, task.dataOut);
    assertPattern(data, 8192);
    data.release();
  }

  @Test
  void anUnsolicitedBurstEndingEarlyMovesTheNextR2t() {
    ScsiTask task = task(16384);
    DataOutCollector.start(ALLOC, task, segment(0, 1024));
    task.unsolicited = new ScsiTask.Sequence(RESERVED, 1024, 8192);
    assertThat(offer(task, dataOut(RESERVED, 0, 1024, 1024, true))).isNull();
    assertThat(task.unsolicited).isNull();
    assertThat(task.nextR2tOffset).isEqualTo(2048);
    task.releaseData();
  }

  @Test
  void manySmallSegmentsAreMergedOnce() {
    ScsiTask task = task(512 * 40);
    DataOutCollector.start(ALLOC, task, ALLOC.directBuffer(0));
    task.r2ts.put(3, new ScsiTask.Sequence(3, 0, 512 * 40));
    for (int i = 0; i < 40; i++) {
      assertThat(offer(task, dataOut(3, i, i * 512, 512, i == 39))).isNull();
    }
    ByteBuf data = DataOutCollector.finish(ALLOC, task.dataOut);
    assertThat(data).isNotInstanceOf(CompositeByteBuf.class);
    assertThat(data.nioBufferCount()).isEqualTo(1);
    assertPattern(data, 512 * 40);
    data.release();
  }

  @Test
  void anAbortedTaskReleasesWhatItGathered() {
    ScsiTask task = task(8192);
    DataOutCollector.start(ALLOC, task, segment(0, 4096));
    task.r2ts.put(4, new ScsiTask.Sequence(4, 4096, 4096));
    assertThat(offer(task, dataOut(4, 0, 4096, 1024, false))).isNull();
    task.aborted = true;
    task.releaseData();
    assertThat(task.dataOut).isNull();
  }
}
