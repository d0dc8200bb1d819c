package org.iscsicsi.target.scsi;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletionStage;

/**
 * WRITE SAME (10), (16) (SBC-3 5.41, 5.42): one block of Data-Out (or zeros with NDOB) written to
 * every block of the range; 0 blocks means to the end of the medium. With UNMAP the range is
 * deallocated instead, so thin LUNs stay thin (LBPRZ: the blocks then read as zeros).
 */
final class WriteSame implements ScsiCommand {

  private static final int CHUNK = 1 << 20;

  @Override
  public CompletionStage<ScsiResponse> run(CommandContext c) throws CheckCondition {
    byte[] cdb = c.cdb;
    boolean sixteen = cdb[0] == (byte) 0x93;
    if ((cdb[1] & 0xe0) != 0) {
      throw CheckCondition.invalidCdbField(1, 7);
    }
    if ((cdb[1] & 0x10) != 0) {
      throw CheckCondition.invalidCdbField(1, 4); // ANCHOR not supported
    }
    if (!sixteen && (cdb[1] & 0x01) != 0) {
      throw CheckCondition.invalidCdbField(1, 0);
    }
    boolean unmap = (cdb[1] & 0x08) != 0;
    boolean ndob = sixteen && (cdb[1] & 0x01) != 0;
    c.checkWritable();
    BlockRange range = BlockRange.of(cdb);
    long blocks = range.blocks();
    if (blocks == 0) {
      c.checkRange(range.lba(), 0);
      blocks = c.blocks() - range.lba();
    }
    c.checkRange(range.lba(), blocks);
    int bs = c.blockSize();
    byte[] block = new byte[bs];
    if (!ndob) {
      if (c.dataOutLength() != bs) {
        throw CheckCondition.invalidCdbField(sixteen ? 10 : 7, -1);
      }
      c.dataOut().getBytes(c.dataOut().readerIndex(), block);
    }
    long offset = range.lba() * bs;
    long length = blocks * bs;
    // UNMAP asks for deallocation whatever the data (SBC-3 5.42: LBPRZ makes the blocks read as
    // zeros afterwards); NDOB or a zero block without UNMAP is still a write of zeros.
    boolean deallocate = unmap;
    if (length == 0) {
      return CommandContext.good();
    }
    return c.io(true, () -> {
      long stamp = c.lu.atomicity.readLock();
      try {
        if (deallocate) {
          c.io().unmap(offset, length);
        } else {
          int chunk = (int) Math.min(CHUNK / bs * bs, length);
          ByteBuffer pattern = ByteBuffer.allocateDirect(chunk);
          for (int i = 0; i < chunk; i += bs) {
            pattern.put(block);
          }
          boolean force = !c.lu.modePages.writeCacheEnabled();
          for (long done = 0; done < length; done += chunk) {
            int n = (int) Math.min(chunk, length - done);
            c.io().write(offset + done, pattern.clear().limit(n), force);
          }
        }
      } finally {
        c.lu.atomicity.unlockRead(stamp);
      }
      return ScsiResponse.good();
    });
  }

}
