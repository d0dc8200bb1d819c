package org.iscsicsi.target.scsi;

import java.io.ByteArrayOutputStream;
import java.util.concurrent.CompletionStage;
import org.iscsicsi.target.lun.LogicalUnit;

/**
 * GET LBA STATUS (SBC-3 5.4): mapped and deallocated extents from the starting LBA, found with
 * lseek(2) SEEK_DATA/SEEK_HOLE on the backing file. A block is mapped if any byte of it is.
 */
final class GetLbaStatus implements ScsiCommand {

  private static final int MAX_DESCRIPTORS = 64;

  @Override
  public CompletionStage<ScsiResponse> run(CommandContext c) throws CheckCondition {
    byte[] cdb = c.cdb;
    long lba = Cdb.u64(cdb, 2);
    long allocation = Cdb.u32(cdb, 10);
    if (Long.compareUnsigned(lba, c.blocks()) >= 0) {
      throw new CheckCondition(Sense.LBA_OUT_OF_RANGE);
    }
    if (allocation == 0) {
      return CommandContext.good();
    }
    int bs = c.blockSize();
    int wanted = (int) Math.max(1, Math.min(MAX_DESCRIPTORS, (allocation - 8) / 16));
    return c.io(false, () -> {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      long block = lba;
      long total = c.blocks();
      for (int i = 0; i < wanted && block < total; i++) {
        LogicalUnit.Extent e = c.unit().extentAt(block * bs);
        long startByte = block * bs;
        long endByte = startByte + e.length();
        long endBlock = e.mapped() ? (endByte + bs - 1) / bs : Math.max(block + 1, endByte / bs);
        if (!e.mapped() && endByte % bs != 0) {
          // the hole ends inside a block: that block holds data, the hole covers the ones before
          endBlock = Math.max(block + 1, endByte / bs);
        }
        endBlock = Math.min(endBlock, total);
        byte[] d = new byte[16];
        Cdb.put64(d, 0, block);
        Cdb.put32(d, 8, endBlock - block);
        d[12] = (byte) (e.mapped() ? 0 : 1);
        out.writeBytes(d);
        block = endBlock;
      }
      byte[] body = out.toByteArray();
      byte[] all = new byte[8 + body.length];
      Cdb.put32(all, 0, body.length + 4);
      System.arraycopy(body, 0, all, 8, body.length);
      int n = (int) Math.min(all.length, allocation);
      return ScsiResponse.good(io.netty.buffer.Unpooled.wrappedBuffer(all, 0, n));
    });
  }
}
