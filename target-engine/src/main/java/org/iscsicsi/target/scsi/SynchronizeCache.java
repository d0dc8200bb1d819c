package org.iscsicsi.target.scsi;

import java.util.concurrent.CompletionStage;

/**
 * SYNCHRONIZE CACHE (10), (16) (SBC-3 5.22, 5.23): forces the backing file to stable storage before
 * status, whatever the range (IMMED is honoured only in that status still waits for the flush:
 * returning early would let an initiator believe unflushed data was safe).
 */
final class SynchronizeCache implements ScsiCommand {

  @Override
  public CompletionStage<ScsiResponse> run(CommandContext c) throws CheckCondition {
    BlockRange range = BlockRange.of(c.cdb);
    c.checkRange(range.lba(), range.blocks());
    return c.io(true, () -> {
      c.io().flush();
      return ScsiResponse.good();
    });
  }
}
