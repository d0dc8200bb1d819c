package org.iscsicsi.controller.cli.volume;

import csi.v1.ControllerGrpc;
import csi.v1.Csi;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.iscsicsi.controller.volume.VolumeId;

/** ListVolumes from the client's side: every entry (all pages), and a volume by name or id. */
final class Volumes {

  private Volumes() {
  }

  static List<Csi.ListVolumesResponse.Entry> all(ControllerGrpc.ControllerBlockingStub csi) {
    List<Csi.ListVolumesResponse.Entry> entries = new ArrayList<>();
    String token = "";
    do {
      Csi.ListVolumesResponse page = csi.listVolumes(
          Csi.ListVolumesRequest.newBuilder().setStartingToken(token).build());
      entries.addAll(page.getEntriesList());
      token = page.getNextToken();
    } while (!token.isEmpty());
    return entries;
  }

  /**
   * The volume {@code nameOrId} names: its id, or the CSI name it was created with (the id's
   * local part is derived from the name, {@link VolumeId#forName}).
   *
   * @throws io.grpc.StatusRuntimeException NOT_FOUND when no volume has that name or id
   */
  static Csi.ListVolumesResponse.Entry find(ControllerGrpc.ControllerBlockingStub csi,
      String nameOrId) {
    return all(csi).stream().filter(e -> matches(e.getVolume().getVolumeId(), nameOrId))
        .findFirst().orElseThrow(() -> Status.NOT_FOUND.withDescription("no volume named "
            + nameOrId + " (controller volume ls lists them)").asRuntimeException());
  }

  static boolean matches(String volumeId, String nameOrId) {
    if (volumeId.equals(nameOrId)) {
      return true;
    }
    Optional<VolumeId> id = VolumeId.parse(volumeId);
    return id.isPresent() && VolumeId.forName(id.get().engine(), nameOrId).equals(id.get());
  }

  /** A single-node read-write capability: a filesystem ({@code fsType} may be empty) or block. */
  static Csi.VolumeCapability capability(boolean block, String fsType) {
    Csi.VolumeCapability.Builder b = Csi.VolumeCapability.newBuilder().setAccessMode(
        Csi.VolumeCapability.AccessMode.newBuilder()
            .setMode(Csi.VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER));
    if (block) {
      b.setBlock(Csi.VolumeCapability.BlockVolume.getDefaultInstance());
    } else {
      b.setMount(Csi.VolumeCapability.MountVolume.newBuilder().setFsType(fsType));
    }
    return b.build();
  }
}
