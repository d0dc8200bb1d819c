package org.iscsicsi.target.scsi;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.util.concurrent.CompletionStage;

/** READ (6), (10), (12), (16) (SBC-3 5.8-5.11). No protection information: RDPROTECT must be 0. */
final class Read implements ScsiCommand {

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
    return c.io(false, () -> {
      ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer(length);
      try {
        c.unit().read(offset, buf.nioBuffer(0, length));
        buf.writerIndex(length);
        return ScsiResponse.good(buf);
      } catch (Exception e) {
        buf.release();
        throw e;
      }
    });
  }
}
