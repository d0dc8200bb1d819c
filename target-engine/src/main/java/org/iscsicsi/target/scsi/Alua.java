package org.iscsicsi.target.scsi;

import java.util.Optional;

/**
 * Which commands a logical unit accepts through a target port in each asymmetric access state
 * (SPC-4 5.16.2.4), and the sense the others get. Checked after unit attentions and before
 * reservations, so an initiator learns of a state change before it is refused for it.
 *
 * <ul>
 *   <li>Active/optimized and active/non-optimized: every command.
 *   <li>Standby: INQUIRY, REPORT LUNS, REQUEST SENSE, the MAINTENANCE IN reports (REPORT TARGET
 *       PORT GROUPS, REPORT SUPPORTED OPERATION CODES and TASK MANAGEMENT FUNCTIONS), MODE SENSE
 *       and MODE SELECT, PERSISTENT RESERVE IN and OUT, and READ CAPACITY (so a multipath layer
 *       sees the same size on every path); everything else, TEST UNIT READY included, NOT READY,
 *       TARGET PORT IN STANDBY STATE (04h/0Bh), which Linux's tur checker reports as a "ghost"
 *       path.
 *   <li>Unavailable: INQUIRY, REPORT LUNS, REQUEST SENSE, the MAINTENANCE IN reports and READ
 *       CAPACITY; else NOT READY, TARGET PORT IN UNAVAILABLE STATE (04h/0Ch).
 *   <li>Transitioning: INQUIRY, REPORT LUNS, REQUEST SENSE and the MAINTENANCE IN reports; else
 *       NOT READY, ASYMMETRIC ACCESS STATE TRANSITION (04h/0Ah).
 * </ul>
 */
final class Alua {

  private static final int REQUEST_SENSE = 0x03;
  private static final int INQUIRY = 0x12;
  private static final int MODE_SELECT_6 = 0x15;
  private static final int MODE_SENSE_6 = 0x1a;
  private static final int READ_CAPACITY_10 = 0x25;
  private static final int MODE_SELECT_10 = 0x55;
  private static final int MODE_SENSE_10 = 0x5a;
  private static final int PERSISTENT_RESERVE_IN = 0x5e;
  private static final int PERSISTENT_RESERVE_OUT = 0x5f;
  private static final int SERVICE_ACTION_IN_16 = 0x9e;
  private static final int READ_CAPACITY_16 = 0x10;
  private static final int REPORT_LUNS = 0xa0;
  /** MAINTENANCE IN: the reports of CommandSet (target port groups, opcodes, TMFs). */
  private static final int MAINTENANCE_IN = 0xa3;

  private Alua() {
  }

  /** The sense a command gets through a port in {@code state}, or empty when it may run. */
  static Optional<Sense> refusal(AccessState state, CommandDescriptor d) {
    return switch (state) {
      case ACTIVE_OPTIMIZED, ACTIVE_NON_OPTIMIZED -> Optional.empty();
      case STANDBY -> reporting(d) || capacity(d) || standbyExtra(d.opcode()) ? Optional.empty()
          : Optional.of(Sense.ALUA_STANDBY);
      case UNAVAILABLE -> reporting(d) || capacity(d) ? Optional.empty()
          : Optional.of(Sense.ALUA_UNAVAILABLE);
      case TRANSITIONING -> reporting(d) ? Optional.empty()
          : Optional.of(Sense.ALUA_TRANSITIONING);
    };
  }

  /** Allowed in every state: what an initiator needs to find the LU and its port groups. */
  private static boolean reporting(CommandDescriptor d) {
    return switch (d.opcode()) {
      case INQUIRY, REPORT_LUNS, REQUEST_SENSE, MAINTENANCE_IN -> true;
      default -> false;
    };
  }

  private static boolean capacity(CommandDescriptor d) {
    return d.opcode() == READ_CAPACITY_10
        || d.opcode() == SERVICE_ACTION_IN_16 && d.serviceAction() == READ_CAPACITY_16;
  }

  private static boolean standbyExtra(int opcode) {
    return switch (opcode) {
      case MODE_SENSE_6, MODE_SENSE_10, MODE_SELECT_6, MODE_SELECT_10, PERSISTENT_RESERVE_IN,
          PERSISTENT_RESERVE_OUT -> true;
      default -> false;
    };
  }
}
