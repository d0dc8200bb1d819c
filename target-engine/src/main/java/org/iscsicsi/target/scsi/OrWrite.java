package org.iscsicsi.target.scsi;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletionStage;

/**
 * ORWRITE (16) (SBC-3 5.13): ORs Data-Out into the blocks on the medium, atomically against other
 * writes (the LUN's atomicity lock is held exclusively, as for COMPARE AND WRITE).
 */
final class OrWrite implements ScsiCommand {

  @Override
  public CompletionStage<ScsiResponse> run(CommandContext c) throws CheckCondition {
    byte[] cdb = c.cdb;
    if ((cdb[1] & 0xe0) != 0) {
      throw CheckCondition.invalidCdbField(1, 7);
    }
    c.checkWritable();
    BlockRange range = BlockRange.of(cdb);
    c.checkRange(range.lba(), range.blocks());
    if (range.blocks() > VpdPages.maxTransferBlocks(c.blockSize())) {
      throw CheckCondition.invalidCdbField(10, -1);
    }
    int length = (int) (range.blocks() * c.blockSize());
    if (c.dataOutLength() < length) {
      length = c.dataOutLength() / c.blockSize() * c.blockSize();
    }
    if (length == 0) {
      return CommandContext.good();
    }
    int n = length;
    long offset = range.lba() * c.blockSize();
    boolean force = (cdb[1] & 0x08) != 0 || !c.lu.modePages.writeCacheEnabled();
    return c.io(true, () -> {
      long stamp = c.lu.atomicity.writeLock();
      try {
        ByteBuffer medium = ByteBuffer.allocate(n);
        c.unit().read(offset, medium);
        int base = c.dataOut().readerIndex();
        for (int i = 0; i < n; i++) {
          medium.put(i, (byte) (medium.get(i) | c.dataOut().getByte(base + i)));
        }
        c.io().write(offset, medium.clear(), force);
        return ScsiResponse.good();
      } finally {
        c.lu.atomicity.unlockWrite(stamp);
      }
    });
  }
}
