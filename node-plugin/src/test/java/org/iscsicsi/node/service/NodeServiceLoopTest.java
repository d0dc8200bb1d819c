package org.iscsicsi.node.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import csi.v1.Csi;
import csi.v1.NodeGrpc;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.csi.exec.Command;
import org.iscsicsi.csi.exec.ProcessCommandRunner;
import org.iscsicsi.node.device.Sysfs;
import org.iscsicsi.node.fs.Filesystems;
import org.iscsicsi.node.fs.LoopDevice;
import org.iscsicsi.node.fs.MountTable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pins the Node service end to end over gRPC on real loop devices with the real blkid, mkfs,
 * e2fsck, mount and xfs_growfs: a blank disk is formatted once and keeps its data across
 * unstage/stage, mounts are by UUID, read-only and block publishing, online expansion, idempotent
 * stage/unstage/publish/unpublish, stale and read-only staging mounts repaired by the next stage, a
 * clone mounted beside its source, stats and volume condition, per-volume ABORTED, bad input
 * answered with the CSI status codes and nothing left behind, nosuid,nodev on staging and bind
 * mounts unless the flags say suid/dev (block binds nosuid only), and no mount outside the kubelet
 * directory (here the test's temporary directory) or through a planted link. The disk is attached
 * by {@link LoopAttacher} instead of iSCSI because this host's kernel has no SCSI layer.
 */
class NodeServiceLoopTest {

  static final long MB = 1024 * 1024;
  static final String IQN = "iqn.2026-11.org.iscsicsi:vol-a";
  static final Duration T = Duration.ofSeconds(30);

  @TempDir Path tmp;
  private LoopAttacher attacher;
  private InProcessNode inProcess;
  private NodeGrpc.NodeBlockingStub node;
  private Path stateDir;

  @BeforeEach
  void start() throws Exception {
    LoopDevice.assumeAvailable();
    attacher = new LoopAttacher();
    stateDir = tmp.resolve("state");
    var fs = new Filesystems(new ProcessCommandRunner(), T, Duration.ofMinutes(2));
    inProcess = InProcessNode.start(attacher, fs, Sysfs.host(), stateDir, tmp, tmp, 100,
        Duration.ofMinutes(2));
    node = inProcess.node();
  }

  @AfterEach
  void stop() throws Exception {
    if (inProcess != null) {
      inProcess.close();
    }
    // Unmount anything under tmp a failed test left, then detach the loop devices.
    if (attacher != null) {
      var table = MountTable.read(Path.of("/proc/self/mountinfo"));
      for (var e : table.entries().reversed()) {
        if (e.mountPoint().startsWith(tmp)) {
          new ProcessCommandRunner().run(Command.of(T, "umount", "-l", e.mountPoint().toString()));
        }
      }
      attacher.detachAll();
    }
  }

  private Path image(String name, long size) throws Exception {
    Path p = tmp.resolve(name + ".img");
    try (var raf = new java.io.RandomAccessFile(p.toFile(), "rw")) {
      raf.setLength(size);
    }
    return p;
  }

  static Map<String, String> ctx(String iqn) {
    return Map.of("targetIqn", iqn, "portals", "10.0.2.2:3260", "lun", "0", "chap", "false");
  }

  static Csi.VolumeCapability mount(String fsType, Csi.VolumeCapability.AccessMode.Mode mode) {
    return Csi.VolumeCapability.newBuilder()
        .setMount(Csi.VolumeCapability.MountVolume.newBuilder().setFsType(fsType)
            .addMountFlags("noatime"))
        .setAccessMode(Csi.VolumeCapability.AccessMode.newBuilder().setMode(mode)).build();
  }

  static Csi.VolumeCapability rw(String fsType) {
    return mount(fsType, Csi.VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER);
  }

  static Csi.VolumeCapability block() {
    return Csi.VolumeCapability.newBuilder()
        .setBlock(Csi.VolumeCapability.BlockVolume.getDefaultInstance())
        .setAccessMode(Csi.VolumeCapability.AccessMode.newBuilder()
            .setMode(Csi.VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER)).build();
  }

  private void stage(String id, String iqn, Path staging, Csi.VolumeCapability cap) {
    node.nodeStageVolume(Csi.NodeStageVolumeRequest.newBuilder().setVolumeId(id)
        .putAllPublishContext(ctx(iqn)).setStagingTargetPath(staging.toString())
        .setVolumeCapability(cap).build());
  }

  private void unstage(String id, Path staging) {
    node.nodeUnstageVolume(Csi.NodeUnstageVolumeRequest.newBuilder().setVolumeId(id)
        .setStagingTargetPath(staging.toString()).build());
  }

  private void publish(String id, Path staging, Path target, Csi.VolumeCapability cap,
      boolean ro) {
    node.nodePublishVolume(Csi.NodePublishVolumeRequest.newBuilder().setVolumeId(id)
        .putAllPublishContext(ctx(IQN)).setStagingTargetPath(staging.toString())
        .setTargetPath(target.toString()).setVolumeCapability(cap).setReadonly(ro).build());
  }

  private void unpublish(String id, Path target) {
    node.nodeUnpublishVolume(Csi.NodeUnpublishVolumeRequest.newBuilder().setVolumeId(id)
        .setTargetPath(target.toString()).build());
  }

  private static MountTable mounts() throws Exception {
    return MountTable.read(Path.of("/proc/self/mountinfo"));
  }

  private static Status.Code code(Runnable r) {
    try {
      r.run();
    } catch (StatusRuntimeException e) {
      return e.getStatus().getCode();
    }
    return Status.Code.OK;
  }

  @Test
  void formatsOnceMountsByUuidAndKeepsDataAcrossStages() throws Exception {
    attacher.serve(IQN, image("a", 64 * MB));
    Path staging = Files.createDirectories(tmp.resolve("staging"));
    stage("vol-a", IQN, staging, rw("ext4"));
    var m = mounts().at(staging).orElseThrow();
    assertThat(m.fsType()).isEqualTo("ext4");
    assertThat(m.options()).contains("noatime", "nosuid", "nodev");
    Files.writeString(staging.resolve("keep.txt"), "precious");
    stage("vol-a", IQN, staging, rw("ext4")); // idempotent: no second mount, no format
    assertThat(mounts().entries().stream().filter(e -> e.mountPoint().equals(staging)))
        .hasSize(1);
    unstage("vol-a", staging);
    assertThat(mounts().at(staging)).isEmpty();
    assertThat(attacher.device(VolumeSource.fromPublishContext(ctx(IQN)))).isEmpty();
    assertThat(stateDir).isEmptyDirectory();

    stage("vol-a", IQN, staging, rw("ext4"));
    assertThat(Files.readString(staging.resolve("keep.txt"))).isEqualTo("precious");
    unstage("vol-a", staging);
    unstage("vol-a", staging); // idempotent
  }

  @Test
  void publishesReadWriteAndReadOnlyAndUnpublishesCleanly() throws Exception {
    attacher.serve(IQN, image("a", 64 * MB));
    Path staging = Files.createDirectories(tmp.resolve("staging"));
    Path rwTarget = tmp.resolve("pods/p1/mount");
    Path roTarget = tmp.resolve("pods/p2/mount");
    stage("vol-a", IQN, staging, rw("ext4"));
    publish("vol-a", staging, rwTarget, rw("ext4"), false);
    publish("vol-a", staging, rwTarget, rw("ext4"), false); // idempotent
    publish("vol-a", staging, roTarget, rw("ext4"), true);
    Files.writeString(rwTarget.resolve("f"), "hello");
    assertThat(Files.readString(roTarget.resolve("f"))).isEqualTo("hello");
    assertThat(mounts().at(rwTarget).orElseThrow().options()).contains("nosuid", "nodev")
        .doesNotContain("ro");
    assertThat(mounts().at(roTarget).orElseThrow().options()).contains("nosuid", "nodev", "ro");
    assertThatThrownBy(() -> Files.writeString(roTarget.resolve("g"), "x"))
        .hasMessageContaining("Read-only");
    assertThat(code(() -> publish("vol-a", staging, roTarget, rw("ext4"), false)))
        .isEqualTo(Status.Code.ALREADY_EXISTS);

    unpublish("vol-a", rwTarget);
    unpublish("vol-a", roTarget);
    unpublish("vol-a", roTarget); // idempotent
    assertThat(rwTarget).doesNotExist();
    assertThat(roTarget).doesNotExist();
    unstage("vol-a", staging);
  }

  @Test
  void explicitSuidAndDevFlagsAreHonouredAndABlockBindStaysUsable() throws Exception {
    attacher.serve(IQN, image("a", 64 * MB));
    Path staging = Files.createDirectories(tmp.resolve("staging"));
    Csi.VolumeCapability suidDev = Csi.VolumeCapability.newBuilder()
        .setMount(Csi.VolumeCapability.MountVolume.newBuilder().setFsType("ext4")
            .addMountFlags("suid").addMountFlags("dev"))
        .setAccessMode(Csi.VolumeCapability.AccessMode.newBuilder()
            .setMode(Csi.VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER)).build();
    stage("vol-a", IQN, staging, suidDev);
    assertThat(mounts().at(staging).orElseThrow().options()).doesNotContain("nosuid", "nodev");
    Path target = tmp.resolve("pods/p1/mount");
    publish("vol-a", staging, target, suidDev, false);
    assertThat(mounts().at(target).orElseThrow().options()).doesNotContain("nosuid", "nodev");
    unpublish("vol-a", target);
    unstage("vol-a", staging);

    attacher.serve("iqn.2026-11.org.iscsicsi:vol-b", image("b", 16 * MB));
    Path dev = tmp.resolve("pods/p2/volumeDevices/dev");
    Path bStaging = Files.createDirectories(tmp.resolve("staging-b"));
    stage("vol-b", "iqn.2026-11.org.iscsicsi:vol-b", bStaging, block());
    node.nodePublishVolume(Csi.NodePublishVolumeRequest.newBuilder().setVolumeId("vol-b")
        .putAllPublishContext(ctx("iqn.2026-11.org.iscsicsi:vol-b"))
        .setStagingTargetPath(bStaging.toString()).setTargetPath(dev.toString())
        .setVolumeCapability(block()).build());
    assertThat(mounts().at(dev).orElseThrow().options()).contains("nosuid")
        .doesNotContain("nodev");
    try (FileChannel ch = FileChannel.open(dev, StandardOpenOption.READ)) {
      assertThat(ch.size()).isEqualTo(16 * MB); // the device file opens through the bind
    }
    unpublish("vol-b", dev);
    unstage("vol-b", bStaging);
  }

  @Test
  void pathsOutsideTheKubeletDirectoryOrThroughALinkAreRefusedAndNothingIsMounted()
      throws Exception {
    attacher.serve(IQN, image("a", 64 * MB));
    Path outside = Files.createDirectories(tmp.getParent().resolve(tmp.getFileName() + "-out"));
    try {
      assertThat(code(() -> stage("vol-a", IQN, outside, rw("ext4"))))
          .isEqualTo(Status.Code.INVALID_ARGUMENT);
      Path staging = Files.createDirectories(tmp.resolve("staging"));
      stage("vol-a", IQN, staging, rw("ext4"));
      // A pod planted a link where kubelet's target directory would be created.
      Files.createDirectories(tmp.resolve("pods/p1"));
      Files.createSymbolicLink(tmp.resolve("pods/p1/volumes"), outside);
      assertThatThrownBy(() -> publish("vol-a", staging, tmp.resolve("pods/p1/volumes/mount"),
          rw("ext4"), false)).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(e.getStatus().getDescription()).contains("symbolic link");
          });
      assertThat(code(() -> publish("vol-a", staging, outside.resolve("mount"), rw("ext4"),
          false))).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(mounts().entries()).noneMatch(e -> e.mountPoint().startsWith(outside));
      try (var l = Files.list(outside)) {
        assertThat(l).isEmpty();
      }
      unstage("vol-a", staging);
    } finally {
      Files.deleteIfExists(outside);
    }
  }

  /**
   * With seLinuxMount on the CSIDriver, kubelet adds {@code context="<pod label>"} (double-quoted:
   * the category set holds a comma) to the stage and publish mount flags. The staging mount takes
   * it (libmount drops it where SELinux is off, as on this host; the kernel applies it where it is
   * on), the publish bind cannot take it and leaves it to the staging mount, and a label that is
   * not one is refused before anything is mounted.
   */
  @Test
  void seLinuxContextFlagsFromKubeletAreMountedAndMalformedOnesRefused() throws Exception {
    attacher.serve(IQN, image("a", 64 * MB));
    Path staging = Files.createDirectories(tmp.resolve("staging"));
    Csi.VolumeCapability labelled = Csi.VolumeCapability.newBuilder()
        .setMount(Csi.VolumeCapability.MountVolume.newBuilder().setFsType("ext4")
            .addMountFlags("noatime")
            .addMountFlags("context=\"system_u:object_r:container_file_t:s0:c1,c7\""))
        .setAccessMode(Csi.VolumeCapability.AccessMode.newBuilder()
            .setMode(Csi.VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER)).build();
    stage("vol-a", IQN, staging, labelled);
    Path target = tmp.resolve("pods/p1/mount");
    publish("vol-a", staging, target, labelled, false);
    Files.writeString(target.resolve("labelled"), "data");
    assertThat(Files.readString(staging.resolve("labelled"))).isEqualTo("data");
    unpublish("vol-a", target);
    unstage("vol-a", staging);

    for (String bad : new String[] {"context=\"x;y\"", "context=\"a:b:c:s0\",suid",
        "context=\"user_u:role_r:type_t:s0:c1,c7", "seclabel=\"a:b:c\""}) {
      Csi.VolumeCapability cap = Csi.VolumeCapability.newBuilder()
          .setMount(Csi.VolumeCapability.MountVolume.newBuilder().setFsType("ext4")
              .addMountFlags(bad))
          .setAccessMode(Csi.VolumeCapability.AccessMode.newBuilder()
              .setMode(Csi.VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER)).build();
      assertThat(code(() -> stage("vol-a", IQN, staging, cap))).as(bad)
          .isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(mounts().at(staging)).as(bad).isEmpty();
    }
  }

  @Test
  void readOnlyAccessModeStagesReadOnly() throws Exception {
    attacher.serve(IQN, image("a", 64 * MB));
    Path staging = Files.createDirectories(tmp.resolve("staging"));
    stage("vol-a", IQN, staging, rw("ext4"));
    unstage("vol-a", staging);
    stage("vol-a", IQN, staging,
        mount("ext4", Csi.VolumeCapability.AccessMode.Mode.SINGLE_NODE_READER_ONLY));
    assertThat(mounts().at(staging).orElseThrow().readOnly()).isTrue();
    unstage("vol-a", staging);
  }

  /**
   * A disk its target write-protects (a read-only loop device: the kernel's
   * {@code /sys/block/loopN/ro}, as for a SCSI disk whose MODE SENSE reports WP) is staged and
   * published read-only under a writer's capability, with its data; a blank one is
   * FAILED_PRECONDITION and nothing is mounted.
   */
  @Test
  void aWriteProtectedDiskIsStagedAndPublishedReadOnlyAndABlankOneIsRefused() throws Exception {
    Path img = image("wp", 64 * MB);
    attacher.serve(IQN, img);
    Path staging = Files.createDirectories(tmp.resolve("staging"));
    stage("vol-a", IQN, staging, rw("ext4"));
    Files.writeString(staging.resolve("data"), "kept");
    unstage("vol-a", staging);

    attacher.serveWriteProtected(IQN, img);
    stage("vol-a", IQN, staging, rw("ext4"));
    assertThat(mounts().at(staging).orElseThrow().readOnly()).isTrue();
    Path target = tmp.resolve("pods/p1/mount");
    publish("vol-a", staging, target, rw("ext4"), false);
    assertThat(mounts().at(target).orElseThrow().readOnly()).isTrue();
    assertThat(Files.readString(target.resolve("data"))).isEqualTo("kept");
    unpublish("vol-a", target);
    unstage("vol-a", staging);

    String blank = "iqn.2026-11.org.iscsicsi:vol-blank";
    attacher.serveWriteProtected(blank, image("blank", 64 * MB));
    Path staging2 = Files.createDirectories(tmp.resolve("staging2"));
    assertThat(code(() -> stage("vol-blank", blank, staging2, rw("ext4"))))
        .isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(mounts().at(staging2)).isEmpty();
  }

  @Test
  void publishesABlockDevice() throws Exception {
    attacher.serve(IQN, image("b", 16 * MB));
    Path staging = Files.createDirectories(tmp.resolve("staging"));
    Path target = tmp.resolve("pods/p1/volumeDevices/dev");
    stage("vol-b", IQN, staging, block());
    assertThat(mounts().at(staging)).isEmpty();
    publish("vol-b", staging, target, block(), false);
    // Idempotent (csi-sanity "should be idempotent"): the device bind shows as devtmpfs in
    // mountinfo, yet the same publication again is OK; a read-only one is ALREADY_EXISTS.
    publish("vol-b", staging, target, block(), false);
    assertThat(code(() -> publish("vol-b", staging, target, block(), true)))
        .isEqualTo(Status.Code.ALREADY_EXISTS);
    try (FileChannel ch = FileChannel.open(target, StandardOpenOption.READ,
        StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap("raw-bytes".getBytes()), 4096);
      ByteBuffer back = ByteBuffer.allocate(9);
      ch.read(back, 4096);
      assertThat(new String(back.array())).isEqualTo("raw-bytes");
    }
    // Nothing formatted a block volume.
    var stats = node.nodeGetVolumeStats(Csi.NodeGetVolumeStatsRequest.newBuilder()
        .setVolumeId("vol-b").setVolumePath(target.toString()).build());
    assertThat(stats.getUsage(0).getTotal()).isEqualTo(16 * MB);
    unpublish("vol-b", target);
    assertThat(target).doesNotExist();
    unstage("vol-b", staging);
    assertThat(Files.size(tmp.resolve("b.img"))).isEqualTo(16 * MB);
  }

  @Test
  void expandsAnXfsVolumeOnline() throws Exception {
    Path img = image("x", 320 * MB);
    attacher.serve(IQN, img);
    Path staging = Files.createDirectories(tmp.resolve("staging"));
    stage("vol-x", IQN, staging, rw("xfs"));
    long before = statBytes("vol-x", staging);
    try (var raf = new java.io.RandomAccessFile(img.toFile(), "rw")) {
      raf.setLength(512 * MB); // what ControllerExpandVolume does to the LUN
    }
    var resp = node.nodeExpandVolume(Csi.NodeExpandVolumeRequest.newBuilder()
        .setVolumeId("vol-x").setVolumePath(staging.toString())
        .setCapacityRange(Csi.CapacityRange.newBuilder().setRequiredBytes(512 * MB)).build());
    assertThat(resp.getCapacityBytes()).isEqualTo(512 * MB);
    assertThat(statBytes("vol-x", staging)).isGreaterThan(before + 150 * MB);
    unstage("vol-x", staging);
  }

  private long statBytes(String id, Path path) {
    var r = node.nodeGetVolumeStats(Csi.NodeGetVolumeStatsRequest.newBuilder().setVolumeId(id)
        .setVolumePath(path.toString()).build());
    return r.getUsageList().stream().filter(u -> u.getUnit() == Csi.VolumeUsage.Unit.BYTES)
        .findFirst().orElseThrow().getTotal();
  }

  @Test
  void reportsStatsAndAbnormalConditions() throws Exception {
    attacher.serve(IQN, image("a", 64 * MB));
    Path staging = Files.createDirectories(tmp.resolve("staging"));
    stage("vol-a", IQN, staging, rw("ext4"));
    Files.write(staging.resolve("data"), new byte[4 * (int) MB]);
    var r = node.nodeGetVolumeStats(Csi.NodeGetVolumeStatsRequest.newBuilder()
        .setVolumeId("vol-a").setVolumePath(staging.toString()).build());
    var bytes = r.getUsage(0);
    var inodes = r.getUsage(1);
    assertThat(bytes.getUnit()).isEqualTo(Csi.VolumeUsage.Unit.BYTES);
    assertThat(bytes.getUsed()).isGreaterThanOrEqualTo(4 * MB);
    assertThat(bytes.getTotal()).isGreaterThan(bytes.getAvailable());
    assertThat(inodes.getUnit()).isEqualTo(Csi.VolumeUsage.Unit.INODES);
    assertThat(inodes.getUsed()).isPositive();
    assertThat(r.getVolumeCondition().getAbnormal()).isFalse();

    // The filesystem goes read-only, as ext4 does on I/O errors: reported, then repaired.
    new ProcessCommandRunner().check(Command.of(T, "mount", "-o", "remount,ro",
        staging.toString()));
    r = node.nodeGetVolumeStats(Csi.NodeGetVolumeStatsRequest.newBuilder()
        .setVolumeId("vol-a").setVolumePath(staging.toString()).build());
    assertThat(r.getVolumeCondition().getAbnormal()).isTrue();
    assertThat(r.getVolumeCondition().getMessage()).contains("read-only");
    stage("vol-a", IQN, staging, rw("ext4"));
    assertThat(mounts().at(staging).orElseThrow().readOnly()).isFalse();
    assertThat(Files.size(staging.resolve("data"))).isEqualTo(4 * MB);
    unstage("vol-a", staging);
  }

  @Test
  void aStaleStagingMountIsReplacedByTheVolumesDisk() throws Exception {
    attacher.serve(IQN, image("a", 64 * MB));
    Path staging = Files.createDirectories(tmp.resolve("staging"));
    stage("vol-a", IQN, staging, rw("ext4"));
    Files.writeString(staging.resolve("mine"), "1");
    unstage("vol-a", staging);
    // A stale mount of another disk sits on the staging path (as after a reconnect that gave
    // the volume a new /dev/sdX while the old mount stayed).
    try (LoopDevice other = LoopDevice.create(tmp, "other", 32 * MB)) {
      var fs = new Filesystems(new ProcessCommandRunner(), T, T);
      fs.format(other.device(), "ext4");
      new ProcessCommandRunner().check(Command.of(T, "mount", other.device().toString(),
          staging.toString()));
      stage("vol-a", IQN, staging, rw("ext4"));
      var m = mounts().at(staging).orElseThrow();
      assertThat(m.source()).isNotEqualTo(other.device().toString());
      assertThat(mounts().entries().stream().filter(e -> e.mountPoint().equals(staging)))
          .hasSize(1);
      assertThat(Files.readString(staging.resolve("mine"))).isEqualTo("1");
      unstage("vol-a", staging);
    }
  }

  @Test
  void aCloneMountsBesideItsSource() throws Exception {
    for (String type : List.of("ext4", "xfs")) {
      long size = type.equals("xfs") ? 320 * MB : 64 * MB;
      String src = "iqn.2026-11.org.iscsicsi:src-" + type;
      String clone = "iqn.2026-11.org.iscsicsi:clone-" + type;
      Path srcImg = image("src-" + type, size);
      attacher.serve(src, srcImg);
      Path s1 = Files.createDirectories(tmp.resolve("s1-" + type));
      stage("src-" + type, src, s1, rw(type));
      Files.writeString(s1.resolve("origin"), type);
      unstage("src-" + type, s1);
      Path cloneImg = tmp.resolve("clone-" + type + ".img");
      Files.copy(srcImg, cloneImg); // what a clone is: the same bytes, the same fs UUID
      attacher.serve(clone, cloneImg);
      stage("src-" + type, src, s1, rw(type));
      Path s2 = Files.createDirectories(tmp.resolve("s2-" + type));
      stage("clone-" + type, clone, s2, rw(type));
      assertThat(Files.readString(s2.resolve("origin"))).isEqualTo(type);
      Files.writeString(s2.resolve("origin"), "changed");
      assertThat(Files.readString(s1.resolve("origin"))).isEqualTo(type);
      assertThat(mounts().at(s1).orElseThrow().majorMinor())
          .isNotEqualTo(mounts().at(s2).orElseThrow().majorMinor());
      unstage("clone-" + type, s2);
      unstage("src-" + type, s1);
    }
  }

  @Test
  void badInputGetsClearErrorsAndLeavesNothing() throws Exception {
    attacher.serve(IQN, image("a", 64 * MB));
    Path staging = Files.createDirectories(tmp.resolve("staging"));
    var noId = Csi.NodeStageVolumeRequest.newBuilder().putAllPublishContext(ctx(IQN))
        .setStagingTargetPath(staging.toString()).setVolumeCapability(rw("ext4")).build();
    assertThatThrownBy(() -> node.nodeStageVolume(noId)).isInstanceOfSatisfying(
        StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getStatus().getDescription()).contains("volume_id is missing");
        });
    Map<String, String> noIqn = new HashMap<>(ctx(IQN));
    noIqn.remove("targetIqn");
    var missingKey = Csi.NodeStageVolumeRequest.newBuilder().setVolumeId("vol-a")
        .putAllPublishContext(noIqn).setStagingTargetPath(staging.toString())
        .setVolumeCapability(rw("ext4")).build();
    assertThatThrownBy(() -> node.nodeStageVolume(missingKey)).isInstanceOfSatisfying(
        StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getStatus().getDescription()).contains("lacks 'targetIqn'");
        });
    // A target the portal does not serve: the attacher's error, and no state left.
    assertThat(code(() -> stage("vol-z", "iqn.2026-11.org.iscsicsi:nope", staging,
        rw("ext4")))).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(code(() -> stage("vol-a", IQN, staging, rw("btrfs"))))
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(code(() -> stage("vol-a", IQN, staging,
        mount("ext4", Csi.VolumeCapability.AccessMode.Mode.MULTI_NODE_MULTI_WRITER))))
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(code(() -> stage("vol-a", IQN, Path.of("relative"), rw("ext4"))))
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
    // Unknown volumes.
    assertThat(code(() -> publish("vol-unknown", staging, tmp.resolve("t"), rw("ext4"), false)))
        .isEqualTo(Status.Code.NOT_FOUND);
    assertThat(code(() -> node.nodeGetVolumeStats(Csi.NodeGetVolumeStatsRequest.newBuilder()
        .setVolumeId("vol-unknown").setVolumePath(staging.toString()).build())))
        .isEqualTo(Status.Code.NOT_FOUND);
    assertThat(code(() -> node.nodeExpandVolume(Csi.NodeExpandVolumeRequest.newBuilder()
        .setVolumeId("vol-unknown").setVolumePath(staging.toString()).build())))
        .isEqualTo(Status.Code.NOT_FOUND);
    // csi-sanity: a relative volume_path cannot hold a published volume, so NOT_FOUND.
    assertThat(code(() -> node.nodeGetVolumeStats(Csi.NodeGetVolumeStatsRequest.newBuilder()
        .setVolumeId("vol-unknown").setVolumePath("some/path").build())))
        .isEqualTo(Status.Code.NOT_FOUND);
    assertThat(code(() -> node.nodeExpandVolume(Csi.NodeExpandVolumeRequest.newBuilder()
        .setVolumeId("vol-unknown").setVolumePath("some/path").build())))
        .isEqualTo(Status.Code.NOT_FOUND);
    assertThat(code(() -> node.nodeGetVolumeStats(Csi.NodeGetVolumeStatsRequest.newBuilder()
        .setVolumeId("vol-unknown").build()))).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(code(() -> unstage("vol-unknown", staging))).isEqualTo(Status.Code.OK);
    assertThat(code(() -> unpublish("vol-unknown", tmp.resolve("nothing"))))
        .isEqualTo(Status.Code.OK);
    assertThat(stateDir.toFile().list() == null || stateDir.toFile().list().length == 0).isTrue();
    assertThat(mounts().at(staging)).isEmpty();

    // A target path that is a file, for a filesystem volume.
    stage("vol-a", IQN, staging, rw("ext4"));
    Path file = Files.writeString(tmp.resolve("a-file"), "x");
    assertThatThrownBy(() -> publish("vol-a", staging, file, rw("ext4"), false))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getStatus().getDescription()).contains("is not a directory");
        });
    assertThat(mounts().at(file)).isEmpty();
    assertThat(Files.readString(file)).isEqualTo("x");
    unstage("vol-a", staging);
  }

  @Test
  void aConcurrentCallOnTheSameVolumeIsAbortedOthersProceed() throws Exception {
    attacher.serve(IQN, image("a", 64 * MB));
    String iqn2 = "iqn.2026-11.org.iscsicsi:vol-c";
    attacher.serve(iqn2, image("c", 64 * MB));
    Path staging = Files.createDirectories(tmp.resolve("staging"));
    Path staging2 = Files.createDirectories(tmp.resolve("staging2"));
    CountDownLatch gate = new CountDownLatch(1);
    attacher.gate = gate;
    attacher.entered = new CountDownLatch(1);
    // Own threads: the common pool has a single thread on a 2-core machine.
    var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();
    var first = CompletableFuture.runAsync(() -> stage("vol-a", IQN, staging, rw("ext4")), pool);
    assertThat(attacher.entered.await(30, TimeUnit.SECONDS)).isTrue(); // holds vol-a's lock
    assertThat(code(() -> stage("vol-a", IQN, staging, rw("ext4"))))
        .isEqualTo(Status.Code.ABORTED);
    assertThat(code(() -> unstage("vol-a", staging))).isEqualTo(Status.Code.ABORTED);
    attacher.entered = new CountDownLatch(1);
    var other = CompletableFuture.runAsync(() -> stage("vol-c", iqn2, staging2, rw("ext4")),
        pool);
    // vol-c reaches the attacher while vol-a still holds its lock: not refused, not serialized.
    assertThat(attacher.entered.await(30, TimeUnit.SECONDS)).isTrue();
    assertThat(other).isNotDone(); // also waiting at the gate, not refused
    gate.countDown();
    attacher.gate = null;
    first.get(60, TimeUnit.SECONDS);
    other.get(60, TimeUnit.SECONDS);
    pool.close();
    unstage("vol-a", staging);
    unstage("vol-c", staging2);
  }

  @Test
  void nodeInfoAndCapabilities() throws Exception {
    var info = node.nodeGetInfo(Csi.NodeGetInfoRequest.getDefaultInstance());
    assertThat(info.getNodeId()).startsWith("iqn.2005-03.org.open-iscsi:");
    assertThat(info.getMaxVolumesPerNode()).isEqualTo(100);
    assertThat(info.getAccessibleTopology().getSegmentsMap())
        .containsEntry("iscsi.csi.iscsicsi.org/node", "node-1");
    assertThat(Files.readString(tmp.resolve("etc/iscsi/initiatorname.iscsi")))
        .isEqualTo("InitiatorName=" + info.getNodeId() + "\n");
    // Stable: the same name on the next call.
    assertThat(node.nodeGetInfo(Csi.NodeGetInfoRequest.getDefaultInstance()).getNodeId())
        .isEqualTo(info.getNodeId());
    var caps = node.nodeGetCapabilities(Csi.NodeGetCapabilitiesRequest.getDefaultInstance());
    assertThat(caps.getCapabilitiesList()).extracting(c -> c.getRpc().getType())
        .containsExactlyInAnyOrder(Csi.NodeServiceCapability.RPC.Type.STAGE_UNSTAGE_VOLUME,
            Csi.NodeServiceCapability.RPC.Type.EXPAND_VOLUME,
            Csi.NodeServiceCapability.RPC.Type.GET_VOLUME_STATS,
            Csi.NodeServiceCapability.RPC.Type.VOLUME_CONDITION,
            Csi.NodeServiceCapability.RPC.Type.SINGLE_NODE_MULTI_WRITER);
  }
}
