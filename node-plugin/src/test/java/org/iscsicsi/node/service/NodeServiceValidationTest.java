package org.iscsicsi.node.service;

import static org.assertj.core.api.Assertions.assertThat;

import csi.v1.Csi;
import csi.v1.NodeGrpc;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;
import org.iscsicsi.csi.exec.CommandResult;
import org.iscsicsi.node.device.Sysfs;
import org.iscsicsi.node.fs.Filesystems;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pins the Node service's request validation without root: missing volume ids, paths and
 * capabilities, unsupported access modes and filesystem types, bad mount flags, and staging,
 * target and volume paths outside the kubelet directory or through a symbolic link are refused
 * with the CSI status codes, before the attacher is called or any host command runs. The attacher
 * and the command runner here only record that they were reached: nothing may reach them.
 */
class NodeServiceValidationTest {

  @TempDir Path tmp;
  private final List<String> reached = new CopyOnWriteArrayList<>();
  private InProcessNode inProcess;
  private NodeGrpc.NodeBlockingStub node;
  private Path kubelet;
  private String staging;
  private String target;

  @BeforeEach
  void start() throws Exception {
    kubelet = Files.createDirectories(tmp.resolve("kubelet"));
    staging = kubelet + "/plugins/kubernetes.io/csi/iscsi/pv/globalmount";
    target = kubelet + "/pods/p1/volumes/kubernetes.io~csi/pv/mount";
    VolumeAttacher attacher = new VolumeAttacher() {
      @Override
      public Path attach(String id, VolumeSource s, Map<String, String> secrets) {
        reached.add("attach " + id);
        throw new IllegalStateException("not reachable in this test");
      }

      @Override
      public void detach(String id, VolumeSource s) {
        reached.add("detach " + id);
      }

      @Override
      public Optional<Path> device(VolumeSource s) {
        return Optional.empty();
      }

      @Override
      public Optional<String> problem(VolumeSource s) {
        return Optional.of("not attached");
      }

      @Override
      public void rescan(VolumeSource s) {
        reached.add("rescan");
      }
    };
    var fs = new Filesystems(c -> {
      reached.add(c.redacted());
      return new CommandResult(1, "", "not reachable in this test");
    }, Duration.ofSeconds(5), Duration.ofSeconds(5));
    inProcess = InProcessNode.start(attacher, fs, new Sysfs(tmp.resolve("sys"),
        tmp.resolve("dev")), tmp.resolve("state"), kubelet, tmp, 10, Duration.ofMinutes(1));
    node = inProcess.node();
  }

  @AfterEach
  void stop() {
    inProcess.close();
  }

  private static Csi.VolumeCapability cap(String fsType, Csi.VolumeCapability.AccessMode.Mode m,
      String... flags) {
    return Csi.VolumeCapability.newBuilder()
        .setMount(Csi.VolumeCapability.MountVolume.newBuilder().setFsType(fsType)
            .addAllMountFlags(List.of(flags)))
        .setAccessMode(Csi.VolumeCapability.AccessMode.newBuilder().setMode(m)).build();
  }

  private static Csi.VolumeCapability rw() {
    return cap("ext4", Csi.VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER);
  }

  private static final Map<String, String> CTX = Map.of("targetIqn",
      "iqn.2026-11.org.iscsicsi:pv", "portals", "10.0.2.2:3260");

  private Csi.NodeStageVolumeRequest.Builder stage() {
    return Csi.NodeStageVolumeRequest.newBuilder().setVolumeId("pv").putAllPublishContext(CTX)
        .setStagingTargetPath(staging).setVolumeCapability(rw());
  }

  private Csi.NodePublishVolumeRequest.Builder publish() {
    return Csi.NodePublishVolumeRequest.newBuilder().setVolumeId("pv")
        .setStagingTargetPath(staging).setTargetPath(target).setVolumeCapability(rw());
  }

