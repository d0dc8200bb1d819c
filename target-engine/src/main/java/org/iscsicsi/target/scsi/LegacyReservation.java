package org.iscsicsi.target.scsi;

import java.util.concurrent.CompletionStage;

/**
 * RESERVE (6)/(10) and RELEASE (6)/(10) (SPC-2 7.21-7.24, kept by SPC-4 5.13): a whole-LUN
 * reservation for one I_T nexus, released by RELEASE, nexus loss and resets. RELEASE from another
 * nexus does nothing. Third-party reservations are not supported.
 */
final class LegacyReservation implements ScsiCommand {

  private final boolean reserve;

  LegacyReservation(boolean reserve) {
    this.reserve = reserve;
  }

  @Override
  public CompletionStage<ScsiResponse> run(CommandContext c) throws CheckCondition {
    byte[] cdb = c.cdb;
    boolean ten = cdb[0] == 0x56 || cdb[0] == 0x57;
    if (ten && (cdb[1] & 0x12) != 0) {
      throw CheckCondition.invalidCdbField(1, (cdb[1] & 0x10) != 0 ? 4 : 1);
    }
    if (!ten && (cdb[1] & 0x01) != 0) {
      throw CheckCondition.invalidCdbField(1, 0); // extents (obsolete)
    }
    if (reserve) {
      c.lu.reserveLegacy(c.nexusId);
    } else {
      c.lu.releaseLegacy(c.nexusId);
    }
    return CommandContext.good();
  }
}
