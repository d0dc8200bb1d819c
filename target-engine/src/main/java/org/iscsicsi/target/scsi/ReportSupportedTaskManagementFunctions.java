package org.iscsicsi.target.scsi;

import java.util.concurrent.CompletionStage;

/**
 * REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS (SPC-4 6.36): ABORT TASK, ABORT TASK SET, CLEAR TASK
 * SET, LOGICAL UNIT RESET, TARGET RESET (the iSCSI layer carries them out, RFC 7143 11.5).
 */
final class ReportSupportedTaskManagementFunctions implements ScsiCommand {

  @Override
  public CompletionStage<ScsiResponse> run(CommandContext c) throws CheckCondition {
    byte[] cdb = c.cdb;
    boolean repd = (cdb[2] & 0x80) != 0;
    long allocation = Cdb.u32(cdb, 6);
    if (allocation < 4) {
      throw CheckCondition.invalidCdbField(6, -1);
    }
    byte[] d = new byte[repd ? 16 : 4];
    d[0] = (byte) (0x80 | 0x40 | 0x10 | 0x08 | 0x02); // ATS ATSS CTSS LURS TRS
    if (repd) {
      d[3] = 0x0c;
    }
    return CommandContext.data(d, allocation);
  }
}
