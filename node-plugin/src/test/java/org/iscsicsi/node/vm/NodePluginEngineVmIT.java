package org.iscsicsi.node.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import csi.v1.Csi;
import csi.v1.NodeGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.target.testing.ServeProcess;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The node plugin in the qemu VM (real kernel initiator) against this project's own target engine
 * on the host: stage with CHAP and the engine's serial and NAA, publish, write; then the engine is
 * killed with SIGKILL and started again on the same state directory while the guest keeps writing
 * through the mounted volume with fsync. It pins that I/O resumes within open-iscsi's replacement
 * timeout with no error reaching the application, and that every file written (before, during and
 * after the outage) reads back with the same checksum after unstage and a fresh stage. Then the
 * engine grows the LUN online and NodeExpandVolume rescans and grows the mounted ext4.
 */
class NodePluginEngineVmIT {

  private static final int ISCSI_PORT = ServeProcess.freePort();
  private static final int ADMIN_PORT = ServeProcess.freePort();
  private static final int CSI_PORT = ServeProcess.freePort();
  private static final String TARGET = "iqn.2026-11.org.iscsicsi:pvc-engine-1";
  private static final String INITIATOR = "iqn.2026-11.org.iscsicsi:vm-node-2";
  private static final String STAGING = "/var/lib/kubelet/plugins/iscsi/pvc-engine-1/globalmount";
  private static final String POD = "/var/lib/kubelet/pods/p1/volumes/pvc-engine-1/mount";

  @TempDir Path tmp;

  @BeforeAll
  static void needsQemuAndEngine() {
    assumeTrue(QemuVm.unavailableReason().isEmpty(), () -> QemuVm.unavailableReason().get());
    assumeTrue(EngineProcess.unavailableReason().isEmpty(),
        () -> EngineProcess.unavailableReason().get());
    assumeTrue(Files.exists(Path.of(System.getProperty("user.dir"), "target/node-plugin.jar")),
        "node-plugin.jar not built (run with verify)");
  }

  @Test
  void ioSurvivesAnEngineKillAndRestart() throws Exception {
    String secret = "s3cret-" + UUID.randomUUID().toString().substring(0, 12);
    NodePluginVmIT shell = new NodePluginVmIT();
    try (EngineProcess engine = EngineProcess.start(tmp.resolve("engine"),
        "127.0.0.1:" + ISCSI_PORT, QemuVm.HOST_ADDRESS + ":" + ISCSI_PORT,
        "127.0.0.1:" + ADMIN_PORT, tmp.resolve("engine.log"))) {
      EngineProcess.Lun lun = engine.createVolume(TARGET, 64L << 20, INITIATOR, "vmuser", secret);
      try (QemuVm vm = QemuVm.builder().initiatorName(INITIATOR).timeout(Duration.ofMinutes(9))
          .hostForward(CSI_PORT, 50051).script(NodePluginVmIT.GUEST).start()) {
        vm.awaitConsole("CSI server listening", Duration.ofMinutes(4));
        ManagedChannel ch = Grpc.newChannelBuilder("127.0.0.1:" + CSI_PORT,
            InsecureChannelCredentials.create()).build();
        try {
          NodeGrpc.NodeBlockingStub node = NodeGrpc.newBlockingStub(ch);
          Map<String, String> ctx = Map.of("targetIqn", TARGET, "portals",
              QemuVm.HOST_ADDRESS + ":" + ISCSI_PORT, "lun", "0", "chap", "true",
              "serial", lun.serial(), "naa", lun.naa());
          Map<String, String> secrets = Map.of("username", "vmuser", "password", secret);
          long s0 = System.nanoTime();
          stage(node, ctx, secrets);
          double stageSeconds = (System.nanoTime() - s0) / 1e9;
          publish(node, ctx);
          assertThat(engine.sessions()).contains(INITIATOR);

          // A writer in the guest: 60 files of 256 KiB, each fsync'ed, 0.25 s apart.
          shell.guest(vm, "( i=0; while [ $i -lt 60 ]; do"
              + " dd if=/dev/urandom of=" + POD + "/w.$i bs=64k count=4 conv=fsync 2>/dev/null"
              + " || echo \"write $i failed\" >> /ctl/writer.err;"
              + " echo \"$i $(cut -d' ' -f1 /proc/uptime)\" >> /ctl/writer.log;"
              + " i=$((i + 1)); sleep 0.25; done; echo done > /ctl/writer.done )"
              + " > /dev/null 2>&1 &");
          Path ctl = vm.controlDir();
          waitFor(() -> Files.exists(ctl.resolve("writer.log"))
              && Files.readAllLines(ctl.resolve("writer.log")).size() >= 5, 120);
          long k = System.nanoTime();
          engine.kill();
          Thread.sleep(2000);
          engine.restart();
          double outage = (System.nanoTime() - k) / 1e9;
          long r = System.nanoTime();
          int before = Files.readAllLines(ctl.resolve("writer.log")).size();
          waitFor(() -> Files.readAllLines(ctl.resolve("writer.log")).size() > before + 1, 150);
          double resume = (System.nanoTime() - r) / 1e9;
          waitFor(() -> Files.exists(ctl.resolve("writer.done")), 240);
          assertThat(ctl.resolve("writer.err")).as("errors the application saw").doesNotExist();

          String sums = shell.guest(vm, "cd " + POD + " && sync && md5sum w.* | sort -k2");
          assertThat(sums.lines().count()).isEqualTo(60);
          unpublish(node);
          unstage(node);
          assertThat(engine.sessions()).doesNotContain(INITIATOR);
          stage(node, ctx, secrets);
          publish(node, ctx);
          assertThat(shell.guest(vm, "cd " + POD + " && md5sum w.* | sort -k2")).isEqualTo(sums);

          // Online expansion: the engine grows the LUN, the node rescans and grows ext4 mounted.
          engine.resize(TARGET, 128L << 20);
          long e0 = System.nanoTime();
          var grown = node.withDeadlineAfter(3, TimeUnit.MINUTES).nodeExpandVolume(
              Csi.NodeExpandVolumeRequest.newBuilder().setVolumeId("pvc-engine-1")
                  .setVolumePath(POD).setStagingTargetPath(STAGING)
                  .setCapacityRange(Csi.CapacityRange.newBuilder().setRequiredBytes(128L << 20))
                  .build());
          double expandSeconds = (System.nanoTime() - e0) / 1e9;
          assertThat(grown.getCapacityBytes()).isEqualTo(128L << 20);
          var stats = node.withDeadlineAfter(1, TimeUnit.MINUTES).nodeGetVolumeStats(
              Csi.NodeGetVolumeStatsRequest.newBuilder().setVolumeId("pvc-engine-1")
                  .setVolumePath(POD).build());
          assertThat(stats.getUsage(0).getTotal()).isGreaterThan(110L << 20);
          assertThat(shell.guest(vm, "cd " + POD + " && md5sum w.* | sort -k2")).isEqualTo(sums);
          unpublish(node);
          unstage(node);
          System.out.printf("VM engine-tier figures: stage %.2f s; engine down and restarted in"
              + " %.1f s; guest I/O resumed %.1f s after the restart; 60 fsync'ed writes,"
              + " 0 errors; online expand 64->128 MiB %.2f s; whole VM run %d s%n", stageSeconds,
              outage, resume, expandSeconds, vm.elapsed().toSeconds());
        } finally {
          ch.shutdownNow();
          Files.writeString(vm.controlDir().resolve("stop"), "");
        }
        assertThat(vm.awaitExit(Duration.ofMinutes(1))).isZero();
        assertThat(vm.console()).doesNotContain(secret);
      }
    }
  }

