package org.iscsicsi.target.scsi;

import java.util.concurrent.CompletionStage;

/**
 * START STOP UNIT (SBC-3 5.20). A file-backed unit is always spinning: START and power conditions
 * are accepted, an eject (LOEJ with START 0) is refused with MEDIUM REMOVAL PREVENTED while any
 * nexus prevents removal, and otherwise accepted without effect (the medium is not removable).
 */
final class StartStopUnit implements ScsiCommand {

  @Override
  public CompletionStage<ScsiResponse> run(CommandContext c) throws CheckCondition {
    byte[] cdb = c.cdb;
    boolean loej = (cdb[4] & 0x02) != 0;
    boolean start = (cdb[4] & 0x01) != 0;
    int powerCondition = (cdb[4] & 0xf0) >>> 4;
    if (powerCondition == 0 && loej && !start && c.lu.removalPrevented()) {
      throw new CheckCondition(Sense.MEDIUM_REMOVAL_PREVENTED);
    }
    return CommandContext.good();
  }
}
