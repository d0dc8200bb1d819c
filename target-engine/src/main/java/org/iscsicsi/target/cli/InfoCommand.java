package org.iscsicsi.target.cli;

import java.io.PrintWriter;
import java.util.TreeMap;
import org.iscsicsi.target.v1.BackendCapacity;
import org.iscsicsi.target.v1.EngineInfo;
import org.iscsicsi.target.v1.GetEngineInfoRequest;
import org.iscsicsi.target.v1.GetPoolCapacityRequest;
import org.iscsicsi.target.v1.PoolCapacity;
import org.iscsicsi.target.v1.TargetAdminGrpc.TargetAdminBlockingStub;
import picocli.CommandLine.Command;

/** {@code info}: the engine's name, version, portals, counts, pool space and backends. */
@Command(name = "info", description = "Show the engine's portals, counts and pool capacity.")
final class InfoCommand extends ClientCommand {

  @Override
  void run(TargetAdminBlockingStub admin, PrintWriter out) {
    EngineInfo i = admin.getEngineInfo(GetEngineInfoRequest.getDefaultInstance());
    PoolCapacity p = admin.getPoolCapacity(GetPoolCapacityRequest.getDefaultInstance());
    out.println("engine " + i.getName() + " (incarnation " + i.getIncarnation() + ")"
        + (i.getNode().isEmpty() ? "" : " on node " + i.getNode())
        + (i.getTopologyMap().isEmpty() ? "" : ", topology " + new TreeMap<>(i.getTopologyMap())));
    out.println("version " + i.getVersion() + ", " + (i.getServing() ? "serving" : "not serving")
        + " on " + String.join(", ", i.getPortalsList()));
    out.println(i.getTargetCount() + " target(s), " + i.getSessionCount() + " session(s)");
    out.println("pool: " + Sizes.format(p.getAvailableBytes()) + " free of "
        + Sizes.format(p.getTotalBytes()) + ", provisioned " + Sizes.format(p.getProvisionedBytes())
        + ", allocated " + Sizes.format(p.getAllocatedBytes()));
    for (BackendCapacity b : i.getBackendsList()) {
      out.println("backend " + b.getName() + " (" + b.getType() + "): "
          + Sizes.format(b.getAvailableBytes()) + " free of " + Sizes.format(b.getTotalBytes())
          + ", provisioned " + Sizes.format(b.getProvisionedBytes()) + ", allocated "
          + Sizes.format(b.getAllocatedBytes()));
    }
  }
}
