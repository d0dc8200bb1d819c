package org.iscsicsi.target.scsi;

import java.util.concurrent.CompletionStage;

/**
 * The SCSI side of one target, as the iSCSI layer sees it: it executes commands addressed to any of
 * the target's LUNs (REPORT LUNS and commands to absent LUNs included) and keeps unit attentions
 * and reservations per I_T nexus.
 *
 * <p>The iSCSI layer owns the task table: it orders tasks by CmdSN, and aborting a task means it
 * discards that task's response. The SCSI layer is told about resets so that it can clear
 * reservations and raise unit attentions.
 */
public interface ScsiTargetPort {

  /**
   * The largest READ or WRITE, in bytes: the Block Limits VPD page's MAXIMUM TRANSFER LENGTH
   * (SBC-3 6.6.4) times the block size. It also bounds what one command may buffer.
   */
  int MAX_TRANSFER_BYTES = 8 << 20;

  /**
   * How many bytes of Data-Out the iSCSI layer may gather for a command before it runs: what the
   * CDB describes (transfer length times block size, or its parameter list length), or 0 when it
   * describes none, addresses no LUN, or describes more than {@link #MAX_TRANSFER_BYTES}. A
   * command given 0 runs at once without data, and the device server answers it (the sense SBC-3
   * prescribes for a transfer length beyond MAXIMUM TRANSFER LENGTH is INVALID FIELD IN CDB).
   * Cheap, allocation-free, callable on any thread.
   */
  int dataOutAccepted(long lun, byte[] cdb);

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
