package org.iscsicsi.target.scsi;

import java.util.concurrent.CompletionStage;

/**
 * PERSISTENT RESERVE IN (SPC-4 6.13): READ KEYS, READ RESERVATION, REPORT CAPABILITIES and READ
 * FULL STATUS.
 */
final class PersistentReserveIn implements ScsiCommand {

  @Override
  public CompletionStage<ScsiResponse> run(CommandContext c) throws CheckCondition {
    byte[] cdb = c.cdb;
    int allocation = Cdb.u16(cdb, 7);
    PersistentReservations pr = c.lu.persistentReservations;
    byte[] data = switch (cdb[1] & 0x1f) {
      case 0 -> pr.readKeys();
      case 1 -> pr.readReservation();
      case 2 -> PersistentReservations.reportCapabilities();
      case 3 -> pr.readFullStatus(c.lu.relativeTargetPort());
      default -> throw CheckCondition.invalidCdbField(1, 4);
    };
    return CommandContext.data(data, allocation);
  }
}
