package org.iscsicsi.target.replication;

import java.util.Map;
import java.util.TreeMap;
import org.iscsicsi.target.kube.Membership;
import org.iscsicsi.target.scsi.AccessState;

/**
 * The ALUA access state of every member's port group, as one engine reports them for a
 * replicated LU (docs/replication.md section 6): the primary active/optimized while its serve
 * lease is valid and standby otherwise (this engine knows only its own lease; another engine's
 * primary slot is reported active/optimized), an InSync member standby, a Joining, Rebuilding,
 * OutOfSync or Fenced one unavailable, a Removed one not listed. This engine's own slot is always
 * listed: unavailable when the membership no longer names it.
 */
public final class ReplicaPortStates {

  private ReplicaPortStates() {
  }

  /**
   * @param self this engine
   * @param ownSlot this engine's port slot on the LU
   * @param serving whether this engine serves the LU as primary now
   */
  public static Map<Integer, AccessState> of(Membership m, String self, int ownSlot,
      boolean serving) {
    Map<Integer, AccessState> states = new TreeMap<>();
    for (Membership.Member member : m.members()) {
      if (member.state() == Membership.State.Removed) {
        continue;
      }
      AccessState s;
      if (member.engine().equals(m.primary())) {
        s = !member.engine().equals(self) || serving ? AccessState.ACTIVE_OPTIMIZED
            : AccessState.STANDBY;
      } else if (member.state() == Membership.State.InSync) {
        s = AccessState.STANDBY;
      } else {
        s = AccessState.UNAVAILABLE;
      }
      states.put(member.slot(), s);
    }
    if (m.member(self).filter(x -> x.state() != Membership.State.Removed).isEmpty()) {
      states.put(ownSlot, AccessState.UNAVAILABLE);
    }
    return states;
  }
}
