package org.iscsicsi.target.scsi;

import java.util.concurrent.CompletionStage;

/**
 * MODE SELECT (6) and (10) (SPC-4 6.9, 6.10): the header, an optional block descriptor that must
 * match the LUN's block length, then pages checked against {@link ModePages}. A change raises MODE
 * PARAMETERS CHANGED for the other nexuses. SP (save pages) is not supported.
 */
final class ModeSelect implements ScsiCommand {

  @Override
  public CompletionStage<ScsiResponse> run(CommandContext c) throws CheckCondition {
    byte[] cdb = c.cdb;
    boolean ten = cdb[0] == 0x55;
    if ((cdb[1] & 0x01) != 0) {
      throw CheckCondition.invalidCdbField(1, 0);
    }
    if ((cdb[1] & 0x10) == 0 && (ten ? Cdb.u16(cdb, 7) : Cdb.u8(cdb, 4)) > 0) {
      throw CheckCondition.invalidCdbField(1, 4); // only page format parameters
    }
    int length = ten ? Cdb.u16(cdb, 7) : Cdb.u8(cdb, 4);
    if (length == 0) {
      return CommandContext.good();
    }
    byte[] p = c.parameterList(length);
    int headerLength = ten ? 8 : 4;
    if (p.length < length || length < headerLength) {
      throw new CheckCondition(Sense.PARAMETER_LIST_LENGTH_ERROR);
    }
    int descriptorLength = ten ? Cdb.u16(p, 6) : Cdb.u8(p, 3);
    int pos = headerLength;
    if (descriptorLength > 0) {
      if (descriptorLength != 8 && descriptorLength != 16 || pos + descriptorLength > length) {
        throw CheckCondition.invalidParameterField(ten ? 6 : 3, -1);
      }
      int blockLength = descriptorLength == 8 ? Cdb.u24(p, pos + 5) : (int) Cdb.u32(p, pos + 12);
      if (blockLength != c.blockSize()) {
        throw CheckCondition.invalidParameterField(pos + (descriptorLength == 8 ? 5 : 12), -1);
      }
      pos += descriptorLength;
    }
    boolean changed = false;
    while (pos < length) {
      if (pos + 2 > length) {
        throw new CheckCondition(Sense.PARAMETER_LIST_LENGTH_ERROR);
      }
      int pageLength = (p[pos + 1] & 0xff) + 2;
      if (pos + pageLength > length) {
        throw new CheckCondition(Sense.PARAMETER_LIST_LENGTH_ERROR);
      }
      byte[] page = java.util.Arrays.copyOfRange(p, pos, pos + pageLength);
      page[0] &= 0x7f; // PS is reserved in MODE SELECT
      changed |= c.lu.modePages.select(page, pos, c.readOnly());
      pos += pageLength;
    }
    if (changed) {
      c.port.attentionForOthers(c.nexusId, c.lu.lun, Sense.MODE_PARAMETERS_CHANGED);
    }
    return CommandContext.good();
  }
}
