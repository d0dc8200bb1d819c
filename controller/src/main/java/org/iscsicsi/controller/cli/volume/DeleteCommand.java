package org.iscsicsi.controller.cli.volume;

import csi.v1.ControllerGrpc;
import csi.v1.Csi;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code volume delete NAME}: DeleteVolume (refused while an initiator is logged in). */
@Command(name = "delete", mixinStandardHelpOptions = true,
    description = "Delete a volume and its data (DeleteVolume).")
final class DeleteCommand extends CsiClientCommand {

  @Parameters(paramLabel = "NAME", description = "The volume's name or id")
  String volume;

  @Override
  void run(ControllerGrpc.ControllerBlockingStub csi, PrintWriter out) {
    String id = Volumes.find(csi, volume).getVolume().getVolumeId();
    csi.deleteVolume(Csi.DeleteVolumeRequest.newBuilder().setVolumeId(id).build());
    out.println("deleted " + id);
  }
}
