package org.iscsicsi.node.service;

import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.iscsicsi.node.iscsi.IscsiException;
import org.iscsicsi.node.iscsi.IscsiSession;
import org.iscsicsi.node.iscsi.Iscsiadm;
import org.iscsicsi.node.iscsi.NodeRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Garbage-collects this driver's iSCSI sessions and node records that no staged volume refers to:
 * left by a crash between login and the state write-back, by an unstage that never came, or by a
 * volume deleted while its node was down. Orphans otherwise retry their logins for ever. Only
 * targets whose IQN starts with the driver's prefix are touched; other software's sessions are
 * left alone. Stage records the volume before it logs in, so an in-flight stage is never
 * collected.
 */
public final class SessionCollector {

  private static final Logger log = LoggerFactory.getLogger(SessionCollector.class);

  private final Iscsiadm iscsiadm;
  private final StateStore state;
  private final String iqnPrefix;

  public SessionCollector(Iscsiadm iscsiadm, StateStore state, String iqnPrefix) {
    this.iscsiadm = iscsiadm;
    this.state = state;
    this.iqnPrefix = iqnPrefix;
  }

  /** One pass; returns the target IQNs it logged out of or forgot. */
  public Set<String> collect() throws IscsiException, IOException {
    Set<String> wanted = new HashSet<>();
    for (StagedVolume v : state.all()) {
      try {
        wanted.add(v.source().target().iqn());
      } catch (IllegalArgumentException e) {
        log.warn("unreadable state for volume {}: {}", v.volumeId(), e.getMessage());
      }
    }
    Set<String> collected = new HashSet<>();
    List<IscsiSession> sessions = iscsiadm.sessions();
    for (IscsiSession s : sessions) {
      if (s.targetIqn().startsWith(iqnPrefix) && !wanted.contains(s.targetIqn())) {
        log.info("logging out of orphaned session {} to {} at {}", s.sid(), s.targetIqn(),
            s.portal());
        iscsiadm.logout(s.targetIqn(), s.portal());
        collected.add(s.targetIqn());
      }
    }
    for (NodeRecord r : iscsiadm.records()) {
      if (r.targetIqn().startsWith(iqnPrefix) && !wanted.contains(r.targetIqn())) {
        log.info("deleting orphaned node record of {} at {}", r.targetIqn(), r.portal());
        iscsiadm.deleteRecord(r.targetIqn(), r.portal());
        collected.add(r.targetIqn());
      }
    }
    return collected;
  }
}
