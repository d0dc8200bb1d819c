package org.iscsicsi.target.session;

import java.util.function.Predicate;
import org.iscsicsi.target.pdu.InitiatorPdu.TaskManagementRequest;
import org.iscsicsi.target.pdu.TargetPdu.TaskManagementResponse;
import org.iscsicsi.target.scsi.ItNexus;
import org.iscsicsi.target.scsi.ScsiTargetPort;
import org.iscsicsi.target.scsi.TaskManagementFunction;

/**
 * Answers a Task Management Function Request (RFC 7143 section 11.5): aborts the connection's
 * affected tasks (they then send nothing, section 4.2.3.3) and passes resets to the SCSI layer,
 * whose answer decides between FUNCTION_COMPLETE and FUNCTION_NOT_SUPPORTED. Task reassignment
 * needs ErrorRecoveryLevel 2 and is not supported.
 *
 * <p>{@code TaskManagementTest} pins the response code of each function, which tasks each aborts,
 * and the RefCmdSN rule for a task that is not found.
 */
final class TaskManagement {

  /** Function codes of RFC 7143 section 11.5.1. */
  static final int LOGICAL_UNIT_RESET = 5;
  static final int TARGET_WARM_RESET = 6;
  static final int TARGET_COLD_RESET = 7;

  private final TaskTable tasks;
  private final SequenceNumbers numbers;

  TaskManagement(TaskTable tasks, SequenceNumbers numbers) {
    this.tasks = tasks;
    this.numbers = numbers;
  }

  /**
   * The response code to {@code t}, the function performed; {@code port} is null when the
   * session has no target (discovery).
   */
  int respond(TaskManagementRequest t, ScsiTargetPort port, ItNexus nexus) {
    if (port == null) {
      return TaskManagementResponse.AUTHORIZATION_FAILED;
    }
    if (nexus.readOnly() && resetsUnits(t.function())) {
      return TaskManagementResponse.AUTHORIZATION_FAILED;
    }
    long lun = LunField.number(t.lun());
    Predicate<ScsiTask> ofLun = task -> task.lunField == t.lun();
    return switch (t.function()) {
      case 1 -> {
        ScsiTask victim = tasks.get(t.referencedTaskTag());
        if (victim != null && victim.lunField == t.lun()) {
          tasks.abort(victim);
          yield TaskManagementResponse.FUNCTION_COMPLETE;
        }
        // not found (section 11.5.1): a RefCmdSN inside the window was never received and
        // counts as aborted; outside it (typically already completed) the task does not exist
        yield numbers.inWindow(t.refCmdSn()) ? TaskManagementResponse.FUNCTION_COMPLETE
            : TaskManagementResponse.TASK_DOES_NOT_EXIST;
      }
      case 2 -> {
        tasks.abortWhere(ofLun);
        yield TaskManagementResponse.FUNCTION_COMPLETE;
      }
      case 3 -> reset(port, nexus, TaskManagementFunction.CLEAR_TASK_SET, lun, ofLun);
      case 4 -> reset(port, nexus, TaskManagementFunction.CLEAR_ACA, lun, task -> false);
      case LOGICAL_UNIT_RESET ->
          reset(port, nexus, TaskManagementFunction.LOGICAL_UNIT_RESET, lun, ofLun);
      case TARGET_WARM_RESET ->
          reset(port, nexus, TaskManagementFunction.TARGET_WARM_RESET, lun, task -> true);
      case TARGET_COLD_RESET ->
          reset(port, nexus, TaskManagementFunction.TARGET_COLD_RESET, lun, task -> true);
      case 8 -> TaskManagementResponse.REASSIGNMENT_NOT_SUPPORTED;
      default -> TaskManagementResponse.FUNCTION_REJECTED;
    };
  }

  /**
   * LOGICAL UNIT RESET and TARGET WARM/COLD RESET act on every initiator's tasks, reservations and
   * mode pages: a read-only session is not authorized to ask for them ("Function authorization
   * failed", RFC 7143 section 11.6.1). The abort functions touch only the session's own tasks.
   */
  private static boolean resetsUnits(int function) {
    return function == LOGICAL_UNIT_RESET || function == TARGET_WARM_RESET
        || function == TARGET_COLD_RESET;
  }

  private int reset(ScsiTargetPort port, ItNexus nexus, TaskManagementFunction function,
      long lun, Predicate<ScsiTask> affected) {
    tasks.abortWhere(affected);
    return port.taskManagement(function, nexus, lun)
        ? TaskManagementResponse.FUNCTION_COMPLETE
        : TaskManagementResponse.FUNCTION_NOT_SUPPORTED;
  }
}
