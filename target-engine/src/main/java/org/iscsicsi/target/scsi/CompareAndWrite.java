package org.iscsicsi.target.scsi;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletionStage;

/**
 * COMPARE AND WRITE (SBC-3 5.2): reads the blocks, compares them with the first half of Data-Out
 * and, if equal, writes the second half, all while holding the LUN's atomicity lock exclusively so
 * that no other write interleaves. A difference ends with MISCOMPARE and the offset of the first
 * differing byte in the INFORMATION field.
 */
final class CompareAndWrite implements ScsiCommand {

  @Override
  public CompletionStage<ScsiResponse> run(CommandContext c) throws CheckCondition {
    byte[] cdb = c.cdb;
    if ((cdb[1] & 0xe0) != 0) {
      throw CheckCondition.invalidCdbField(1, 7);
    }
    c.checkWritable();
    long lba = Cdb.u64(cdb, 2);
    int blocks = Cdb.u8(cdb, 13);
    c.checkRange(lba, blocks);
    if (blocks > VpdPages.MAX_COMPARE_AND_WRITE_BLOCKS) {
      throw CheckCondition.invalidCdbField(13, -1);
    }
    int bs = c.blockSize();
    int length = blocks * bs;
    if (c.dataOutLength() != 2 * length || c.request.expectedTransferLength() != 2 * length) {
      // e.g. 256 blocks of data announced with the one-byte field wrapped to 0 (the iSCSI layer
      // gathers only the data the CDB describes, so the expected length tells)
      throw CheckCondition.invalidCdbField(13, -1);
    }
    if (blocks == 0) {
      return CommandContext.good();
    }
    boolean force = (cdb[1] & 0x08) != 0 || !c.lu.modePages.writeCacheEnabled();
    long offset = lba * bs;
    return c.io(true, () -> {
      long stamp = c.lu.atomicity.writeLock();
      try {
        ByteBuffer medium = ByteBuffer.allocate(length);
        c.unit().read(offset, medium);
        int base = c.dataOut().readerIndex();
        for (int i = 0; i < length; i++) {
          if (medium.get(i) != c.dataOut().getByte(base + i)) {
            return new CheckCondition(Sense.miscompare(i)).toResponse();
          }
        }
        c.io().write(offset, c.dataOut().nioBuffer(base + length, length), force);
        return ScsiResponse.good();
      } finally {
        c.lu.atomicity.unlockWrite(stamp);
      }
    });
  }
}
