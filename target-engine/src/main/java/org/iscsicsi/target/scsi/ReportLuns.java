package org.iscsicsi.target.scsi;

import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * REPORT LUNS (SPC-4 6.33): the target's LUNs in flat space (LUN &lt; 256: peripheral device
 * addressing, else flat space addressing, SAM-5 4.7). Served on any LUN number.
 */
final class ReportLuns implements ScsiCommand {

  static final ReportLuns INSTANCE = new ReportLuns();

  @Override
  public CompletionStage<ScsiResponse> run(CommandContext c) throws CheckCondition {
    byte[] cdb = c.cdb;
    int select = cdb[2] & 0xff;
    if (select > 2) {
      throw CheckCondition.invalidCdbField(2, -1);
    }
    long allocation = Cdb.u32(cdb, 6);
    if (allocation < 16) {
      throw CheckCondition.invalidCdbField(6, -1);
    }
    List<Long> luns = select == 1 ? List.of() : List.copyOf(c.port.lunNumbers());
    byte[] d = new byte[8 + 8 * luns.size()];
    Cdb.put32(d, 0, 8L * luns.size());
    int p = 8;
    for (long lun : luns) {
      if (lun < 256) {
        d[p + 1] = (byte) lun;
      } else {
        d[p] = (byte) (0x40 | (lun >>> 8));
        d[p + 1] = (byte) lun;
      }
      p += 8;
    }
    return CommandContext.data(d, allocation);
  }
}
