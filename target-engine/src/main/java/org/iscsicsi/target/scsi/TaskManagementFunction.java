package org.iscsicsi.target.scsi;

/** The task management functions that reach the SCSI layer (RFC 7143 section 11.5.1). */
public enum TaskManagementFunction {
  ABORT_TASK, ABORT_TASK_SET, CLEAR_ACA, CLEAR_TASK_SET, LOGICAL_UNIT_RESET, TARGET_WARM_RESET,
  TARGET_COLD_RESET
}
