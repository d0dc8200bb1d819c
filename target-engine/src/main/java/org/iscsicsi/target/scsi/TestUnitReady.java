package org.iscsicsi.target.scsi;

import java.util.concurrent.CompletionStage;

/** TEST UNIT READY (SPC-4 6.47): ready unless the backing file is unusable. */
final class TestUnitReady implements ScsiCommand {

  @Override
  public CompletionStage<ScsiResponse> run(CommandContext c) throws CheckCondition {
    if (c.unit().condition().isPresent()) {
      throw new CheckCondition(Sense.NOT_READY_MANUAL_INTERVENTION);
    }
    return CommandContext.good();
  }
}
