package org.iscsicsi.target.scsi;

import java.util.concurrent.CompletionStage;

/**
 * REQUEST SENSE (SPC-4 6.29): returns (and thereby clears) the pending unit attention of the
 * nexus, LOGICAL UNIT NOT SUPPORTED for an absent LUN, else NO SENSE; fixed or, with DESC,
 * descriptor format.
 */
final class RequestSense {

  private RequestSense() {
  }

  static CompletionStage<ScsiResponse> run(CommandContext c, Sense sense) throws CheckCondition {
    byte[] cdb = c.cdb;
    if ((cdb[1] & 0xfe) != 0) {
      throw CheckCondition.invalidCdbField(1, -1);
    }
    boolean desc = (cdb[1] & 0x01) != 0;
    return CommandContext.data(desc ? sense.toDescriptorFormat() : sense.toFixedFormat(),
        Cdb.u8(cdb, 4));
  }
}