  @FunctionalInterface
  private interface Check {
    boolean ok() throws Exception;
  }

  private static void waitFor(Check c, int seconds) {
    await().atMost(Duration.ofSeconds(seconds)).pollInterval(Duration.ofMillis(200))
        .until(c::ok);
  }

  private static Csi.VolumeCapability cap() {
    return Csi.VolumeCapability.newBuilder()
        .setMount(Csi.VolumeCapability.MountVolume.newBuilder().setFsType("ext4"))
        .setAccessMode(Csi.VolumeCapability.AccessMode.newBuilder()
            .setMode(Csi.VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER)).build();
  }

  private static void stage(NodeGrpc.NodeBlockingStub node, Map<String, String> ctx,
      Map<String, String> secrets) {
    node.withDeadlineAfter(3, TimeUnit.MINUTES).nodeStageVolume(
        Csi.NodeStageVolumeRequest.newBuilder().setVolumeId("pvc-engine-1")
            .putAllPublishContext(ctx).setStagingTargetPath(STAGING).setVolumeCapability(cap())
            .putAllSecrets(secrets).build());
  }

  private static void publish(NodeGrpc.NodeBlockingStub node, Map<String, String> ctx) {
    node.withDeadlineAfter(2, TimeUnit.MINUTES).nodePublishVolume(
        Csi.NodePublishVolumeRequest.newBuilder().setVolumeId("pvc-engine-1")
            .putAllPublishContext(ctx).setStagingTargetPath(STAGING).setTargetPath(POD)
            .setVolumeCapability(cap()).build());
  }

  private static void unpublish(NodeGrpc.NodeBlockingStub node) {
    node.withDeadlineAfter(2, TimeUnit.MINUTES).nodeUnpublishVolume(
        Csi.NodeUnpublishVolumeRequest.newBuilder().setVolumeId("pvc-engine-1")
            .setTargetPath(POD).build());
  }

  private static void unstage(NodeGrpc.NodeBlockingStub node) {
    node.withDeadlineAfter(2, TimeUnit.MINUTES).nodeUnstageVolume(
        Csi.NodeUnstageVolumeRequest.newBuilder().setVolumeId("pvc-engine-1")
            .setStagingTargetPath(STAGING).build());
  }
}
