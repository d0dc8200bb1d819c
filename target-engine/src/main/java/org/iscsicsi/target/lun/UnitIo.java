package org.iscsicsi.target.lun;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The I/O contract the SCSI commands that change a logical unit call (WRITE, WRITE SAME, UNMAP,
 * COMPARE AND WRITE, ORWRITE, SYNCHRONIZE CACHE): implemented by {@link LogicalUnit} for a LUN
 * of its own, and by the replication's {@code ReplicatedUnit}, which completes a change only
 * when every in-sync member has it (docs/replication.md section 2). Reads stay with the
 * {@link LogicalUnit}.
 */
public interface UnitIo {

  /** Writes the buffers' bytes at {@code offset}; {@code force}: on stable storage first. */
  void write(long offset, ByteBuffer[] srcs, boolean force) throws IOException;

  /** One buffer. */
  default void write(long offset, ByteBuffer src, boolean force) throws IOException {
    write(offset, new ByteBuffer[] {src}, force);
  }

  /**
   * Writes on the caller's thread when that is quick (the page cache); false when the caller
   * must use {@link #write} on an I/O thread instead.
   */
  boolean writeInline(long offset, ByteBuffer... srcs) throws IOException;

  /** Everything written before is on stable storage when this returns. */
  void flush() throws IOException;

  /** Deallocates (or zeroes) {@code [offset, offset + length)}. */
  void unmap(long offset, long length) throws IOException;
}
