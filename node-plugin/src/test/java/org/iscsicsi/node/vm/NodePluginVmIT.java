package org.iscsicsi.node.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import csi.v1.Csi;
import csi.v1.NodeGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.RandomAccessFile;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.awaitility.core.ConditionTimeoutException;
import org.awaitility.core.TerminalFailureException;
import org.iscsicsi.csi.exec.Command;
import org.iscsicsi.csi.exec.ProcessCommandRunner;
import org.iscsicsi.target.testing.ServeProcess;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The node plugin with the real Linux kernel initiator: {@code bin/node-plugin serve} runs inside
 * the qemu VM (open-iscsi's iscsid and iscsiadm, Debian's kernel), the test drives it over gRPC
 * from the host like kubelet, and Debian's tgtd on the host is the target (CHAP, an ACL for the
 * VM's initiator name, a unit serial number). It pins:
 *
 * <ul>
 *   <li>NodeGetInfo reports the VM's initiator name as the node id;
 *   <li>a portal that does not answer (nothing listens; or TCP is accepted but no iSCSI login
 *       reply comes, ended by the plugin's small --login-timeout) is UNAVAILABLE with a message
 *       naming the portal, and leaves no session, no node record and no staging mount; the
 *       plugin then stages a real volume as usual;
 *   <li>a wrong CHAP secret is PERMISSION_DENIED, and leaves no session (tgtd sees no I_T nexus)
 *       and no node record;
 *   <li>a disk whose serial is not the volume's is FAILED_PRECONDITION, is not formatted, and
 *       leaves no session;
 *   <li>stage (discovery, CHAP login, wait for the disk, verify its serial, mkfs, mount by UUID),
 *       publish, write, unpublish, unstage (logout, record deleted), stage again: data intact;
 *   <li>a session lost behind the plugin's back (stale staging mount, disk gone) is repaired by
 *       the next stage; an unstage after the disk vanished still logs out and deletes the record;
 *   <li>raw block access: the disk is staged as is (its filesystem untouched) and its device file
 *       bound into the pod, where bytes written read back;
 *   <li>what reached the target: an ext4 superblock and the written bytes in tgtd's backing file.
 * </ul>
 *
 * <p>The guest runs a small loop that executes the shell files the test drops into the shared
 * control directory, so the test can look at the guest's sessions, records and files.
 */
class NodePluginVmIT {

  private static final int ISCSI_PORT = ServeProcess.freePort();
  private static final int TGTD_CONTROL_INDEX = 13451;
  private static final int CSI_PORT = ServeProcess.freePort();
  private static final String TARGET = "iqn.2026-11.org.iscsicsi:pvc-vm-1";
  private static final String INITIATOR = "iqn.2026-11.org.iscsicsi:vm-node-1";
  private static final String SERIAL = "pvc-vm-1-serial";
  private static final String STAGING =
      "/var/lib/kubelet/plugins/kubernetes.io/csi/iscsi/pvc-vm-1/globalmount";
  private static final String TARGET_PATH =
      "/var/lib/kubelet/pods/p1/volumes/kubernetes.io~csi/pvc-vm-1/mount";

  private static final String DEAD_TARGET = "iqn.2026-11.org.iscsicsi:pvc-vm-dead";
  private static final String DEAD_STAGING =
      "/var/lib/kubelet/plugins/kubernetes.io/csi/iscsi/pvc-vm-dead/globalmount";

  @TempDir Path tmp;
  int cmdSeq;

  @BeforeAll
  static void needsQemuAndTgt() {
    assumeTrue(QemuVm.unavailableReason().isEmpty(), () -> QemuVm.unavailableReason().get());
    assumeTrue(Tgtd.unavailableReason().isEmpty(), () -> Tgtd.unavailableReason().get());
    assumeTrue(Files.exists(Path.of(System.getProperty("user.dir"), "target/node-plugin.jar")),
        "node-plugin.jar not built (run with verify)");
  }

  /** The guest: the plugin in the background, and a loop running /ctl/cmd.N files. */
  static final String GUEST = NodePluginGuest.script("vm-node");

  @Test
  void stagePublishWriteUnstageRestageWithChapThroughTheKernelInitiator() throws Exception {
    Path lun = tmp.resolve("lun.img");
    try (RandomAccessFile f = new RandomAccessFile(lun.toFile(), "rw")) {
      f.setLength(64L << 20);
    }
    String secret = "s3cret-" + UUID.randomUUID().toString().substring(0, 12);
    String token = "token-" + UUID.randomUUID();
    long t0 = System.nanoTime();
    try (Tgtd tgtd = Tgtd.start(ISCSI_PORT, TGTD_CONTROL_INDEX, tmp)) {
      tgtd.addTarget(1, TARGET, lun, INITIATOR, "vmuser", secret);
      new ProcessCommandRunner().check(Command.of(Duration.ofSeconds(15), "/usr/sbin/tgtadm",
          "-C", Integer.toString(TGTD_CONTROL_INDEX), "--lld", "iscsi", "--op", "update",
          "--mode", "logicalunit", "--tid", "1", "--lun", "1", "--params", "scsi_sn=" + SERIAL));
      try (QemuVm vm = QemuVm.builder().initiatorName(INITIATOR).timeout(Duration.ofMinutes(8))
          .hostForward(CSI_PORT, 50051).script(GUEST).start()) {
        vm.awaitConsole("CSI server listening", Duration.ofMinutes(4));
        double boot = (System.nanoTime() - t0) / 1e9;
        ManagedChannel ch = Grpc.newChannelBuilder("127.0.0.1:" + CSI_PORT,
            InsecureChannelCredentials.create()).build();
        try {
          NodeGrpc.NodeBlockingStub node = NodeGrpc.newBlockingStub(ch);
          var info = node.withDeadlineAfter(60, TimeUnit.SECONDS)
              .nodeGetInfo(Csi.NodeGetInfoRequest.getDefaultInstance());
          assertThat(info.getNodeId()).isEqualTo(INITIATOR);

          // A portal where nothing listens (connection refused), and one that accepts TCP but
          // never answers the iSCSI login (the plugin's --login-timeout ends iscsiadm):
          // UNAVAILABLE naming the portal, nothing left behind.
          int[] ports = {ServeProcess.freePort(), ServeProcess.freePort()}; // nothing listens
          assertDeadPortalLeavesNothing(vm, node, QemuVm.HOST_ADDRESS + ":" + ports[0]);
          try (ServerSocket silent = new ServerSocket(ports[1], 4,
              InetAddress.getLoopbackAddress())) {
            assertDeadPortalLeavesNothing(vm, node, QemuVm.HOST_ADDRESS + ":" + ports[1]);
          }

          // A wrong CHAP secret: refused, nothing left behind.
          assertThatThrownBy(() -> stage(node, Map.of("node.session.auth.username", "vmuser",
              "node.session.auth.password", "wrong-secret-123"), SERIAL))
              .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
                assertThat(e.getStatus().getDescription()).contains("CHAP authentication failed");
              });
          assertThat(tgtd.show()).doesNotContain("I_T nexus:");
          assertThat(guest(vm, "iscsiadm -m session; iscsiadm -m node; true"))
              .contains("No active sessions").contains("No records found");

          // The right secret but a disk that is not the volume: refused before any write.
          assertThatThrownBy(() -> stage(node, chap(secret), "some-other-serial"))
              .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                assertThat(e.getStatus().getDescription()).contains("is not volume pvc-vm-1")
                    .contains(SERIAL);
              });
          assertThat(tgtd.show()).doesNotContain("I_T nexus:");
          assertThat(allZero(lun)).as("the wrong disk was not written to").isTrue();

          long s1 = System.nanoTime();
          stage(node, chap(secret), SERIAL);
          double stageFirst = (System.nanoTime() - s1) / 1e9;
          assertThat(tgtd.show()).contains("I_T nexus:");
          String mounts = guest(vm, "grep ' " + STAGING + " ' /proc/mounts; blkid -o value -s UUID"
              + " $(grep ' " + STAGING + " ' /proc/mounts | cut -d' ' -f1)");
          assertThat(mounts).contains("/dev/sd").contains(" ext4 ");
          publish(node);
          assertThat(guest(vm, "echo " + token + " > " + TARGET_PATH + "/token && sync && cat "
              + TARGET_PATH + "/token")).contains(token);
          var stats = node.withDeadlineAfter(60, TimeUnit.SECONDS).nodeGetVolumeStats(
              Csi.NodeGetVolumeStatsRequest.newBuilder().setVolumeId("pvc-vm-1")
                  .setVolumePath(TARGET_PATH).build());
          assertThat(stats.getUsage(0).getTotal()).isBetween(40L << 20, 64L << 20);
          assertThat(stats.getVolumeCondition().getAbnormal()).isFalse();
          // ext4 remounts itself read-only on I/O errors: the condition says so.
          guest(vm, "mount -o remount,ro " + STAGING);
          assertThat(condition(node, TARGET_PATH).getMessage()).contains("read-only");
          unpublish(node);
          long u1 = System.nanoTime();
          unstage(node);
          double unstageTime = (System.nanoTime() - u1) / 1e9;
          assertThat(tgtd.show()).doesNotContain("I_T nexus:");
          assertThat(guest(vm, "iscsiadm -m node; ls " + TARGET_PATH + "; true"))
              .contains("No records found").contains("No such file");

          long s2 = System.nanoTime();
          stage(node, chap(secret), SERIAL);
          stage(node, chap(secret), SERIAL); // idempotent
          double stageAgain = (System.nanoTime() - s2) / 1e9;
          publish(node);
          assertThat(guest(vm, "cat " + TARGET_PATH + "/token")).contains(token);
          unpublish(node);

          // A session lost behind the plugin's back leaves a stale staging mount (its disk is
          // gone); the next stage logs in again and replaces the mount.
          guest(vm, "iscsiadm -m node -T " + TARGET + " -p " + QemuVm.HOST_ADDRESS + ":"
              + ISCSI_PORT + " --logout");
          assertThat(tgtd.show()).doesNotContain("I_T nexus:");
          assertThat(condition(node, STAGING).getMessage()).contains("no iSCSI session");
          long s3 = System.nanoTime();
          stage(node, chap(secret), SERIAL);
          double restageStale = (System.nanoTime() - s3) / 1e9;
          assertThat(vm.console()).contains("stale staging mount");
          assertThat(guest(vm, "cat " + STAGING + "/token")).contains(token);
          assertThat(guest(vm, "grep -c ' " + STAGING + " ' /proc/mounts")).startsWith("1");

          // The disk disappears before unstage: unstage still logs out and deletes the record.
          guest(vm, "for b in /sys/class/iscsi_session/session*/device/target*/*/block/*; do"
              + " echo 1 > \"${b%/block/*}/delete\"; done");
          assertThat(condition(node, STAGING).getMessage()).contains("has no disk for LUN 1");
          unstage(node);
          unstage(node); // idempotent
          assertThat(tgtd.show()).doesNotContain("I_T nexus:");
          assertThat(guest(vm, "iscsiadm -m session; iscsiadm -m node; true"))
              .contains("No active sessions").contains("No records found");

          // Raw block access: staged as is (never formatted), the device file bound into the pod.
          Csi.VolumeCapability blockCap = Csi.VolumeCapability.newBuilder()
              .setBlock(Csi.VolumeCapability.BlockVolume.getDefaultInstance())
              .setAccessMode(Csi.VolumeCapability.AccessMode.newBuilder()
                  .setMode(Csi.VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER)).build();
          String dev = "/var/lib/kubelet/pods/p2/volumeDevices/pvc-vm-1";
          node.withDeadlineAfter(3, TimeUnit.MINUTES).nodeStageVolume(
              Csi.NodeStageVolumeRequest.newBuilder().setVolumeId("pvc-vm-1")
                  .putAllPublishContext(ctx(SERIAL)).setStagingTargetPath(STAGING)
                  .setVolumeCapability(blockCap).putAllSecrets(chap(secret)).build());
          node.withDeadlineAfter(2, TimeUnit.MINUTES).nodePublishVolume(
              Csi.NodePublishVolumeRequest.newBuilder().setVolumeId("pvc-vm-1")
                  .putAllPublishContext(ctx(SERIAL)).setStagingTargetPath(STAGING)
                  .setTargetPath(dev).setVolumeCapability(blockCap).build());
          assertThat(guest(vm, "blkid -p -o value -s TYPE " + dev + "; printf blockdata | dd of="
              + dev + " bs=1 seek=60000000 conv=fsync 2>/dev/null; dd if=" + dev
              + " bs=1 skip=60000000 count=9 2>/dev/null; echo"))
              .contains("ext4").contains("blockdata");
          node.withDeadlineAfter(2, TimeUnit.MINUTES).nodeUnpublishVolume(
              Csi.NodeUnpublishVolumeRequest.newBuilder().setVolumeId("pvc-vm-1")
                  .setTargetPath(dev).build());
          unstage(node);
          assertThat(tgtd.show()).doesNotContain("I_T nexus:");
          assertThat(guest(vm, "ls " + dev + "; true")).contains("No such file");

          System.out.printf("VM tier figures: VM boot + plugin start %.1f s, first stage"
              + " (discovery, CHAP login, disk wait, serial check, mkfs, mount) %.2f s, unstage"
              + " %.2f s, second stage twice %.2f s, stage over a stale mount %.2f s%n", boot,
              stageFirst, unstageTime, stageAgain, restageStale);
        } finally {
          ch.shutdownNow();
          Files.writeString(vm.controlDir().resolve("stop"), "");
        }
        assertThat(vm.awaitExit(Duration.ofMinutes(1))).isZero();
        System.out.printf("VM tier figures: whole VM run %d s%n", vm.elapsed().toSeconds());
        assertThat(vm.console()).doesNotContain(secret);
      }
      String image = new String(Files.readAllBytes(lun), StandardCharsets.ISO_8859_1);
      assertThat(image).contains(token);
      assertThat(image.substring(60_000_000, 60_000_009)).isEqualTo("blockdata");
    }
  }

  /** Stages a volume at a portal that does not answer; checks the status and the guest. */
  private void assertDeadPortalLeavesNothing(QemuVm vm, NodeGrpc.NodeBlockingStub node,
      String portal) throws Exception {
    assertThatThrownBy(() -> node.withDeadlineAfter(2, TimeUnit.MINUTES).nodeStageVolume(
        Csi.NodeStageVolumeRequest.newBuilder().setVolumeId("pvc-vm-dead")
            .putAllPublishContext(Map.of("targetIqn", DEAD_TARGET, "portals", portal, "lun", "1",
                "serial", "pvc-vm-dead-serial"))
            .setStagingTargetPath(DEAD_STAGING).setVolumeCapability(mountCap()).build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
          assertThat(e.getStatus().getDescription()).contains(portal)
              .contains("the portal did not answer");
        });
    assertThat(guest(vm, "iscsiadm -m session; iscsiadm -m node; true"))
        .doesNotContain(DEAD_TARGET).doesNotContain(portal);
    assertThat(guest(vm, "grep -c ' " + DEAD_STAGING + " ' /proc/mounts; true")).startsWith("0");
  }

  private static boolean allZero(Path file) throws java.io.IOException {
    byte[] b = Files.readAllBytes(file);
    for (byte x : b) {
      if (x != 0) {
        return false;
      }
    }
    return true;
  }

  private static Map<String, String> chap(String secret) {
    return Map.of("node.session.auth.username", "vmuser", "node.session.auth.password", secret);
  }

  /** An ext4 mount, single-node writer. */
  static Csi.VolumeCapability mountCap() {
    return Csi.VolumeCapability.newBuilder()
        .setMount(Csi.VolumeCapability.MountVolume.newBuilder().setFsType("ext4"))
        .setAccessMode(Csi.VolumeCapability.AccessMode.newBuilder()
            .setMode(Csi.VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER)).build();
  }

  private static Map<String, String> ctx(String serial) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("targetIqn", TARGET);
    m.put("portals", QemuVm.HOST_ADDRESS + ":" + ISCSI_PORT);
    m.put("lun", "1");
    m.put("chap", "true");
    m.put("serial", serial);
    return m;
  }

  private static void stage(NodeGrpc.NodeBlockingStub node, Map<String, String> secrets,
      String serial) {
    node.withDeadlineAfter(3, TimeUnit.MINUTES).nodeStageVolume(
        Csi.NodeStageVolumeRequest.newBuilder().setVolumeId("pvc-vm-1")
            .putAllPublishContext(ctx(serial)).setStagingTargetPath(STAGING)
            .setVolumeCapability(mountCap()).putAllSecrets(secrets).build());
  }

  /** The volume's condition from NodeGetVolumeStats; abnormal, or the test fails. */
  private static Csi.VolumeCondition condition(NodeGrpc.NodeBlockingStub node, String path) {
    Csi.VolumeCondition c = node.withDeadlineAfter(60, TimeUnit.SECONDS).nodeGetVolumeStats(
        Csi.NodeGetVolumeStatsRequest.newBuilder().setVolumeId("pvc-vm-1").setVolumePath(path)
            .build()).getVolumeCondition();
    assertThat(c.getAbnormal()).as(c.getMessage()).isTrue();
    return c;
  }

  private static void unstage(NodeGrpc.NodeBlockingStub node) {
    node.withDeadlineAfter(2, TimeUnit.MINUTES).nodeUnstageVolume(
        Csi.NodeUnstageVolumeRequest.newBuilder().setVolumeId("pvc-vm-1")
            .setStagingTargetPath(STAGING).build());
  }

  private static void publish(NodeGrpc.NodeBlockingStub node) {
    node.withDeadlineAfter(2, TimeUnit.MINUTES).nodePublishVolume(
        Csi.NodePublishVolumeRequest.newBuilder().setVolumeId("pvc-vm-1")
            .putAllPublishContext(ctx(SERIAL)).setStagingTargetPath(STAGING)
            .setTargetPath(TARGET_PATH).setVolumeCapability(mountCap()).build());
  }

  private static void unpublish(NodeGrpc.NodeBlockingStub node) {
    node.withDeadlineAfter(2, TimeUnit.MINUTES).nodeUnpublishVolume(
        Csi.NodeUnpublishVolumeRequest.newBuilder().setVolumeId("pvc-vm-1")
            .setTargetPath(TARGET_PATH).build());
  }

  /** Runs a shell command in the guest through the control directory; returns its output. */
  String guest(QemuVm vm, String command) throws Exception {
    int n = cmdSeq++;
    Path ctl = vm.controlDir();
    Files.writeString(ctl.resolve("cmd." + n + ".tmp"), command + "\n");
    Files.move(ctl.resolve("cmd." + n + ".tmp"), ctl.resolve("cmd." + n));
    try {
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
          .failFast(() -> !vm.isRunning())
          .until(() -> Files.exists(ctl.resolve("rc." + n)));
    } catch (ConditionTimeoutException | TerminalFailureException e) {
      throw new IllegalStateException("guest did not run '" + command + "'; console:\n"
          + vm.console(), e);
    }
    return Files.readString(ctl.resolve("out." + n));
  }
}
