package org.iscsicsi.target.scsi;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Pending unit attention conditions per I_T_L nexus (SAM-5 5.14). A reset condition
 * (ASC 29h) supersedes every other pending condition of that nexus; duplicates are not queued.
 */
final class UnitAttentions {

  private final Map<NexusId, Map<Long, ArrayDeque<Sense>>> pending = new HashMap<>();

  synchronized void add(NexusId nexus, long lun, Sense sense) {
    ArrayDeque<Sense> queue =
        pending.computeIfAbsent(nexus, n -> new HashMap<>()).computeIfAbsent(lun,
            l -> new ArrayDeque<>());
    if (sense.asc() == 0x29) {
      queue.clear();
      queue.add(sense);
      return;
    }
    if (queue.stream().anyMatch(s -> s.asc() == 0x29)) {
      return;
    }
    if (!queue.contains(sense)) {
      queue.add(sense);
    }
  }

  synchronized Optional<Sense> peek(NexusId nexus, long lun) {
    ArrayDeque<Sense> queue = queue(nexus, lun);
    return queue == null ? Optional.empty() : Optional.ofNullable(queue.peekFirst());
  }

  synchronized Optional<Sense> poll(NexusId nexus, long lun) {
    ArrayDeque<Sense> queue = queue(nexus, lun);
    return queue == null ? Optional.empty() : Optional.ofNullable(queue.pollFirst());
  }

  /** Removes one kind of condition (REPORT LUNS clears REPORTED LUNS DATA HAS CHANGED). */
  synchronized void clear(NexusId nexus, long lun, Sense sense) {
    ArrayDeque<Sense> queue = queue(nexus, lun);
    if (queue != null) {
      queue.remove(sense);
    }
  }

  synchronized void forgetNexus(NexusId nexus) {
    pending.remove(nexus);
  }

  synchronized void forgetLun(long lun) {
    pending.values().forEach(m -> m.remove(lun));
  }

  private ArrayDeque<Sense> queue(NexusId nexus, long lun) {
    Map<Long, ArrayDeque<Sense>> byLun = pending.get(nexus);
    return byLun == null ? null : byLun.get(lun);
  }
}
