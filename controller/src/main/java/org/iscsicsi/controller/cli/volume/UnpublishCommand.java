package org.iscsicsi.controller.cli.volume;

import csi.v1.ControllerGrpc;
import csi.v1.Csi;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code volume unpublish NAME --node IQN}: ControllerUnpublishVolume; closes its sessions. */
@Command(name = "unpublish", mixinStandardHelpOptions = true,
    description = "Revoke an initiator's grant (ControllerUnpublishVolume); its sessions close.")
final class UnpublishCommand extends CsiClientCommand {

  @Parameters(paramLabel = "NAME", description = "The volume's name or id")
  String volume;

  @Option(names = "--node", required = true, paramLabel = "IQN",
      description = "The initiator name to revoke")
  String node;

  @Override
  void run(ControllerGrpc.ControllerBlockingStub csi, PrintWriter out) {
    String id = Volumes.find(csi, volume).getVolume().getVolumeId();
    csi.controllerUnpublishVolume(Csi.ControllerUnpublishVolumeRequest.newBuilder()
        .setVolumeId(id).setNodeId(node).build());
    out.println("unpublished " + id + " from " + node);
  }
}
