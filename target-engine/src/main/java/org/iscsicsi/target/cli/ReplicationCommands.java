package org.iscsicsi.target.cli;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import org.iscsicsi.target.v1.GetReplicationStatusRequest;
import org.iscsicsi.target.v1.ReplicaMemberStatus;
import org.iscsicsi.target.v1.ReplicaRebuild;
import org.iscsicsi.target.v1.ReplicationStatus;
import org.iscsicsi.target.v1.SetLunReplicationRequest;
import org.iscsicsi.target.v1.TargetAdminGrpc.TargetAdminBlockingStub;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code replication}: replicated LUNs (docs/replication.md). */
@Command(name = "replication", description = "Make LUNs replicated and show their state.",
    subcommands = {ReplicationCommands.Set.class, ReplicationCommands.Status.class})
final class ReplicationCommands {

  private ReplicationCommands() {
  }

  /** A command of the TargetReplication service. */
  abstract static class ReplicationCommand extends ClientCommand {
    @Override
    final void run(TargetAdminBlockingStub admin, PrintWriter out) {
      throw new IllegalStateException("runs on the TargetReplication service");
    }
  }

  @Command(name = "set", description = "Make a LUN (created with the member's port slot and "
      + "the volume's identity) replicated; set it on the members before the primary.")
  static final class Set extends ReplicationCommand {
    @Option(names = "--target", required = true, paramLabel = "IQN")
    String target;

    @Option(names = "--lun", paramLabel = "N")
    int lun;

    @Option(names = "--volume", required = true, paramLabel = "ID",
        description = "The IscsiVolume holding the membership.")
    String volume;

    @Option(names = "--member", paramLabel = "ENGINE=HOST:PORT",
        description = "Another member's replication address (repeatable).")
    Map<String, String> members = new LinkedHashMap<>();

    @Option(names = "--ack-timeout-ms", paramLabel = "MS",
        description = "How long the primary waits for a member's ack (default 4000).")
    int ackTimeoutMs;

    @Override
    void run(AdminClient client, PrintWriter out) {
      print(client.replication().setLunReplication(SetLunReplicationRequest.newBuilder()
          .setTarget(target).setLun(lun).setVolume(volume).putAllMemberAddresses(members)
          .setAckTimeoutMs(ackTimeoutMs).build()), out);
    }
  }

  @Command(name = "status", description = "Role, epochs, serve lease and member links.")
  static final class Status extends ReplicationCommand {
    @Option(names = "--target", required = true, paramLabel = "IQN")
    String target;

    @Option(names = "--lun", paramLabel = "N")
    int lun;

    @Override
    void run(AdminClient client, PrintWriter out) {
      print(client.replication().getReplicationStatus(GetReplicationStatusRequest.newBuilder()
          .setTarget(target).setLun(lun).build()), out);
    }
  }

  static void print(ReplicationStatus s, PrintWriter out) {
    String role = switch (s.getRole()) {
      case REPLICA_ROLE_PRIMARY -> "primary";
      case REPLICA_ROLE_MEMBER -> "member";
      default -> "unknown";
    };
    out.println(s.getVolume() + "  LUN " + s.getLun() + " of " + s.getTarget() + "  " + role
        + "  epoch " + s.getEpoch() + " (accepted " + s.getAcceptedEpoch() + ")  primary "
        + s.getPrimary() + "  generation " + s.getGeneration());
    if (s.getRole() == org.iscsicsi.target.v1.ReplicaRole.REPLICA_ROLE_PRIMARY) {
      out.println("  " + (s.getServing() ? "serving, lease " + s.getLeaseLeftMs() + " ms left"
          : "not serving"));
    }
    if (s.getRole() == org.iscsicsi.target.v1.ReplicaRole.REPLICA_ROLE_MEMBER) {
      out.println("  " + (s.getPrimarySilenceMs() < 0 ? "nothing from the primary yet"
          : "last frame from the primary " + s.getPrimarySilenceMs() + " ms ago"));
    }
    if (!s.getDetail().isEmpty()) {
      out.println("  " + s.getDetail());
    }
    for (ReplicaMemberStatus m : s.getMembersList()) {
      out.println("  slot " + m.getSlot() + "  " + m.getEngine() + "  " + m.getState()
          + (m.getEngine().equals(s.getPrimary()) ? "  (primary)"
              : s.getRole() == org.iscsicsi.target.v1.ReplicaRole.REPLICA_ROLE_PRIMARY
                  ? (m.getLinked() ? "  linked" : "  no link") : ""));
      if (m.hasRebuild()) {
        ReplicaRebuild r = m.getRebuild();
        long pct = r.getTotalBytes() == 0 ? 0 : 100 * r.getDoneBytes() / r.getTotalBytes();
        out.println("    rebuild " + r.getMethod() + " " + pct + "% (" + r.getDoneBytes() + " of "
            + r.getTotalBytes() + " bytes) since " + r.getStartedAt()
            + (r.getOutcome().isEmpty() ? "" : ": " + r.getOutcome()));
      }
    }
  }
}
