package org.iscsicsi.target.cli;

import java.io.PrintWriter;
import java.time.Instant;
import org.iscsicsi.target.v1.CreateSnapshotRequest;
import org.iscsicsi.target.v1.DeleteSnapshotRequest;
import org.iscsicsi.target.v1.ListSnapshotsRequest;
import org.iscsicsi.target.v1.Snapshot;
import org.iscsicsi.target.v1.TargetAdminGrpc.TargetAdminBlockingStub;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code snapshot create|delete|ls}. */
@Command(name = "snapshot", description = "Point-in-time copies of LUNs.",
    subcommands = {SnapshotCommands.Create.class, SnapshotCommands.Delete.class,
        SnapshotCommands.Ls.class})
final class SnapshotCommands {

  @Command(name = "create", description = "Snapshot a LUN (IQN/LUN) under an id.")
  static final class Create extends ClientCommand {
    @Parameters(index = "0", paramLabel = "ID")
    String id;

    @Parameters(index = "1", paramLabel = "IQN/LUN")
    String source;

    @Override
    void run(TargetAdminBlockingStub admin, PrintWriter out) {
      print(out, admin.createSnapshot(CreateSnapshotRequest.newBuilder().setId(id)
          .setSource(LunCommands.lunRef(source)).build()));
    }
  }

  @Command(name = "delete")
  static final class Delete extends ClientCommand {
    @Parameters(paramLabel = "ID")
    String id;

    @Override
    void run(TargetAdminBlockingStub admin, PrintWriter out) {
      admin.deleteSnapshot(DeleteSnapshotRequest.newBuilder().setId(id).build());
      out.println("deleted snapshot " + id);
    }
  }

  @Command(name = "ls")
  static final class Ls extends ClientCommand {
    @Option(names = "--source", paramLabel = "IQN/LUN")
    String source;

    @Override
    void run(TargetAdminBlockingStub admin, PrintWriter out) {
      var b = ListSnapshotsRequest.newBuilder();
      if (source != null) {
        b.setSource(LunCommands.lunRef(source));
      }
      var list = admin.listSnapshots(b.build()).getSnapshotsList();
      if (list.isEmpty()) {
        out.println("no snapshots");
      }
      list.forEach(s -> print(out, s));
    }
  }

  static void print(PrintWriter out, Snapshot s) {
    out.println(s.getId() + "  " + s.getSource().getTarget() + "/" + s.getSource().getLun() + "  "
        + Sizes.format(s.getSizeBytes()) + "  allocated " + Sizes.format(s.getAllocatedBytes())
        + "  " + Instant.ofEpochSecond(0, s.getCreatedUnixNanos()));
  }

  private SnapshotCommands() {
  }
}
