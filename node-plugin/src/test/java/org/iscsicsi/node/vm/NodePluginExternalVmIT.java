package org.iscsicsi.node.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import csi.v1.Csi;
import csi.v1.NodeGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.target.testing.ServeProcess;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Static PersistentVolumes on an array this driver does not manage ("Using an existing SAN" in
 * docs/install.md), with the real kernel initiator and iscsiadm in the VM and Debian's tgtd on
 * the host standing in for the array. publish_context is what the controller's ControllerPublish
 * makes of the PV's volume attributes (pinned by the controller's ExternalVolumeTest). One VM
 * boot, in order:
 *
 * <ul>
 *   <li>a filesystem volume with CHAP whose first portal refuses connections: the node passes
 *       on to the second portal, formats the blank LUN, checks its VPD serial, mounts it by UUID;
 *       published, written, read back, unpublished, unstaged; staged again it is not formatted
 *       again (the file is still there); no record is left for the refusing portal;
 *   <li>mutual CHAP with {@code discovery=none} (direct login);
 *   <li>a LUN the target write-protects, holding a filesystem made on the host: staged and
 *       published read-only although the capability is a writer's, read back, writes refused;
 *   <li>a raw block volume: published as a device file, written and read back with O_DIRECT;
 *   <li>a wrong secret: PERMISSION_DENIED naming CHAP, and neither a session nor a node record
 *       left behind on either portal.
 * </ul>
 */
class NodePluginExternalVmIT {

  private static final int ISCSI_PORT = ServeProcess.freePort();
  /** Nothing listens here: the array's first portal refuses. */
  private static final int REFUSING_PORT = ServeProcess.freePort();
  private static final int TGTD_CONTROL_INDEX = 13472;
  private static final int CSI_PORT = ServeProcess.freePort();
  private static final String INITIATOR = "iqn.2026-11.org.iscsicsi:vm-external-node";
  private static final String ARRAY = "iqn.2001-04.com.example.array:";
  private static final String FS_IQN = ARRAY + "fs";
  private static final String MUTUAL_IQN = ARRAY + "mutual";
  private static final String RO_IQN = ARRAY + "readonly";
  private static final String BLOCK_IQN = ARRAY + "block";
  private static final String PORTAL = QemuVm.HOST_ADDRESS + ":" + ISCSI_PORT;
  private static final String REFUSING = QemuVm.HOST_ADDRESS + ":" + REFUSING_PORT;
  private static final String FS_SERIAL = "EXTFS01";
  private static final String KUBELET = "/var/lib/kubelet/plugins/kubernetes.io/csi/iscsi/";
  private static final String PODS = "/var/lib/kubelet/pods/p1/volumes/kubernetes.io~csi/";
  private static final String DEVICES =
      "/var/lib/kubelet/plugins/kubernetes.io/csi/volumeDevices/publish/";
  private static final String RO_CONTENT = "written-by-the-array-admin";

  @TempDir Path tmp;

  @BeforeAll
  static void needsQemuTgtAndMkfs() {
    assumeTrue(QemuVm.unavailableReason().isEmpty(), () -> QemuVm.unavailableReason().get());
    assumeTrue(Tgtd.unavailableReason().isEmpty(), () -> Tgtd.unavailableReason().get());
    assumeTrue(Files.isExecutable(Path.of("/usr/sbin/mkfs.ext4")),
        "mkfs.ext4 missing on the host (e2fsprogs): it makes the read-only LUN's filesystem");
    assumeTrue(Files.exists(Path.of(System.getProperty("user.dir"), "target/node-plugin.jar")),
        "node-plugin.jar not built (run with verify)");
  }

