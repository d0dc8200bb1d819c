package org.iscsicsi.target.replication;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.iscsicsi.target.kube.Membership;
import org.iscsicsi.target.kube.Membership.State;
import org.iscsicsi.target.kube.MembershipTransitions;
import org.iscsicsi.target.scsi.AccessState;
import org.junit.jupiter.api.Test;

/**
 * Pins the ALUA states an engine reports for a replicated LU (docs/replication.md section 6):
 * the primary active/optimized only while it serves (standby with a lapsed lease), an InSync
 * member standby, an OutOfSync one unavailable, and an engine the membership no longer lists
 * unavailable on its own slot.
 */
class ReplicaPortStatesTest {

  static final Instant NOW = Instant.parse("2026-12-02T12:00:00Z");

  final Membership all = MembershipTransitions.create("node-a",
      List.of("node-a", "node-b", "node-c"), State.InSync, 3, NOW);

  @Test
  void primaryIsActiveOptimizedOnlyWhileServing() {
    assertThat(ReplicaPortStates.of(all, "node-a", 1, true)).isEqualTo(Map.of(
        1, AccessState.ACTIVE_OPTIMIZED, 2, AccessState.STANDBY, 3, AccessState.STANDBY));
    assertThat(ReplicaPortStates.of(all, "node-a", 1, false)).containsEntry(1,
        AccessState.STANDBY);
  }

  @Test
  void membersSeeThePrimaryActiveAndAnOutOfSyncMemberUnavailable() {
    Membership out = MembershipTransitions.outOfSync(all, "node-a", all.epoch(), "node-c",
        "link lost", NOW);
    assertThat(ReplicaPortStates.of(out, "node-b", 2, false)).isEqualTo(Map.of(
        1, AccessState.ACTIVE_OPTIMIZED, 2, AccessState.STANDBY, 3, AccessState.UNAVAILABLE));
  }

  @Test
  void anEngineNotListedIsUnavailableOnItsOwnSlot() {
    Membership two = MembershipTransitions.create("node-a", List.of("node-a", "node-b"),
        State.InSync, 2, NOW);
    assertThat(ReplicaPortStates.of(two, "node-c", 3, false)).containsEntry(3,
        AccessState.UNAVAILABLE).hasSize(3);
  }
}
