package org.iscsicsi.target.session;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The SCSI tasks of one connection by Initiator Task Tag, from their command until their status
 * is sent, and their abort (task management, connection loss): an aborted task drops its gathered
 * Data-Out and its R2Ts and sends nothing more. It also sums the bytes its tasks may buffer
 * ({@link ScsiTask#reservation}), held from admission until the status is sent, or until an abort
 * of a task the SCSI layer does not yet own. Event-loop confined, like the connection.
 */
final class TaskTable {

  private final Map<Integer, ScsiTask> tasks = new HashMap<>();
  private final SharedByteBudget engineBudget;
  private long bytesReserved;

  /** {@code engineBudget}: what the engine's connections may reserve together. */
  TaskTable(SharedByteBudget engineBudget) {
    this.engineBudget = engineBudget;
  }

  int size() {
    return tasks.size();
  }

  /** The bytes the tasks in flight may buffer together. */
  long bytesReserved() {
    return bytesReserved;
  }

  /**
   * Whether {@code task}'s reservation fits this connection's budget of {@code perConnection}
   * bytes (the first task always does) and the engine's; on true the engine's share is taken, and
   * {@link #add} must follow.
   */
  boolean reserve(ScsiTask task, long perConnection) {
    boolean fitsConnection = bytesReserved == 0
        || bytesReserved + task.reservation <= perConnection;
    return fitsConnection && engineBudget.tryReserve(task.reservation);
  }

  /** Gives back what {@code task} reserved; idempotent. */
  void unreserve(ScsiTask task) {
    bytesReserved -= task.reservation;
    engineBudget.release(task.reservation);
    task.reservation = 0;
  }

  boolean contains(int itt) {
    return tasks.containsKey(itt);
  }

  /** The task, or null. */
  ScsiTask get(int itt) {
    return tasks.get(itt);
  }

  void add(ScsiTask task) {
    tasks.put(task.itt, task);
    bytesReserved += task.reservation;
  }

  /** Forgets {@code task} (its status is being sent), unless the tag now names another. */
  void remove(ScsiTask task) {
    tasks.remove(task.itt, task);
  }

  /**
   * Aborts {@code task}. A task the SCSI layer runs keeps its reservation until it completes: its
   * data is held until then.
   */
  void abort(ScsiTask task) {
    if (!task.executing) {
      unreserve(task);
    }
    task.aborted = true;
    task.releaseData();
    tasks.remove(task.itt, task);
    task.r2ts.clear();
  }

  void abortWhere(Predicate<ScsiTask> affected) {
    List<ScsiTask> victims = new ArrayList<>();
    for (ScsiTask task : tasks.values()) {
      if (affected.test(task)) {
        victims.add(task);
      }
    }
    victims.forEach(this::abort);
  }

  /** Aborts every task: the connection is gone. */
  void abortAll() {
    for (ScsiTask t : tasks.values()) {
      t.aborted = true;
      t.releaseData();
      unreserve(t);
    }
    tasks.clear();
  }
}
