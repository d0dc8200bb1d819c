package org.iscsicsi.target.scsi;

import java.util.concurrent.CompletionStage;

/** One SCSI command's behaviour: validate the CDB, do the work, build the response. */
@FunctionalInterface
interface ScsiCommand {

  /**
   * Runs the command. Synchronous validation failures are thrown; the returned stage may also
   * complete with a CHECK CONDITION response.
   */
  CompletionStage<ScsiResponse> run(CommandContext context) throws CheckCondition;
}
