package org.iscsicsi.target.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.iscsicsi.target.v1.ReplicaMemberStatus;
import org.iscsicsi.target.v1.ReplicaRebuild;
import org.iscsicsi.target.v1.ReplicaRole;
import org.iscsicsi.target.v1.ReplicationStatus;
import org.junit.jupiter.api.Test;

/**
 * {@code target-engine replication status} output: a member being rebuilt shows its method,
 * percent, bytes and start, and a finished rebuild its outcome; members without one show none.
 */
class ReplicationCommandsTest {

  @Test
  void printsEachMembersRebuild() {
    ReplicationStatus s = ReplicationStatus.newBuilder().setVolume("pool.v").setTarget("iqn.t")
        .setRole(ReplicaRole.REPLICA_ROLE_PRIMARY).setEpoch(1).setAcceptedEpoch(1)
        .setPrimary("node-a").setGeneration(5).setServing(true).setLeaseLeftMs(2900)
        .addMembers(ReplicaMemberStatus.newBuilder().setEngine("node-a").setSlot(1)
            .setState("InSync"))
        .addMembers(ReplicaMemberStatus.newBuilder().setEngine("node-b").setSlot(2)
            .setState("InSync").setLinked(true).setRebuild(ReplicaRebuild.newBuilder()
                .setMethod("FullVerify").setDoneBytes(64 << 20).setTotalBytes(64 << 20)
                .setStartedAt("2026-12-02T20:00:00Z").setOutcome("InSync after 812 ms, 0 bytes "
                    + "copied")))
        .addMembers(ReplicaMemberStatus.newBuilder().setEngine("node-c").setSlot(3)
            .setState("Rebuilding").setLinked(true).setRebuild(ReplicaRebuild.newBuilder()
                .setMethod("Bitmap").setDoneBytes(41).setTotalBytes(100)
                .setStartedAt("2026-12-02T20:01:00Z")))
        .build();
    StringWriter text = new StringWriter();
    try (PrintWriter out = new PrintWriter(text)) {
      ReplicationCommands.print(s, out);
    }
    assertThat(text.toString()).contains(
        "  slot 3  node-c  Rebuilding  linked\n"
            + "    rebuild Bitmap 41% (41 of 100 bytes) since 2026-12-02T20:01:00Z\n",
        "    rebuild FullVerify 100% (67108864 of 67108864 bytes) since 2026-12-02T20:00:00Z: "
            + "InSync after 812 ms, 0 bytes copied\n");
    assertThat(text.toString().lines().filter(l -> l.contains("rebuild"))).hasSize(2);
  }
}
