package org.iscsicsi.target.scsi;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * REPORT TARGET PORT GROUPS (SPC-4 6.36, MAINTENANCE IN service action 0Ah): one target port group
 * descriptor per port slot of the logical unit, in slot order, each with its asymmetric access
 * state, the states this engine supports, the status code (02h once the state was changed by
 * implicit behaviour, that is by the engine's own control and not by SET TARGET PORT GROUPS,
 * which is not supported) and its one target port, whose relative target port identifier is the
 * slot. PARAMETER DATA FORMAT 000b gives the length-only header, 001b the extended header with
 * the implicit transition time.
 *
 * <p>A logical unit without port slots (standard INQUIRY TPGS 00b) reports its one port: the
 * target's portal group tag as the group, relative target port 1, active/optimized.
 */
final class ReportTargetPortGroups implements ScsiCommand {

  static final int SERVICE_ACTION = 0x0a;
  /** T_SUP, U_SUP, S_SUP, AN_SUP, AO_SUP: the states of {@link AccessState}. */
  static final int SUPPORTED_STATES = 0x80 | 0x08 | 0x04 | 0x02 | 0x01;
  static final int AO_SUP = 0x01;
  /** What an initiator should allow for an implicit transition, in seconds (extended header). */
  static final int IMPLICIT_TRANSITION_SECONDS = 5;
  static final int STATUS_NONE = 0x00;
  static final int STATUS_IMPLICIT_CHANGE = 0x02;
  private static final int FORMAT_LENGTH_ONLY = 0;
  private static final int FORMAT_EXTENDED = 1;
  private static final int EXTENDED_FORMAT_TYPE = 0x10;
  private static final int DESCRIPTOR = 8;
  private static final int PORT = 4;

  @Override
  public CompletionStage<ScsiResponse> run(CommandContext c) throws CheckCondition {
    int format = (c.cdb[1] & 0xe0) >>> 5;
    if (format != FORMAT_LENGTH_ONLY && format != FORMAT_EXTENDED) {
      throw CheckCondition.invalidCdbField(1, 7);
    }
    long allocation = Cdb.u32(c.cdb, 6);
    LunState.AluaView view = c.lu.alua();
    byte[] d;
    int header = format == FORMAT_EXTENDED ? 8 : 4;
    if (view == null) {
      d = new byte[header + DESCRIPTOR + PORT];
      descriptor(d, header, c.nexus.portalGroupTag(), AccessState.ACTIVE_OPTIMIZED, AO_SUP,
          STATUS_NONE, VpdPages.RELATIVE_TARGET_PORT);
    } else {
      Map<Integer, AccessState> states = view.groups().states();
      Set<Integer> altered = view.altered();
      d = new byte[header + states.size() * (DESCRIPTOR + PORT)];
      int off = header;
      for (Map.Entry<Integer, AccessState> e : states.entrySet()) {
        int slot = e.getKey();
        descriptor(d, off, slot, e.getValue(), SUPPORTED_STATES,
            altered.contains(slot) ? STATUS_IMPLICIT_CHANGE : STATUS_NONE, slot);
        off += DESCRIPTOR + PORT;
      }
    }
    Cdb.put32(d, 0, d.length - 4);
    if (format == FORMAT_EXTENDED) {
      d[4] = EXTENDED_FORMAT_TYPE;
      d[5] = IMPLICIT_TRANSITION_SECONDS;
    }
    return CommandContext.data(d, allocation);
  }

  private static void descriptor(byte[] d, int off, int group, AccessState state, int supported,
      int status, int relativePort) {
    d[off] = (byte) state.code(); // PREF 0
    d[off + 1] = (byte) supported;
    Cdb.put16(d, off + 2, group);
    d[off + 5] = (byte) status;
    d[off + 7] = 1; // one target port per group
    Cdb.put16(d, off + DESCRIPTOR + 2, relativePort);
  }
}
