package org.iscsicsi.target.scsi;

import java.util.concurrent.CompletionStage;

/**
 * READ CAPACITY (10) and (16) (SBC-3 5.15, 5.16). The 16-byte form reports LBPME on thin LUNs and
 * LBPRZ (unmapped blocks read as zeros).
 */
final class ReadCapacity {

  private ReadCapacity() {
  }

  static CompletionStage<ScsiResponse> run10(CommandContext c) throws CheckCondition {
    byte[] cdb = c.cdb;
    if ((cdb[8] & 0x01) == 0 && Cdb.u32(cdb, 2) != 0) {
      throw CheckCondition.invalidCdbField(2, -1);
    }
    byte[] d = new byte[8];
    long last = c.blocks() - 1;
    Cdb.put32(d, 0, last > 0xffffffffL ? 0xffffffffL : last);
    Cdb.put32(d, 4, c.blockSize());
    return CommandContext.data(d, 8);
  }

  static CompletionStage<ScsiResponse> run16(CommandContext c) {
    byte[] d = new byte[32];
    Cdb.put64(d, 0, c.blocks() - 1);
    Cdb.put32(d, 8, c.blockSize());
    boolean thin = c.unit().thin();
    d[14] = (byte) ((thin ? 0x80 : 0) | 0x40);
    return CommandContext.data(d, Cdb.u32(c.cdb, 10));
  }
}