  /** The status of the call, asserting its description names {@code mentions}. */
  private static Status.Code code(Supplier<?> call, String mentions) {
    try {
      call.get();
      return Status.Code.OK;
    } catch (StatusRuntimeException e) {
      assertThat(e.getStatus().getDescription()).contains(mentions);
      return e.getStatus().getCode();
    }
  }

  @Test
  void missingFieldsAreInvalidArgument() {
    assertThat(code(() -> node.nodeStageVolume(stage().clearVolumeId().build()), "volume_id"))
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(code(() -> node.nodeStageVolume(stage().clearStagingTargetPath().build()),
        "staging_target_path")).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(code(() -> node.nodeStageVolume(stage().clearVolumeCapability().build()),
        "volume_capability")).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(code(() -> node.nodePublishVolume(publish().clearTargetPath().build()),
        "target_path")).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(code(() -> node.nodePublishVolume(publish().clearVolumeId().build()),
        "volume_id")).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(code(() -> node.nodeUnpublishVolume(Csi.NodeUnpublishVolumeRequest.newBuilder()
        .setVolumeId("pv").build()), "target_path")).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(code(() -> node.nodeUnstageVolume(Csi.NodeUnstageVolumeRequest.newBuilder()
        .setStagingTargetPath(staging).build()), "volume_id"))
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(code(() -> node.nodeGetVolumeStats(Csi.NodeGetVolumeStatsRequest.newBuilder()
        .setVolumeId("pv").build()), "volume_path")).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(code(() -> node.nodeExpandVolume(Csi.NodeExpandVolumeRequest.newBuilder()
        .setVolumePath(staging).build()), "volume_id")).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(code(() -> node.nodeStageVolume(stage().setVolumeId("x".repeat(300)).build()),
        "too long")).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(reached).isEmpty();
  }

  @Test
  void badCapabilitiesAreInvalidArgument() {
    assertThat(code(() -> node.nodeStageVolume(stage().setVolumeCapability(
        Csi.VolumeCapability.newBuilder().setAccessMode(Csi.VolumeCapability.AccessMode
            .newBuilder().setMode(Csi.VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER)))
        .build()), "neither block nor mount")).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(code(() -> node.nodeStageVolume(stage().setVolumeCapability(cap("ext4",
        Csi.VolumeCapability.AccessMode.Mode.MULTI_NODE_MULTI_WRITER)).build()),
        "not supported with a filesystem")).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(code(() -> node.nodeStageVolume(stage().setVolumeCapability(cap("ext4",
        Csi.VolumeCapability.AccessMode.Mode.UNKNOWN)).build()), "not supported"))
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(code(() -> node.nodeStageVolume(stage().setVolumeCapability(cap("btrfs",
        Csi.VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER)).build()), "btrfs"))
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(code(() -> node.nodeStageVolume(stage().setVolumeCapability(cap("ext4",
        Csi.VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER, "-o exec")).build()),
        "mount option")).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(code(() -> node.nodePublishVolume(publish().setVolumeCapability(cap("ext4",
        Csi.VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER, "x;reboot")).build()),
        "mount option")).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(code(() -> node.nodeStageVolume(stage().putPublishContext("chap", "yes")
        .build()), "chap")).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(code(() -> node.nodeStageVolume(stage().putPublishContext("discoveryChap", "1")
        .build()), "discoveryChap")).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(reached).isEmpty();
  }