  @Test
  void staticVolumesOnAnExistingArrayStagePublishAndUnstage() throws Exception {
    String s1 = random("s1");
    String s2 = random("s2");
    String t2 = random("t2");
    String s3 = random("s3");
    String s4 = random("s4");
    try (Tgtd tgtd = Tgtd.start(ISCSI_PORT, TGTD_CONTROL_INDEX, tmp)) {
      tgtd.addTarget(1, FS_IQN, image("fs.img"), INITIATOR, "fsuser", s1);
      tgtd.updateLun(1, "scsi_sn=" + FS_SERIAL);
      tgtd.addTarget(2, MUTUAL_IQN, image("mutual.img"), INITIATOR, "mutualuser", s2);
      tgtd.addOutgoingAccount(2, "arrayuser", t2);
      tgtd.addTarget(3, RO_IQN, filesystemImage("ro.img"), INITIATOR, "rouser", s3);
      tgtd.updateLun(3, "readonly=1");
      tgtd.addTarget(4, BLOCK_IQN, image("block.img"), INITIATOR, "blockuser", s4);
      try (QemuVm vm = QemuVm.builder().initiatorName(INITIATOR).timeout(Duration.ofMinutes(10))
          .hostForward(CSI_PORT, NodePluginGuest.CSI_PORT)
          .script(NodePluginGuest.script("vm-external")).start()) {
        NodePluginGuest guest = new NodePluginGuest(vm);
        vm.awaitConsole(NodePluginGuest.LISTENING, Duration.ofMinutes(4));
        ManagedChannel ch = Grpc.newChannelBuilder("127.0.0.1:" + CSI_PORT,
            InsecureChannelCredentials.create()).build();
        try {
          NodeGrpc.NodeBlockingStub node = NodeGrpc.newBlockingStub(ch);
          long start = System.nanoTime();

          // Filesystem, CHAP, the first portal refuses.
          Map<String, String> fsCtx = Map.of("targetIqn", FS_IQN, "portals",
              REFUSING + "," + PORTAL, "lun", "1", "chap", "true", "discovery", "sendtargets",
              "serial", FS_SERIAL, "fsType", "ext4", "readOnly", "false");
          Map<String, String> fsSecret = Map.of("username", "fsuser", "password", s1);
          stage(node, "ext:fs", fsCtx, fsSecret, mountCap());
          assertThat(vm.console())
              .contains("portal " + REFUSING + " failed: discovery at " + REFUSING);
          assertThat(sh(guest, "iscsiadm -m session; iscsiadm -m node"))
              .contains(PORTAL + ",1 " + FS_IQN).doesNotContain(String.valueOf(REFUSING_PORT));
          assertThat(sh(guest, "grep ' " + KUBELET + "ext-fs/globalmount ' /proc/mounts"))
              .contains(" ext4 ").contains("rw,");
          publish(node, "ext:fs", fsCtx, mountCap(), PODS + "fs/mount");
          String token = random("token");
          assertThat(sh(guest, "echo " + token + " > " + PODS + "fs/mount/token && sync && cat "
              + PODS + "fs/mount/token")).contains(token);
          unpublish(node, "ext:fs", PODS + "fs/mount");
          unstage(node, "ext:fs");
          stage(node, "ext:fs", fsCtx, fsSecret, mountCap());
          assertThat(sh(guest, "cat " + KUBELET + "ext-fs/globalmount/token")).contains(token);
          unstage(node, "ext:fs");

          // Mutual CHAP, direct login.
          Map<String, String> mutualCtx = Map.of("targetIqn", MUTUAL_IQN, "portals", PORTAL,
              "lun", "1", "chap", "true", "discovery", "none", "fsType", "ext4");
          stage(node, "ext:mutual", mutualCtx, Map.of("username", "mutualuser", "password", s2,
              "username_in", "arrayuser", "password_in", t2), mountCap());
          publish(node, "ext:mutual", mutualCtx, mountCap(), PODS + "mutual/mount");
          assertThat(sh(guest, "echo " + token + " > " + PODS + "mutual/mount/t && sync && cat "
              + PODS + "mutual/mount/t")).contains(token);
          unpublish(node, "ext:mutual", PODS + "mutual/mount");
          unstage(node, "ext:mutual");

          // Write-protected by the target: read-only whatever the capability says.
          Map<String, String> roCtx = Map.of("targetIqn", RO_IQN, "portals", PORTAL, "lun", "1",
              "chap", "true", "fsType", "ext4");
          stage(node, "ext:ro", roCtx, Map.of("username", "rouser", "password", s3), mountCap());
          assertThat(vm.console()).contains("the target write-protects");
          assertThat(sh(guest, "grep ' " + KUBELET + "ext-ro/globalmount ' /proc/mounts"))
              .contains(" ro,");
          publish(node, "ext:ro", roCtx, mountCap(), PODS + "ro/mount");
          assertThat(sh(guest, "cat " + PODS + "ro/mount/hello.txt")).contains(RO_CONTENT);
          NodePluginGuest.Result write = guest.run("touch " + PODS + "ro/mount/new",
              Duration.ofSeconds(60));
          assertThat(write.exit()).isNotZero();
          assertThat(write.out()).contains("Read-only file system");
          unpublish(node, "ext:ro", PODS + "ro/mount");
          unstage(node, "ext:ro");

          // Raw block.
          Map<String, String> blockCtx = Map.of("targetIqn", BLOCK_IQN, "portals", PORTAL,
              "lun", "1", "chap", "true");
          stage(node, "ext:block", blockCtx, Map.of("username", "blockuser", "password", s4),
              blockCap());
          publish(node, "ext:block", blockCtx, blockCap(), DEVICES + "ext-block/pod1");
          String dev = DEVICES + "ext-block/pod1";
          assertThat(sh(guest, "dd if=/dev/urandom of=/tmp/pattern bs=4096 count=64 2>/dev/null"
              + " && dd if=/tmp/pattern of=" + dev + " bs=4096 oflag=direct conv=fsync"
              + " 2>/dev/null && dd if=" + dev + " of=/tmp/back bs=4096 count=64 iflag=direct"
              + " 2>/dev/null && cmp /tmp/pattern /tmp/back && echo same")).contains("same");
          unpublish(node, "ext:block", dev);
          unstage(node, "ext:block");

          // A wrong secret: a clear error, nothing left behind.
          StatusRuntimeException denied = catchThrowableOfType(StatusRuntimeException.class,
              () -> stage(node, "ext:fs", fsCtx, Map.of("username", "fsuser", "password",
                  random("wrong")), mountCap()));
          assertThat(denied).isNotNull();
          assertThat(denied.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
          assertThat(denied.getStatus().getDescription()).contains("CHAP authentication failed");
          assertThat(sh(guest, "iscsiadm -m session; iscsiadm -m node; true"))
              .contains("No active sessions").contains("No records found");
          assertThat(tgtd.show()).doesNotContain("I_T nexus:");
          System.out.printf("VM tier figures: four static volumes and a refused stage in %d s%n",
              TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start));
        } finally {
          ch.shutdownNow();
          guest.stop();
        }
        assertThat(vm.awaitExit(Duration.ofMinutes(1))).isZero();
        System.out.printf("VM tier figures: NodePluginExternalVmIT whole VM run %d s%n",
            vm.elapsed().toSeconds());
      }
    }
  }

