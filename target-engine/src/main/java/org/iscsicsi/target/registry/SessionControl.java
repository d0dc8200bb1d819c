package org.iscsicsi.target.registry;

import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;
import org.iscsicsi.target.names.IscsiNames;
import org.iscsicsi.target.session.SessionInfo;
import org.iscsicsi.target.session.SessionRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The registry's view of live sessions: listing them by target and initiator (names compared in
 * RFC 3722 normalized form) and closing them, when asked or when a grant changes. Without a
 * transport (admin-only engine) there are none.
 */
final class SessionControl {

  private static final Logger log = LoggerFactory.getLogger(SessionControl.class);

  private volatile Supplier<SessionRegistry> source = () -> null;

  void source(Supplier<SessionRegistry> supplier) {
    this.source = Objects.requireNonNull(supplier);
  }

  List<SessionInfo> list() {
    SessionRegistry reg = source.get();
    return reg == null ? List.of() : reg.sessions();
  }

  List<SessionInfo> of(String target, String initiator) {
    String t = target == null || target.isEmpty() ? null : IscsiNames.normalize(target);
    String i = initiator == null || initiator.isEmpty() ? null : IscsiNames.normalize(initiator);
    return list().stream()
        .filter(s -> t == null || t.equals(s.targetName()))
        .filter(s -> i == null || i.equals(IscsiNames.normalize(s.initiatorName())))
        .toList();
  }

  /**
   * Closes sessions of one target (all of them when {@code initiator} is empty), whatever case
   * the initiator logged in with.
   */
  int close(String target, String initiator) {
    SessionRegistry reg = source.get();
    if (reg == null) {
      return 0;
    }
    String t = IscsiNames.normalize(target);
    if (initiator == null || initiator.isEmpty()) {
      return reg.close(t, null);
    }
    Set<String> spellings = new HashSet<>();
    for (SessionInfo s : of(t, initiator)) {
      spellings.add(s.initiatorName());
    }
    int closed = 0;
    for (String name : spellings) {
      closed += reg.close(t, name);
    }
    return closed;
  }

  /**
   * After an ACL change: closes the sessions whose access no longer matches what they logged in
   * with (revoked, or switched between read-only and read-write), so that a session never keeps
   * rights it has lost; initiators that still have access log in again with the new rights.
   */
  void enforce(ExportedTarget target) {
    SessionRegistry reg = source.get();
    if (reg == null) {
      return;
    }
    Set<String> stale = new HashSet<>();
    for (SessionInfo s : of(target.name(), null)) {
      boolean ok = switch (target.access(s.initiatorName())) {
        case NONE -> false;
        case READ_ONLY -> s.readOnly();
        case READ_WRITE -> !s.readOnly();
      };
      if (!ok) {
        stale.add(s.initiatorName());
      }
    }
    for (String name : stale) {
      int n = reg.close(target.name(), name);
      log.info("closed {} session(s) of {} to {}: its access changed", n, name, target.name());
    }
  }
}
