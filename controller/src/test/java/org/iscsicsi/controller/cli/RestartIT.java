package org.iscsicsi.controller.cli;

import static org.assertj.core.api.Assertions.assertThat;

import csi.v1.Csi;
import csi.v1.Csi.VolumeCapability.AccessMode.Mode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A controller killed with SIGKILL loses nothing: after a restart of {@code bin/controller} on
 * the same state directory, every volume (with size, content source and published nodes), every
 * snapshot and every grant is back, read from the engine's state alone, and repeating the calls
 * that made them is idempotent. Also pins the launcher's life cycle: a stale socket left by the
 * killed process is replaced, and SIGTERM shuts down cleanly and removes the socket.
 */
class RestartIT {

  static final String NODE_A = "iqn.2026-11.org.example:node-a";
  static final String NODE_B = "iqn.2026-11.org.example:node-b";

  @TempDir Path dir;

  static Csi.VolumeCapability cap(boolean block, Mode mode) {
    Csi.VolumeCapability.Builder b = Csi.VolumeCapability.newBuilder()
        .setAccessMode(Csi.VolumeCapability.AccessMode.newBuilder().setMode(mode));
    return block ? b.setBlock(Csi.VolumeCapability.BlockVolume.getDefaultInstance()).build()
        : b.setMount(Csi.VolumeCapability.MountVolume.newBuilder().setFsType("xfs")).build();
  }

  static Csi.CreateVolumeRequest create(String name, long bytes, boolean block) {
    return Csi.CreateVolumeRequest.newBuilder().setName(name)
        .setCapacityRange(Csi.CapacityRange.newBuilder().setRequiredBytes(bytes))
        .addVolumeCapabilities(cap(block, Mode.SINGLE_NODE_WRITER)).build();
  }

  static Csi.ControllerPublishVolumeRequest publish(String id, String node, boolean block,
      boolean ro) {
    return Csi.ControllerPublishVolumeRequest.newBuilder().setVolumeId(id).setNodeId(node)
        .setVolumeCapability(cap(block, Mode.SINGLE_NODE_WRITER)).setReadonly(ro).build();
  }

  @Test
  void sigkillLosesNoVolumeSnapshotOrGrant() throws Exception {
    Path socket = dir.resolve("csi.sock");
    Path state = dir.resolve("state");
    Path log = dir.resolve("controller.log");
    Csi.Volume a;
    Csi.Volume b;
    Csi.Snapshot snap;
    Csi.ListVolumesResponse volumesBefore;
    Csi.ListSnapshotsResponse snapshotsBefore;
    try (ControllerProcess first = ControllerProcess.start(socket, state, log)) {
      a = first.controller.createVolume(create("pvc-a", 8 << 20, false)).getVolume();
      b = first.controller.createVolume(create("pvc-b", 4 << 20, true)).getVolume();
      snap = first.controller.createSnapshot(Csi.CreateSnapshotRequest.newBuilder()
          .setName("snap-a").setSourceVolumeId(a.getVolumeId()).build()).getSnapshot();
      first.controller.createVolume(create("pvc-c", 16 << 20, false).toBuilder()
          .setVolumeContentSource(Csi.VolumeContentSource.newBuilder().setSnapshot(
              Csi.VolumeContentSource.SnapshotSource.newBuilder()
                  .setSnapshotId(snap.getSnapshotId()))).build());
      first.controller.controllerPublishVolume(publish(a.getVolumeId(), NODE_A, false, false));
      first.controller.controllerPublishVolume(publish(b.getVolumeId(), NODE_B, true, true));
      first.controller.controllerExpandVolume(Csi.ControllerExpandVolumeRequest.newBuilder()
          .setVolumeId(b.getVolumeId())
          .setCapacityRange(Csi.CapacityRange.newBuilder().setRequiredBytes(6 << 20)).build());
      volumesBefore = first.controller.listVolumes(Csi.ListVolumesRequest.getDefaultInstance());
      snapshotsBefore = first.controller.listSnapshots(
          Csi.ListSnapshotsRequest.getDefaultInstance());
      first.kill();
      assertThat(first.process.isAlive()).isFalse();
    }
    assertThat(volumesBefore.getEntriesList()).hasSize(3);
    assertThat(Files.exists(socket)).as("the killed process leaves its socket").isTrue();

    try (ControllerProcess second = ControllerProcess.start(socket, state, log)) {
      Csi.ListVolumesResponse volumesAfter =
          second.controller.listVolumes(Csi.ListVolumesRequest.getDefaultInstance());
      assertThat(volumesAfter).isEqualTo(volumesBefore);
      assertThat(second.controller.listSnapshots(Csi.ListSnapshotsRequest.getDefaultInstance()))
          .isEqualTo(snapshotsBefore);
      Csi.ControllerGetVolumeResponse gotB = second.controller.controllerGetVolume(
          Csi.ControllerGetVolumeRequest.newBuilder().setVolumeId(b.getVolumeId()).build());
      assertThat(gotB.getVolume().getCapacityBytes()).isEqualTo(6 << 20);
      assertThat(gotB.getStatus().getPublishedNodeIdsList()).containsExactly(NODE_B);

      assertThat(second.controller.createVolume(create("pvc-a", 8 << 20, false)).getVolume())
          .isEqualTo(a);
      assertThat(second.controller.createSnapshot(Csi.CreateSnapshotRequest.newBuilder()
          .setName("snap-a").setSourceVolumeId(a.getVolumeId()).build()).getSnapshot())
          .isEqualTo(snap);
      second.controller.controllerPublishVolume(publish(a.getVolumeId(), NODE_A, false, false));
      assertThat(second.controller.listVolumes(Csi.ListVolumesRequest.getDefaultInstance()))
          .isEqualTo(volumesBefore);

      second.stop();
      assertThat(Files.exists(socket)).as("SIGTERM removes the socket").isFalse();
      assertThat(Files.readString(log)).contains("CSI server on unix://" + socket + " stopped");
    }
    List<String> lines = Files.readAllLines(log);
    assertThat(lines).noneMatch(l -> l.contains("ERROR"));
  }
}
