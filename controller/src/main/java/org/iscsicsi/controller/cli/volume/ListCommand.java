package org.iscsicsi.controller.cli.volume;

import csi.v1.ControllerGrpc;
import csi.v1.Csi;
import java.io.PrintWriter;
import java.util.Locale;
import org.iscsicsi.target.cli.Sizes;
import picocli.CommandLine.Command;

/** {@code volume ls}: ListVolumes as a table of id, size, condition and published nodes. */
@Command(name = "ls", mixinStandardHelpOptions = true,
    description = "List volumes (ListVolumes): id, size, condition, published nodes.")
final class ListCommand extends CsiClientCommand {

  private static final String ROW = "%-40s %10s  %-10s %s%n";

  @Override
  void run(ControllerGrpc.ControllerBlockingStub csi, PrintWriter out) {
    var entries = Volumes.all(csi);
    out.printf(Locale.ROOT, ROW, "ID", "SIZE", "CONDITION", "NODES");
    for (Csi.ListVolumesResponse.Entry e : entries) {
      Csi.ListVolumesResponse.VolumeStatus s = e.getStatus();
      String condition = !s.hasVolumeCondition() ? "-"
          : s.getVolumeCondition().getAbnormal() ? "abnormal: " + s.getVolumeCondition()
              .getMessage() : "healthy";
      String nodes = s.getPublishedNodeIdsCount() == 0 ? "-"
          : String.join(",", s.getPublishedNodeIdsList());
      out.printf(Locale.ROOT, ROW, e.getVolume().getVolumeId(),
          Sizes.format(e.getVolume().getCapacityBytes()), condition, nodes);
    }
  }
}
