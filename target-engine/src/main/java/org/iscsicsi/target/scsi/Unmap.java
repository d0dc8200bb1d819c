package org.iscsicsi.target.scsi;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * UNMAP (SBC-3 5.25): every block descriptor's range is deallocated; on thin LUNs this punches
 * holes in the backing file, so the space goes back to the filesystem.
 */
final class Unmap implements ScsiCommand {

  @Override
  public CompletionStage<ScsiResponse> run(CommandContext c) throws CheckCondition {
    byte[] cdb = c.cdb;
    if ((cdb[1] & 0x01) != 0) {
      throw CheckCondition.invalidCdbField(1, 0); // ANCHOR not supported
    }
    c.checkWritable();
    int length = Cdb.u16(cdb, 7);
    if (length == 0) {
      return CommandContext.good();
    }
    if (length < 8) {
      throw new CheckCondition(Sense.PARAMETER_LIST_LENGTH_ERROR);
    }
    byte[] p = c.parameterList(length);
    if (p.length < 8) {
      throw new CheckCondition(Sense.PARAMETER_LIST_LENGTH_ERROR);
    }
    int descriptorBytes = Math.min(Cdb.u16(p, 2), p.length - 8) / 16 * 16;
    int count = descriptorBytes / 16;
    if (count > VpdPages.MAX_UNMAP_DESCRIPTORS) {
      throw CheckCondition.invalidParameterField(2, -1);
    }
    List<BlockRange> ranges = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      int off = 8 + 16 * i;
      long lba = Cdb.u64(p, off);
      long blocks = Cdb.u32(p, off + 8);
      c.checkRange(lba, blocks);
      ranges.add(new BlockRange(lba, blocks));
    }
    int bs = c.blockSize();
    return c.io(true, () -> {
      long stamp = c.lu.atomicity.readLock();
      try {
        for (BlockRange r : ranges) {
          c.io().unmap(r.lba() * bs, r.blocks() * bs);
        }
      } finally {
        c.lu.atomicity.unlockRead(stamp);
      }
      return ScsiResponse.good();
    });
  }
}