  private Path image(String name) throws IOException {
    return NodePluginChapVmIT.image(tmp, name);
  }

  /** An ext4 image holding hello.txt, made on the host as an array's admin would have. */
  private Path filesystemImage(String name) throws Exception {
    Path content = Files.createDirectories(tmp.resolve("ro-content"));
    Files.writeString(content.resolve("hello.txt"), RO_CONTENT + "\n");
    Path p = image(name);
    Process mkfs = new ProcessBuilder("/usr/sbin/mkfs.ext4", "-F", "-q", "-d", content.toString(),
        p.toString()).redirectErrorStream(true).start();
    String out = new String(mkfs.getInputStream().readAllBytes());
    assertThat(mkfs.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(mkfs.exitValue()).as("mkfs.ext4: " + out).isZero();
    return p;
  }

  private static String sh(NodePluginGuest guest, String command) throws Exception {
    NodePluginGuest.Result r = guest.run(command, Duration.ofSeconds(90));
    assertThat(r.exit()).as(command + ": " + r.out()).isZero();
    return r.out();
  }

  private static String random(String prefix) {
    return NodePluginChapVmIT.random(prefix);
  }

  private static Csi.VolumeCapability mountCap() {
    return NodePluginVmIT.mountCap();
  }

  private static Csi.VolumeCapability blockCap() {
    return Csi.VolumeCapability.newBuilder()
        .setBlock(Csi.VolumeCapability.BlockVolume.getDefaultInstance())
        .setAccessMode(Csi.VolumeCapability.AccessMode.newBuilder()
            .setMode(Csi.VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER)).build();
  }

  /** kubelet names the staging directory after a hash of the handle; a plain name does here. */
  private static String staging(String id) {
    return KUBELET + id.replace(':', '-') + "/globalmount";
  }

  private static void stage(NodeGrpc.NodeBlockingStub node, String id, Map<String, String> ctx,
      Map<String, String> secrets, Csi.VolumeCapability cap) {
    node.withDeadlineAfter(3, TimeUnit.MINUTES).nodeStageVolume(
        Csi.NodeStageVolumeRequest.newBuilder().setVolumeId(id).putAllPublishContext(ctx)
            .putAllVolumeContext(new HashMap<>(ctx))
            .setStagingTargetPath(staging(id))
            .setVolumeCapability(cap).putAllSecrets(secrets).build());
  }

  private static void publish(NodeGrpc.NodeBlockingStub node, String id, Map<String, String> ctx,
      Csi.VolumeCapability cap, String target) {
    node.withDeadlineAfter(2, TimeUnit.MINUTES).nodePublishVolume(
        Csi.NodePublishVolumeRequest.newBuilder().setVolumeId(id).putAllPublishContext(ctx)
            .setStagingTargetPath(staging(id)).setTargetPath(target)
            .setVolumeCapability(cap).build());
  }

  private static void unpublish(NodeGrpc.NodeBlockingStub node, String id, String target) {
    node.withDeadlineAfter(2, TimeUnit.MINUTES).nodeUnpublishVolume(
        Csi.NodeUnpublishVolumeRequest.newBuilder().setVolumeId(id).setTargetPath(target)
            .build());
  }

  private static void unstage(NodeGrpc.NodeBlockingStub node, String id) {
    node.withDeadlineAfter(2, TimeUnit.MINUTES).nodeUnstageVolume(
        Csi.NodeUnstageVolumeRequest.newBuilder().setVolumeId(id)
            .setStagingTargetPath(staging(id)).build());
  }
}
