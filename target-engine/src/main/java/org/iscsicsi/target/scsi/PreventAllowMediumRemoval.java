package org.iscsicsi.target.scsi;

import java.util.concurrent.CompletionStage;

/**
 * PREVENT ALLOW MEDIUM REMOVAL (SBC-3 5.5): records, per I_T nexus, whether removal is prevented;
 * cleared by ALLOW, nexus loss and resets.
 */
final class PreventAllowMediumRemoval implements ScsiCommand {

  @Override
  public CompletionStage<ScsiResponse> run(CommandContext c) throws CheckCondition {
    int prevent = c.cdb[4] & 0x03;
    if (prevent > 1) {
      throw CheckCondition.invalidCdbField(4, 1);
    }
    c.lu.prevent(c.nexusId, prevent == 1);
    return CommandContext.good();
  }
}
