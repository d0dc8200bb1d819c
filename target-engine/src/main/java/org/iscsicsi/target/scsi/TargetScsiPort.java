package org.iscsicsi.target.scsi;

import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.iscsicsi.target.lun.LogicalUnit;

/**
 * The SCSI target device of one iSCSI target: its LUN map, REPORT LUNS, commands to absent LUNs,
 * and per-nexus unit attentions. Contract shared by the SCSI layer (which implements it) and the
 * registry (which attaches and detaches LUNs).
 */
public final class TargetScsiPort implements ScsiTargetPort {

  public TargetScsiPort(String targetName) {
  }

  /** Adds a LUN; other nexuses get REPORTED LUNS DATA HAS CHANGED. */
  public void attach(long lun, LogicalUnit unit) {
    throw new UnsupportedOperationException("not yet implemented");
  }

  /** Removes a LUN (the caller closes it); other nexuses get REPORTED LUNS DATA HAS CHANGED. */
  public LogicalUnit detach(long lun) {
    throw new UnsupportedOperationException("not yet implemented");
  }

  public Map<Long, LogicalUnit> luns() {
    throw new UnsupportedOperationException("not yet implemented");
  }

  @Override
  public CompletionStage<ScsiResponse> execute(ScsiRequest request) {
    throw new UnsupportedOperationException("not yet implemented");
  }

  @Override
  public void nexusCreated(ItNexus nexus) {
    throw new UnsupportedOperationException("not yet implemented");
  }

  @Override
  public void nexusLost(ItNexus nexus) {
    throw new UnsupportedOperationException("not yet implemented");
  }

  @Override
  public boolean taskManagement(TaskManagementFunction function, ItNexus nexus, long lun) {
    throw new UnsupportedOperationException("not yet implemented");
  }
}
