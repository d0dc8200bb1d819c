package org.iscsicsi.target.scsi;

import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletionStage;

/**
 * VERIFY (10), (12), (16) (SBC-3 5.26-5.28). BYTCHK 00b reads the blocks; 01b compares them with
 * Data-Out; 11b compares every block with the single block sent. A difference ends with
 * MISCOMPARE, its offset in the INFORMATION field.
 */
final class Verify implements ScsiCommand {

  @Override
  public CompletionStage<ScsiResponse> run(CommandContext c) throws CheckCondition {
    byte[] cdb = c.cdb;
    if ((cdb[1] & 0xe0) != 0) {
      throw CheckCondition.invalidCdbField(1, 7);
    }
    int bytchk = (cdb[1] >>> 1) & 0x03;
    if (bytchk == 2) {
      throw CheckCondition.invalidCdbField(1, 2);
    }
    BlockRange range = BlockRange.of(cdb);
    c.checkRange(range.lba(), range.blocks());
    if (range.blocks() > VpdPages.maxTransferBlocks(c.blockSize())) {
      throw CheckCondition.invalidCdbField(cdb[0] == 0x2f ? 7 : 6, -1);
    }
    if (range.blocks() == 0) {
      return CommandContext.good();
    }
    int bs = c.blockSize();
    int length = (int) (range.blocks() * bs);
    int needed = bytchk == 0 ? 0 : bytchk == 1 ? length : bs;
    if (c.dataOutLength() < needed) {
      throw CheckCondition.invalidCdbField(cdb[0] == 0x2f ? 7 : 6, -1);
    }
    long offset = range.lba() * bs;
    return c.io(false, () -> {
      ByteBuffer medium = ByteBuffer.allocate(length);
      c.unit().read(offset, medium);
      if (bytchk == 0) {
        return ScsiResponse.good();
      }
      ByteBuf out = c.dataOut();
      int base = out.readerIndex();
      for (int i = 0; i < length; i++) {
        byte expected = out.getByte(base + (bytchk == 1 ? i : i % bs));
        if (medium.get(i) != expected) {
          return new CheckCondition(Sense.miscompare(i)).toResponse();
        }
      }
      return ScsiResponse.good();
    });
  }
}
