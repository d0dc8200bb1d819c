package org.iscsicsi.target.scsi;

import java.util.concurrent.CompletionStage;

/**
 * READ DEFECT DATA (10) and (12) (SBC-3 5.17, 5.18): a file has no grown or primary defects, so
 * the list is empty; the header echoes the lists asked for and the format.
 */
final class ReadDefectData implements ScsiCommand {

  @Override
  public CompletionStage<ScsiResponse> run(CommandContext c) throws CheckCondition {
    byte[] cdb = c.cdb;
    boolean ten = cdb[0] == 0x37;
    int flags = (ten ? cdb[2] : cdb[1]) & 0x1f;
    byte[] d = new byte[ten ? 4 : 8];
    d[1] = (byte) flags; // PLISTV, GLISTV, LIST FORMAT; list length 0
    return CommandContext.data(d, ten ? Cdb.u16(cdb, 7) : Cdb.u32(cdb, 6));
  }
}
