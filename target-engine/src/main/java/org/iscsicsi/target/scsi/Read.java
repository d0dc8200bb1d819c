package org.iscsicsi.target.scsi;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletionStage;
import org.iscsicsi.target.lun.LunFileRegion;

/**
 * READ (6), (10), (12), (16) (SBC-3 5.8-5.11). No protection information: RDPROTECT must be 0.
 *
 * <p>The data comes back in one of three ways, cheapest first: a range of the LUN's file for
 * {@code sendfile(2)} when the transport allows it and the read is large; a pooled buffer filled
 * on the caller's thread when the page cache holds the data (small reads); else a pooled buffer
 * filled on an I/O thread.
 */
final class Read implements ScsiCommand {

  /** Reads at least this long go out by sendfile when the transport allows it. */
  static final int FILE_REGION_MIN = 64 * 1024;
  /** Reads up to this long are tried from the page cache on the caller's thread. */
  static final int CACHED_READ_MAX = 128 * 1024;

  @Override
  public CompletionStage<ScsiResponse> run(CommandContext c) throws CheckCondition {
    byte[] cdb = c.cdb;
    if (cdb[0] != 0x08 && (cdb[1] & 0xe0) != 0) {
      throw CheckCondition.invalidCdbField(1, 7);
    }
    BlockRange range = BlockRange.of(cdb);
    c.checkRange(range.lba(), range.blocks());
    if (range.blocks() > VpdPages.maxTransferBlocks(c.blockSize())) {
      throw CheckCondition.invalidCdbField(cdb[0] == 0x08 ? 4 : cdb[0] == 0x28 ? 7 : 6, -1);
    }
    if (range.blocks() == 0) {
      return CommandContext.good();
    }
    return read(c, range);
  }

  static CompletionStage<ScsiResponse> read(CommandContext c, BlockRange range) {
    int length = (int) (range.blocks() * c.blockSize());
    long offset = range.lba() * c.blockSize();
    CommandContext.IoTask blocking = () -> intoPooledBuffer(length, dst -> {
      c.unit().read(offset, dst);
      return true;
    });
    if (c.request.dataInByFile() && length >= FILE_REGION_MIN) {
      return c.limitedIo(false, length, () -> {
        LunFileRegion region = c.unit().region(offset, length);
        return region == null ? null : ScsiResponse.good(region);
      }, blocking);
    }
    if (length <= CACHED_READ_MAX) {
      return c.limitedIo(false, length,
          () -> intoPooledBuffer(length, dst -> c.unit().readCached(offset, dst)), blocking);
    }
    return c.limitedIo(false, length, null, blocking);
  }

  /** Fills {@code dst} completely, or returns false having declined (nothing is recorded). */
  private interface Fill {
    boolean into(ByteBuffer dst) throws IOException;
  }

  /**
   * GOOD with a pooled buffer of {@code length} bytes that {@code fill} filled, or null when it
   * declined; the buffer is released on every path that does not return it.
   */
  private static ScsiResponse intoPooledBuffer(int length, Fill fill) throws IOException {
    ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer(length);
    boolean filled = false;
    try {
      filled = fill.into(buf.nioBuffer(0, length));
    } finally {
      if (!filled) {
        buf.release();
      }
    }
    return filled ? ScsiResponse.good(buf.writerIndex(length)) : null;
  }
}