  @Test
  void pathsOutsideTheKubeletDirectoryAreInvalidArgument() {
    for (String bad : List.of("/etc", "/", kubelet.toString(), kubelet + "/../etc",
        kubelet + "/pods/../../etc", tmp + "/elsewhere/mount", "relative/mount")) {
      assertThat(code(() -> node.nodeStageVolume(stage().setStagingTargetPath(bad).build()),
          "staging_target_path")).as(bad).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(code(() -> node.nodePublishVolume(publish().setTargetPath(bad).build()),
          "target_path")).as(bad).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(code(() -> node.nodePublishVolume(publish().setStagingTargetPath(bad).build()),
          "staging_target_path")).as(bad).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(code(() -> node.nodeUnpublishVolume(Csi.NodeUnpublishVolumeRequest.newBuilder()
          .setVolumeId("pv").setTargetPath(bad).build()), "target_path")).as(bad)
          .isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(code(() -> node.nodeUnstageVolume(Csi.NodeUnstageVolumeRequest.newBuilder()
          .setVolumeId("pv").setStagingTargetPath(bad).build()), "staging_target_path"))
          .as(bad).isEqualTo(Status.Code.INVALID_ARGUMENT);
    }
    // volume_path: absolute but outside is a caller error; not absolute cannot hold a volume.
    assertThat(code(() -> node.nodeGetVolumeStats(Csi.NodeGetVolumeStatsRequest.newBuilder()
        .setVolumeId("pv").setVolumePath("/etc").build()), "kubelet directory"))
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(code(() -> node.nodeExpandVolume(Csi.NodeExpandVolumeRequest.newBuilder()
        .setVolumeId("pv").setVolumePath(kubelet + "/../x").build()), "volume_path"))
        .isEqualTo(Status.Code.NOT_FOUND);
    assertThat(code(() -> node.nodeGetVolumeStats(Csi.NodeGetVolumeStatsRequest.newBuilder()
        .setVolumeId("pv").setVolumePath("some/path").build()), "no volume is there"))
        .isEqualTo(Status.Code.NOT_FOUND);
    assertThat(reached).isEmpty();
  }

  @Test
  void pathsThroughASymbolicLinkAreInvalidArgumentAndNothingIsCreated() throws Exception {
    Path outside = Files.createDirectories(tmp.resolve("host-etc"));
    Files.createDirectories(kubelet.resolve("pods"));
    Files.createSymbolicLink(kubelet.resolve("pods/p1"), outside);
    assertThat(code(() -> node.nodePublishVolume(publish().build()), "symbolic link"))
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(code(() -> node.nodeUnpublishVolume(Csi.NodeUnpublishVolumeRequest.newBuilder()
        .setVolumeId("pv").setTargetPath(target).build()), "symbolic link"))
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(code(() -> node.nodeGetVolumeStats(Csi.NodeGetVolumeStatsRequest.newBuilder()
        .setVolumeId("pv").setVolumePath(target).build()), "symbolic link"))
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
    Files.createDirectories(kubelet.resolve("plugins/kubernetes.io/csi/iscsi"));
    Files.createSymbolicLink(kubelet.resolve("plugins/kubernetes.io/csi/iscsi/pv"), outside);
    assertThat(code(() -> node.nodeStageVolume(stage().build()), "symbolic link"))
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(code(() -> node.nodeUnstageVolume(Csi.NodeUnstageVolumeRequest.newBuilder()
        .setVolumeId("pv").setStagingTargetPath(staging).build()), "symbolic link"))
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
    try (var l = Files.list(outside)) {
      assertThat(l).isEmpty();
    }
    assertThat(reached).isEmpty();
  }

  @Test
  void unknownVolumesAreNotFoundAndUnknownUnstageSucceeds() {
    assertThat(code(() -> node.nodePublishVolume(publish().build()), "not staged"))
        .isEqualTo(Status.Code.NOT_FOUND);
    assertThat(code(() -> node.nodeExpandVolume(Csi.NodeExpandVolumeRequest.newBuilder()
        .setVolumeId("pv").setVolumePath(staging).build()), "not staged"))
        .isEqualTo(Status.Code.NOT_FOUND);
    node.nodeUnstageVolume(Csi.NodeUnstageVolumeRequest.newBuilder().setVolumeId("pv")
        .setStagingTargetPath(staging).build());
    node.nodeUnpublishVolume(Csi.NodeUnpublishVolumeRequest.newBuilder().setVolumeId("pv")
        .setTargetPath(target).build());
    assertThat(reached).isEmpty();
  }
}
