package org.iscsicsi.target.acl;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.iscsicsi.target.names.IscsiNames;

/**
 * An immutable, pre-indexed ACL, so that login and discovery on the event loops look an initiator
 * up in a hash map. A grant that names the initiator wins over {@code ALL}; without either the
 * initiator gets {@link AccessLevel#NONE} (no login, invisible in SendTargets).
 */
public final class AccessControl {

  private final Map<String, AccessLevel> byInitiator;
  private final AccessLevel everyone;

  public AccessControl(List<InitiatorGrant> grants) {
    Map<String, AccessLevel> map = new HashMap<>();
    AccessLevel all = AccessLevel.NONE;
    for (InitiatorGrant g : grants) {
      if (g.initiator().equals(InitiatorGrant.ALL)) {
        all = g.level();
      } else {
        map.put(g.initiator(), g.level());
      }
    }
    this.byInitiator = Map.copyOf(map);
    this.everyone = all;
  }

  public AccessLevel access(String initiatorName) {
    if (initiatorName == null || initiatorName.isEmpty()) {
      return AccessLevel.NONE;
    }
    AccessLevel level = byInitiator.get(initiatorName);
    if (level == null) {
      // Initiators may send their name in any case (RFC 3722 folds it); most send it normalized.
      level = byInitiator.get(IscsiNames.normalize(initiatorName));
    }
    return level != null ? level : everyone;
  }
}
