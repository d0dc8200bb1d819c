package org.iscsicsi.target.lun;

import java.util.concurrent.atomic.LongAdder;

/** A LUN's I/O figures for metrics: operations, bytes and latencies of reads and writes. */
final class LunIoStats {

  private final LongAdder readOps = new LongAdder();
  private final LongAdder writeOps = new LongAdder();
  private final LongAdder readBytes = new LongAdder();
  private final LongAdder writeBytes = new LongAdder();
  private final IoLatency readLatency = new IoLatency();
  private final IoLatency writeLatency = new IoLatency();

  /** One read of {@code length} bytes that began at {@link System#nanoTime} {@code started}. */
  void recordRead(long started, long length) {
    readLatency.record(System.nanoTime() - started);
    readOps.increment();
    readBytes.add(length);
  }

  /** One write of {@code length} bytes that began at {@link System#nanoTime} {@code started}. */
  void recordWrite(long started, long length) {
    writeLatency.record(System.nanoTime() - started);
    writeOps.increment();
    writeBytes.add(length);
  }

  IoLatency readLatency() {
    return readLatency;
  }

  IoLatency writeLatency() {
    return writeLatency;
  }

  LunCounters counters() {
    return new LunCounters(readOps.sum(), writeOps.sum(), readBytes.sum(), writeBytes.sum());
  }
}
