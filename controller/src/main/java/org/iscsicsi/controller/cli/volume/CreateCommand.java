package org.iscsicsi.controller.cli.volume;

import csi.v1.ControllerGrpc;
import csi.v1.Csi;
import java.io.PrintWriter;
import org.iscsicsi.controller.volume.ByteQuantity;
import org.iscsicsi.controller.volume.VolumeParameters;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code volume create NAME --size Q}: CreateVolume; prints the volume id. */
@Command(name = "create", mixinStandardHelpOptions = true,
    description = "Create a volume (CreateVolume) and print its id.")
final class CreateCommand extends CsiClientCommand {

  @Parameters(paramLabel = "NAME", description = "The volume's CSI name")
  String name;

  @Option(names = "--size", paramLabel = "QUANTITY", defaultValue = "1GiB",
      description = "Capacity: bytes or 1GiB, 512MiB, 100Gi, 500G (default ${DEFAULT-VALUE})")
  String size;

  @Option(names = "--fs", paramLabel = "xfs|ext4",
      description = "Filesystem the node makes on first use (default: the node's, ext4)")
  String fsType;

  @Option(names = "--block", description = "A raw block volume, no filesystem")
  boolean block;

  @Option(names = "--no-chap", description = "Admit initiators by name alone (no CHAP)")
  boolean noChap;

  @Option(names = "--mutual-chap", description = "The target authenticates to the initiator too")
  boolean mutualChap;

  @Override
  void run(ControllerGrpc.ControllerBlockingStub csi, PrintWriter out) {
    if (block && fsType != null) {
      throw new IllegalArgumentException("--block and --fs exclude each other");
    }
    if (noChap && mutualChap) {
      throw new IllegalArgumentException("--mutual-chap needs CHAP: drop --no-chap");
    }
    if (fsType != null && !VolumeParameters.FS_TYPES.contains(fsType)) {
      throw new IllegalArgumentException("--fs " + fsType + ": expected one of "
          + VolumeParameters.FS_TYPES);
    }
    long bytes = bytes(size);
    Csi.CreateVolumeRequest.Builder req = Csi.CreateVolumeRequest.newBuilder().setName(name)
        .setCapacityRange(Csi.CapacityRange.newBuilder().setRequiredBytes(bytes))
        .addVolumeCapabilities(Volumes.capability(block, fsType == null ? "" : fsType))
        .putParameters(VolumeParameters.CHAP, Boolean.toString(!noChap))
        .putParameters(VolumeParameters.MUTUAL_CHAP, Boolean.toString(mutualChap));
    if (fsType != null) {
      req.putParameters(VolumeParameters.FS_TYPE, fsType);
    }
    out.println(csi.createVolume(req.build()).getVolume().getVolumeId());
  }

  /** A quantity as Kubernetes writes it, also with the IEC unit spelled out (1GiB = 1Gi). */
  static long bytes(String quantity) {
    String q = quantity.strip();
    try {
      return ByteQuantity.parse(q.endsWith("iB") ? q.substring(0, q.length() - 1) : q);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--size: " + e.getMessage(), e);
    }
  }
}
