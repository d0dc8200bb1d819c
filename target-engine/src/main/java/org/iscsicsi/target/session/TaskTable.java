package org.iscsicsi.target.session;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The SCSI tasks of one connection by Initiator Task Tag, from their command until their status
 * is sent, and their abort (task management, connection loss): an aborted task drops its gathered
 * Data-Out and its R2Ts and sends nothing more. Event-loop confined, like the connection.
 */
final class TaskTable {

  private final Map<Integer, ScsiTask> tasks = new HashMap<>();

  int size() {
    return tasks.size();
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
  }

  /** Forgets {@code task} (its status is being sent), unless the tag now names another. */
  void remove(ScsiTask task) {
    tasks.remove(task.itt, task);
  }

  void abort(ScsiTask task) {
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
    }
    tasks.clear();
  }
}
