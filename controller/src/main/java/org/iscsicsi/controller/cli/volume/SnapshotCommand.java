package org.iscsicsi.controller.cli.volume;

import csi.v1.ControllerGrpc;
import csi.v1.Csi;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code volume snapshot NAME SNAPNAME}: CreateSnapshot; prints the snapshot id. */
@Command(name = "snapshot", mixinStandardHelpOptions = true,
    description = "Snapshot a volume (CreateSnapshot) and print the snapshot id.")
final class SnapshotCommand extends CsiClientCommand {

  @Parameters(index = "0", paramLabel = "NAME", description = "The volume's name or id")
  String volume;

  @Parameters(index = "1", paramLabel = "SNAPNAME", description = "The snapshot's CSI name")
  String snapshot;

  @Override
  void run(ControllerGrpc.ControllerBlockingStub csi, PrintWriter out) {
    String id = Volumes.find(csi, volume).getVolume().getVolumeId();
    out.println(csi.createSnapshot(Csi.CreateSnapshotRequest.newBuilder()
        .setSourceVolumeId(id).setName(snapshot).build()).getSnapshot().getSnapshotId());
  }
}
