package org.iscsicsi.target.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.iscsicsi.target.pdu.InitiatorPdu.TaskManagementRequest;
import org.iscsicsi.target.pdu.TargetPdu.TaskManagementResponse;
import org.iscsicsi.target.scsi.DataDirection;
import org.iscsicsi.target.scsi.ItNexus;
import org.iscsicsi.target.scsi.ScsiTargetDevice;
import org.iscsicsi.target.scsi.TaskAttribute;
import org.junit.jupiter.api.Test;

/**
 * Pins the answers to task management requests (RFC 7143 section 11.5) on a real SCSI port with no
 * LUNs: ABORT TASK aborts the named task of that LUN, and for a task it does not hold answers by
 * RefCmdSN (inside the window: complete; outside: does not exist); ABORT TASK SET and CLEAR TASK
 * SET abort only that LUN's tasks, target resets all of them; the SCSI layer decides resets (a
 * LUN RESET of a missing LUN is not supported); reassignment, unknown functions and a session
 * without a target are refused with their codes.
 */
class TaskManagementTest {

  static final long LUN0 = 0;
  static final long LUN1 = 1L << 48; // peripheral addressing, LUN 1

  private final TaskTable tasks = new TaskTable(SharedByteBudget.forThisJvm());
  private final SequenceNumbers numbers = new SequenceNumbers(8, tasks::size);
  private final TaskManagement tmf = new TaskManagement(tasks, numbers);
  private final ScsiTargetDevice port = new ScsiTargetDevice("iqn.2026-11.org.example:tmf");
  private final ItNexus nexus = new ItNexus("iqn.2026-11.org.example:ini", 1,
      "iqn.2026-11.org.example:tmf", 1, false);

  ScsiTask task(int itt, long lunField) {
    ScsiTask t = new ScsiTask(itt, lunField, LunField.number(lunField), new byte[16], itt,
        0, DataDirection.NONE, TaskAttribute.SIMPLE);
    tasks.add(t);
    return t;
  }

  static TaskManagementRequest request(int function, long lun, int referenced, int refCmdSn) {
    return new TaskManagementRequest(true, function, lun, 100, referenced, 0, 0, refCmdSn, 0);
  }

  @Test
  void abortTaskAbortsTheNamedTaskOfThatLun() {
    ScsiTask a = task(1, LUN0);
    ScsiTask b = task(2, LUN0);
    assertThat(tmf.respond(request(1, LUN0, 1, 0), port, nexus))
        .isEqualTo(TaskManagementResponse.FUNCTION_COMPLETE);
    assertThat(a.aborted).isTrue();
    assertThat(b.aborted).isFalse();
    assertThat(tasks.get(1)).isNull();
    // the tag on another LUN is not that task: answered by RefCmdSN like an unknown one
    numbers.restartWindow(10);
    assertThat(tmf.respond(request(1, LUN1, 2, 5), port, nexus))
        .isEqualTo(TaskManagementResponse.TASK_DOES_NOT_EXIST);
    assertThat(b.aborted).isFalse();
  }

  @Test
  void anUnknownTaskIsJudgedByRefCmdSn() {
    numbers.restartWindow(10);
    assertThat(tmf.respond(request(1, LUN0, 7, 12), port, nexus))
        .isEqualTo(TaskManagementResponse.FUNCTION_COMPLETE);
    assertThat(tmf.respond(request(1, LUN0, 7, 9), port, nexus))
        .isEqualTo(TaskManagementResponse.TASK_DOES_NOT_EXIST);
  }

  @Test
  void setFunctionsAbortOnlyThatLunTargetResetsAbortAll() {
    List<ScsiTask> lun0 = List.of(task(1, LUN0), task(2, LUN0));
    ScsiTask other = task(3, LUN1);
    assertThat(tmf.respond(request(2, LUN0, 0, 0), port, nexus))
        .isEqualTo(TaskManagementResponse.FUNCTION_COMPLETE);
    assertThat(lun0).allMatch(t -> t.aborted);
    assertThat(other.aborted).isFalse();
    assertThat(tmf.respond(request(3, LUN0, 0, 0), port, nexus))
        .isEqualTo(TaskManagementResponse.FUNCTION_COMPLETE);
    assertThat(other.aborted).isFalse();
    assertThat(tmf.respond(request(6, LUN0, 0, 0), port, nexus))
        .isEqualTo(TaskManagementResponse.FUNCTION_COMPLETE);
    assertThat(other.aborted).isTrue();
    assertThat(tasks.size()).isZero();
  }

  @Test
  void theScsiLayerDecidesResetsOthersAreRefused() {
    ScsiTask t = task(1, LUN1);
    assertThat(tmf.respond(request(5, LUN1, 0, 0), port, nexus))
        .isEqualTo(TaskManagementResponse.FUNCTION_NOT_SUPPORTED); // no such LUN on the port
    assertThat(t.aborted).isTrue(); // its tasks are aborted all the same
    assertThat(tmf.respond(request(4, LUN0, 0, 0), port, nexus))
        .isEqualTo(TaskManagementResponse.FUNCTION_NOT_SUPPORTED); // no ACA to clear
    assertThat(tmf.respond(request(8, LUN0, 0, 0), port, nexus))
        .isEqualTo(TaskManagementResponse.REASSIGNMENT_NOT_SUPPORTED);
    assertThat(tmf.respond(request(42, LUN0, 0, 0), port, nexus))
        .isEqualTo(TaskManagementResponse.FUNCTION_REJECTED);
    assertThat(tmf.respond(request(2, LUN0, 0, 0), null, null))
        .isEqualTo(TaskManagementResponse.AUTHORIZATION_FAILED);
  }

  /**
   * A read-only session may abort its own tasks but not reset what every initiator shares: LOGICAL
   * UNIT RESET and TARGET WARM/COLD RESET get "Function authorization failed" (RFC 7143 section
   * 11.6.1) and abort nothing.
   */
  @Test
  void readOnlySessionsMayNotReset() {
    ItNexus readOnly = new ItNexus("iqn.2026-11.org.example:ro", 2,
        "iqn.2026-11.org.example:tmf", 1, true);
    ScsiTask t = task(1, LUN0);
    for (int function : new int[] {5, 6, 7}) {
      assertThat(tmf.respond(request(function, LUN0, 0, 0), port, readOnly))
          .as("function %d", function).isEqualTo(TaskManagementResponse.AUTHORIZATION_FAILED);
    }
    assertThat(t.aborted).isFalse();
    assertThat(tmf.respond(request(2, LUN0, 0, 0), port, readOnly))
        .isEqualTo(TaskManagementResponse.FUNCTION_COMPLETE);
    assertThat(t.aborted).isTrue();
  }
}
