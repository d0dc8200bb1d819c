package org.iscsicsi.target.scsi;

import java.util.concurrent.CompletionStage;

/**
 * The SCSI side of one target, as the iSCSI layer sees it: it executes commands addressed to any of
 * the target's LUNs (REPORT LUNS and commands to absent LUNs included) and keeps unit attentions and
 * reservations per I_T nexus.
 *
 * <p>The iSCSI layer owns the task table: it orders tasks by CmdSN, and aborting a task means it
 * discards that task's response. The SCSI layer is told about resets so that it can clear
 * reservations and raise unit attentions.
 */
public interface ScsiTargetPort {

  /** Runs a command. The stage never completes exceptionally: errors become sense data. */
  CompletionStage<ScsiResponse> execute(ScsiRequest request);

  /** A session logged in: the nexus gets a POWER ON, RESET OR BUS DEVICE RESET unit attention. */
  void nexusCreated(ItNexus nexus);

  /** A session ended (logout, close, reinstatement). */
  void nexusLost(ItNexus nexus);

  /**
   * A LOGICAL UNIT RESET, TARGET WARM/COLD RESET or CLEAR TASK SET after the iSCSI layer dropped
   * the affected tasks. {@code lun} is ignored for target-wide functions.
   *
   * @return true when the function is supported and was carried out
   */
  boolean taskManagement(TaskManagementFunction function, ItNexus nexus, long lun);
}
