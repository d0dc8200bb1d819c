package org.iscsicsi.target.scsi;

import java.util.concurrent.CompletionStage;

/**
 * PERSISTENT RESERVE OUT (SPC-4 6.14): REGISTER, RESERVE, RELEASE, CLEAR, PREEMPT, PREEMPT AND
 * ABORT and REGISTER AND IGNORE EXISTING KEY, with the basic 24-byte parameter list. SPEC_I_PT,
 * ALL_TG_PT, APTPL and REGISTER AND MOVE are not offered (REPORT CAPABILITIES says so).
 */
final class PersistentReserveOut implements ScsiCommand {

  @Override
  public CompletionStage<ScsiResponse> run(CommandContext c) throws CheckCondition {
    byte[] cdb = c.cdb;
    int action = cdb[1] & 0x1f;
    int scope = (cdb[2] & 0xf0) >>> 4;
    int type = cdb[2] & 0x0f;
    if (action > 6) {
      throw CheckCondition.invalidCdbField(1, 4);
    }
    long length = Cdb.u32(cdb, 5);
    if (length != 24) {
      throw new CheckCondition(Sense.PARAMETER_LIST_LENGTH_ERROR);
    }
    byte[] p = c.parameterList(24);
    if (p.length < 24) {
      throw new CheckCondition(Sense.PARAMETER_LIST_LENGTH_ERROR);
    }
    long key = Cdb.u64(p, 0);
    long serviceActionKey = Cdb.u64(p, 8);
    if ((p[20] & 0x08) != 0) {
      throw CheckCondition.invalidParameterField(20, 3); // SPEC_I_PT
    }
    if ((p[20] & 0x04) != 0) {
      throw CheckCondition.invalidParameterField(20, 2); // ALL_TG_PT
    }
    if ((p[20] & 0x01) != 0) {
      throw CheckCondition.invalidParameterField(20, 0); // APTPL: PTPL_C is 0
    }
    boolean needsType = action == 1 || action == 2 || action == 4 || action == 5;
    if (needsType) {
      if (scope != 0) {
        throw CheckCondition.invalidCdbField(2, 7);
      }
      if (!validType(type)) {
        throw CheckCondition.invalidCdbField(2, 3);
      }
    }
    PersistentReservations pr = c.lu.persistentReservations;
    switch (action) {
      case 0 -> pr.register(c.nexusId, key, serviceActionKey, false);
      case 6 -> pr.register(c.nexusId, key, serviceActionKey, true);
      case 1 -> pr.reserve(c.nexusId, key, type);
      case 2 -> pr.release(c.nexusId, key, type);
      case 3 -> pr.clear(c.nexusId, key);
      case 4, 5 -> pr.preempt(c.nexusId, key, serviceActionKey, type);
      default -> throw CheckCondition.invalidCdbField(1, 4);
    }
    return CommandContext.good();
  }

  private static boolean validType(int type) {
    return type == 1 || type == 3 || (type >= 5 && type <= 8);
  }
}
