package org.iscsicsi.target.scsi;

import java.util.concurrent.CompletionStage;

/**
 * PRE-FETCH (10), (16) (SBC-3 5.6, 5.7): the range is checked; the page cache does the rest, so
 * status is GOOD (the cache is not promised to hold the blocks, hence not CONDITION MET).
 */
final class Prefetch implements ScsiCommand {

  @Override
  public CompletionStage<ScsiResponse> run(CommandContext c) throws CheckCondition {
    BlockRange range = BlockRange.of(c.cdb);
    c.checkRange(range.lba(), range.blocks());
    return CommandContext.good();
  }
}
