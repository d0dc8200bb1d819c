package org.iscsicsi.target.cli;

import java.io.PrintWriter;
import java.util.Map;
import org.iscsicsi.target.v1.CreateTargetRequest;
import org.iscsicsi.target.v1.DeleteTargetRequest;
import org.iscsicsi.target.v1.SetTargetLabelsRequest;
import org.iscsicsi.target.v1.Target;
import org.iscsicsi.target.v1.TargetAdminGrpc.TargetAdminBlockingStub;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code target create|delete|label}. */
@Command(name = "target", description = "Create and delete targets.",
    subcommands = {TargetCommands.Create.class, TargetCommands.Delete.class,
        TargetCommands.Label.class})
final class TargetCommands {

  @Command(name = "create", description = "Create a target (idempotent).")
  static final class Create extends ClientCommand {
    @Parameters(paramLabel = "IQN", description = "Target name (iqn., eui. or naa.).")
    String name;

    @Option(names = "--alias", description = "TargetAlias shown to initiators.")
    String alias = "";

    @Option(names = "--label", paramLabel = "KEY=VALUE", description = "A label (repeatable).")
    Map<String, String> labels = Map.of();

    @Option(names = "--param", paramLabel = "KEY=VALUE",
        description = "Login key default, e.g. MaxRecvDataSegmentLength=262144 (repeatable).")
    Map<String, String> params = Map.of();

    @Option(names = "--portal-group-tag", paramLabel = "N",
        description = "Target portal group tag, 1-65535 (default 1); engines exporting one LUN "
            + "identity use their port slot.")
    int portalGroupTag;

    @Override
    void run(TargetAdminBlockingStub admin, PrintWriter out) {
      Target t = admin.createTarget(CreateTargetRequest.newBuilder().setName(name)
          .setAlias(alias).putAllLabels(labels).putAllParameters(params)
          .setPortalGroupTag(portalGroupTag).build());
      out.println(t.getName());
    }
  }

  @Command(name = "delete", description = "Delete a target with its LUNs (and their files).")
  static final class Delete extends ClientCommand {
    @Parameters(paramLabel = "IQN")
    String name;

    @Option(names = "--force", description = "Close logged-in sessions first.")
    boolean force;

    @Override
    void run(TargetAdminBlockingStub admin, PrintWriter out) {
      admin.deleteTarget(DeleteTargetRequest.newBuilder().setName(name).setForce(force).build());
      out.println("deleted " + name);
    }
  }

  @Command(name = "label", description = "Replace a target's labels.")
  static final class Label extends ClientCommand {
    @Parameters(paramLabel = "IQN")
    String name;

    @Option(names = "--label", paramLabel = "KEY=VALUE", description = "A label (repeatable).")
    Map<String, String> labels = Map.of();

    @Override
    void run(TargetAdminBlockingStub admin, PrintWriter out) {
      Target t = admin.setTargetLabels(SetTargetLabelsRequest.newBuilder().setName(name)
          .putAllLabels(labels).build());
      out.println(t.getName() + " " + t.getLabelsMap());
    }
  }

  private TargetCommands() {
  }
}
