package org.iscsicsi.node.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import csi.v1.Csi;
import csi.v1.NodeGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The node plugin stages a replicated volume as a dm-multipath map, in the qemu VM with the real
 * kernel initiator and multipathd, from two target engine processes on the host that export one
 * LU identity (same NAA and serial) from one shared LUN file (a hard link), with manual ALUA:
 * engine 1's port active/optimized, engine 2's standby. That pair behaves like a replicated
 * volume as far as the node can tell. It pins:
 *
 * <ul>
 *   <li>NodeStageVolume with {@code multipath: "true"} logs in to both portals, builds one map
 *       named {@code 3<naa>} with both paths, formats it (ext4) and mounts it: the staging mount's
 *       device is the map, not a path;
 *   <li>fsync'ed writes through the published volume continue with no error while the ALUA
 *       states are swapped, and while the now active engine is SIGKILLed and the other made
 *       active (the stall of each is printed);
 *   <li>NodeGetVolumeStats stays healthy while one member is dead and the other serves, and is
 *       abnormal, listing the paths' states, while both ports are standby; unstage then still
 *       ends (queueing is disabled before the unmount);
 *   <li>every file written reads back with the same checksum; unstage leaves no map, no session
 *       and no node record;
 *   <li>raw block access publishes the map's device file; bytes written there reach the LUN file.
 * </ul>
 *
 * <p>The guest runs multipathd without udev ({@link GuestMultipath}; see {@link
 * MultipathAluaVmIT}): {@code uid_attribute ""}, {@code /run/udev/data} stubs made by a loop
 * for each new disk, {@code DM_DISABLE_UDEV=1} for multipathd and the plugin's multipath
 * commands; otherwise its configuration is the drop-in of docs/replication.md section 7 with
 * {@code find_multipaths strict}, which the plugin's preflight accepts.
 */
class MultipathNodeVmIT {

  private static final String TARGET = "iqn.2026-11.org.iscsicsi:pvc-mp-1";
  private static final String INITIATOR = "iqn.2026-11.org.iscsicsi:vm-mp-node";
  private static final String VOLUME = "pvc-mp-1";
  private static final String STAGING = "/var/lib/kubelet/plugins/iscsi/pvc-mp-1/globalmount";
  private static final String POD = "/var/lib/kubelet/pods/p1/volumes/pvc-mp-1/mount";
  private static final String POD_DEVICE = "/var/lib/kubelet/pods/p2/volumeDevices/pvc-mp-1";
  private static final long SIZE = 64L << 20;
  /** Where the block phase writes: past ext4's first groups, inside the 64 MiB LUN. */
  private static final long BLOCK_OFFSET = 60_000_000L;


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
  void stagesTheMapAndWritesGoOnAcrossASwapAndAKill() throws Exception {
    int iscsi1 = MultipathAluaVmIT.freePort();
    int iscsi2 = MultipathAluaVmIT.freePort();
    int csi = MultipathAluaVmIT.freePort();
    try (EngineProcess one = EngineProcess.start(tmp.resolve("engine1"), "127.0.0.1:" + iscsi1,
            QemuVm.HOST_ADDRESS + ":" + iscsi1, "127.0.0.1:" + MultipathAluaVmIT.freePort(),
            tmp.resolve("engine1.log"));
        EngineProcess two = EngineProcess.start(tmp.resolve("engine2"), "127.0.0.1:" + iscsi2,
            QemuVm.HOST_ADDRESS + ":" + iscsi2, "127.0.0.1:" + MultipathAluaVmIT.freePort(),
            tmp.resolve("engine2.log"))) {
      EngineProcess.Lun lun = one.createAluaVolume(TARGET, 1, SIZE, INITIATOR, null);
      assertThat(two.createAluaVolume(TARGET, 2, SIZE, INITIATOR, lun)).isEqualTo(lun);
      // One LUN file for both: engine 2 opens engine 1's file after a restart.
      two.kill();
      Files.delete(two.lunFile(lun));
      Files.createLink(two.lunFile(lun), one.lunFile(lun));
      two.restart();
      alua(List.of(one, two), "1=active-optimized", "2=standby");

      String wwid = "3" + lun.naa();
      Map<String, String> ctx = Map.of("targetIqn", TARGET, "portals",
          QemuVm.HOST_ADDRESS + ":" + iscsi1 + "," + QemuVm.HOST_ADDRESS + ":" + iscsi2,
          "lun", "0", "serial", lun.serial(), "naa", lun.naa(), "multipath", "true",
          "wwid", wwid);
      try (QemuVm vm = QemuVm.builder().initiatorName(INITIATOR).timeout(Duration.ofMinutes(12))
          .hostForward(csi, NodePluginGuest.CSI_PORT)
          .script(GuestMultipath.PRELUDE + NodePluginGuest.script("vm-mp-node")).start()) {
        vm.awaitConsole(NodePluginGuest.LISTENING, Duration.ofMinutes(4));
        NodePluginGuest guest = new NodePluginGuest(vm);
        ManagedChannel ch = Grpc.newChannelBuilder("127.0.0.1:" + csi,
            InsecureChannelCredentials.create()).build();
        try {
          NodeGrpc.NodeBlockingStub node = NodeGrpc.newBlockingStub(ch);
          long s0 = System.nanoTime();
          stage(node, ctx, mountCap());
          double stageSeconds = (System.nanoTime() - s0) / 1e9;
          publish(node, ctx, mountCap(), POD);
          String topology = sh(guest, "multipath -ll " + wwid);
          assertThat(topology).as("one map, two paths").contains(wwid).contains("ISCSICSI")
              .containsPattern("(?s)sd[a-z].*sd[a-z]").contains("prio=50").contains("prio=1");
          String dm = mapName(guest, wwid);
          assertThat(sh(guest, "cat /sys/block/" + dm + "/dev").strip()).as("staged from the map")
              .isEqualTo(sh(guest, "findmnt -n -o MAJ:MIN " + STAGING).strip());
          assertThat(condition(node).getAbnormal()).isFalse();

          sh(guest, "( i=0; while [ ! -e /ctl/writer.stop ]; do"
              + " dd if=/dev/urandom of=" + POD + "/w.$((i % 40)) bs=64k count=4 conv=fsync"
              + " 2>/dev/null || echo \"write $i failed\" >> /ctl/writer.err;"
              + " echo \"$i $(cut -d' ' -f1 /proc/uptime)\" >> /ctl/writer.log;"
              + " i=$((i + 1)); sleep 0.1; done; echo done > /ctl/writer.done )"
              + " > /dev/null 2>&1 &");
          Path log = vm.controlDir().resolve("writer.log");
          awaitWrites(log, 10, 120);

          int swapAt = lines(log);
          alua(List.of(one, two), "1=standby", "2=active-optimized");
          awaitWrites(log, swapAt + 30, 120);
          awaitOptimized(guest, wwid, MultipathAluaVmIT.pathIn(topology, 1), 60);

          int killAt = lines(log);
          two.kill();
          one.setAlua(TARGET, "1=active-optimized", "2=standby");
          awaitWrites(log, killAt + 30, 180);
          // One member serves: healthy once multipathd's checker (every 2 s) saw the new state.
          waitFor(() -> !condition(node).getAbnormal(), 10);

          Files.writeString(vm.controlDir().resolve("writer.stop"), "");
          waitFor(() -> Files.exists(vm.controlDir().resolve("writer.done")), 60);
          assertThat(vm.controlDir().resolve("writer.err")).as("errors the application saw")
              .doesNotExist();
          List<Double> times = uptimes(log);
          double swapStall = maxGap(times, swapAt, 30);
          double killStall = maxGap(times, killAt, 30);
          String sums = sh(guest, "cd " + POD + " && md5sum w.* | sort -k2");

          unpublish(node, POD);
          long u0 = System.nanoTime();
          unstage(node);
          double unstageSeconds = (System.nanoTime() - u0) / 1e9;
          assertNothingLeft(guest, wwid);

          // Both members back, the map again: the files read back, then raw block access.
          two.restart();
          alua(List.of(one, two), "1=active-optimized", "2=standby");
          stage(node, ctx, mountCap());
          publish(node, ctx, mountCap(), POD);
          assertThat(sh(guest, "cd " + POD + " && md5sum w.* | sort -k2")).isEqualTo(sums);

          // No usable path (both ports standby): the condition says so, path by path, and
          // unstage still ends (queueing disabled before the unmount) and leaves nothing.
          alua(List.of(one, two), "1=standby", "2=standby");
          waitFor(() -> condition(node).getAbnormal(), 60);
          // each path listed with its state: ghost once multipathd's checker saw the standby
          // port, failed/faulty when the kernel failed it first on queued I/O
          assertThat(condition(node).getMessage()).contains("no usable path").contains(wwid)
              .containsPattern("paths: \\[sd[a-z]+ \\S+, sd[a-z]+ \\S+\\]");
          unpublish(node, POD);
          long q0 = System.nanoTime();
          unstage(node);
          double unstageNoPath = (System.nanoTime() - q0) / 1e9;
          assertNothingLeft(guest, wwid);
          alua(List.of(one, two), "1=active-optimized", "2=standby");

          stage(node, ctx, blockCap());
          publish(node, ctx, blockCap(), POD_DEVICE);
          String blockDm = mapName(guest, wwid);
          assertThat(sh(guest, "stat -L -c %t:%T " + POD_DEVICE).strip()).as("the map published")
              .isEqualTo(sh(guest, "stat -L -c %t:%T /dev/" + blockDm).strip());
          assertThat(sh(guest, "printf mpblockdata | dd of=" + POD_DEVICE + " bs=1 seek="
              + BLOCK_OFFSET + " conv=fsync 2>/dev/null; dd if=" + POD_DEVICE + " bs=1 skip="
              + BLOCK_OFFSET + " count=11 2>/dev/null; echo")).contains("mpblockdata");
          unpublish(node, POD_DEVICE);
          unstage(node);
          assertNothingLeft(guest, wwid);
          byte[] image = Files.readAllBytes(one.lunFile(lun));
          assertThat(new String(image, (int) BLOCK_OFFSET, 11,
              java.nio.charset.StandardCharsets.ISO_8859_1)).isEqualTo("mpblockdata");

          System.out.printf("multipath node VM figures: stage of the map (2 logins, 2 VPD checks,"
              + " map, mkfs, mount) %.2f s; longest gap between fsync'ed writes: ALUA swap %.2f"
              + " s, SIGKILL of the active engine + the other made active %.2f s; 0 errors;"
              + " unstage %.2f s, without a usable path %.2f s; whole VM run %d s%n",
              stageSeconds, swapStall, killStall, unstageSeconds, unstageNoPath,
              vm.elapsed().toSeconds());
        } finally {
          ch.shutdownNow();
          new NodePluginGuest(vm).stop();
        }
        assertThat(vm.awaitExit(Duration.ofMinutes(1))).as(vm.console()).isZero();
      }
    }
  }

  private static void alua(List<EngineProcess> engines, String... states) throws Exception {
    for (EngineProcess e : engines) {
      e.setAlua(TARGET, states);
    }
  }

  /** No map, no session, no node record, nothing of the map's in multipathd. */
  private static void assertNothingLeft(NodePluginGuest guest, String wwid) throws Exception {
    assertThat(sh(guest, "dmsetup ls --target multipath; ls /dev/mapper;"
        + " grep -l mpath- /sys/block/dm-*/dm/uuid 2>/dev/null; true"))
        .doesNotContain(wwid).doesNotContain("mpath-");
    assertThat(sh(guest, "iscsiadm -m session; iscsiadm -m node; true"))
        .contains("No active sessions").contains("No records found");
    // multipath -w comments the WWID out of the wwids file.
    assertThat(sh(guest, "grep -v '^#' /etc/multipath/wwids 2>/dev/null; true"))
        .doesNotContain(wwid);
  }

  /** Waits until multipathd has regrouped: {@code path} alone in the prio 50 group. */
  private static void awaitOptimized(NodePluginGuest guest, String wwid, String path,
      int seconds) throws Exception {
    waitFor(() -> {
      try {
        return MultipathAluaVmIT.pathIn(sh(guest, "multipath -ll " + wwid), 50).equals(path);
      } catch (AssertionError e) {
        return false;
      }
    }, seconds);
  }

  /** The map's dm-N, found by its dm uuid. */
  private static String mapName(NodePluginGuest guest, String wwid) throws Exception {
    String dm = sh(guest, "for d in /sys/block/dm-*; do grep -qx mpath-" + wwid
        + " $d/dm/uuid && basename $d; done; true").strip();
    assertThat(dm).as("the map of " + wwid).matches("dm-\\d+");
    return dm;
  }

  private static String sh(NodePluginGuest guest, String command) throws Exception {
    return guest.run(command, Duration.ofSeconds(90)).out();
  }

  private static int lines(Path log) throws Exception {
    return Files.exists(log) ? Files.readAllLines(log).size() : 0;
  }

  private static void awaitWrites(Path log, int count, int seconds) throws Exception {
    waitFor(() -> lines(log) >= count, seconds);
  }

  private static List<Double> uptimes(Path log) throws Exception {
    return Files.readAllLines(log).stream().map(l -> l.split(" "))
        .filter(f -> f.length == 2).map(f -> Double.parseDouble(f[1])).toList();
  }

  /** The longest gap between consecutive completed writes around line {@code at}. */
  static double maxGap(List<Double> t, int at, int after) {
    double max = 0;
    for (int i = Math.max(1, at - 1); i < Math.min(t.size(), at + after); i++) {
      max = Math.max(max, t.get(i) - t.get(i - 1));
    }
    return max;
  }

  @FunctionalInterface
  private interface Check {
    boolean ok() throws Exception;
  }

  private static void waitFor(Check c, int seconds) throws Exception {
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(seconds))
        .pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(200)).until(c::ok);
  }

  private static Csi.VolumeCapability mountCap() {
    return Csi.VolumeCapability.newBuilder()
        .setMount(Csi.VolumeCapability.MountVolume.newBuilder().setFsType("ext4"))
        .setAccessMode(Csi.VolumeCapability.AccessMode.newBuilder()
            .setMode(Csi.VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER)).build();
  }

  private static Csi.VolumeCapability blockCap() {
    return Csi.VolumeCapability.newBuilder()
        .setBlock(Csi.VolumeCapability.BlockVolume.getDefaultInstance())
        .setAccessMode(Csi.VolumeCapability.AccessMode.newBuilder()
            .setMode(Csi.VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER)).build();
  }

  private static void stage(NodeGrpc.NodeBlockingStub node, Map<String, String> ctx,
      Csi.VolumeCapability cap) {
    node.withDeadlineAfter(3, TimeUnit.MINUTES).nodeStageVolume(
        Csi.NodeStageVolumeRequest.newBuilder().setVolumeId(VOLUME).putAllPublishContext(ctx)
            .setStagingTargetPath(STAGING).setVolumeCapability(cap).build());
  }

  private static void publish(NodeGrpc.NodeBlockingStub node, Map<String, String> ctx,
      Csi.VolumeCapability cap, String target) {
    node.withDeadlineAfter(2, TimeUnit.MINUTES).nodePublishVolume(
        Csi.NodePublishVolumeRequest.newBuilder().setVolumeId(VOLUME).putAllPublishContext(ctx)
            .setStagingTargetPath(STAGING).setTargetPath(target).setVolumeCapability(cap)
            .build());
  }

  private static Csi.VolumeCondition condition(NodeGrpc.NodeBlockingStub node) {
    return node.withDeadlineAfter(1, TimeUnit.MINUTES).nodeGetVolumeStats(
        Csi.NodeGetVolumeStatsRequest.newBuilder().setVolumeId(VOLUME).setVolumePath(POD)
            .build()).getVolumeCondition();
  }

  private static void unpublish(NodeGrpc.NodeBlockingStub node, String target) {
    node.withDeadlineAfter(2, TimeUnit.MINUTES).nodeUnpublishVolume(
        Csi.NodeUnpublishVolumeRequest.newBuilder().setVolumeId(VOLUME).setTargetPath(target)
            .build());
  }

  private static void unstage(NodeGrpc.NodeBlockingStub node) {
    node.withDeadlineAfter(2, TimeUnit.MINUTES).nodeUnstageVolume(
        Csi.NodeUnstageVolumeRequest.newBuilder().setVolumeId(VOLUME)
            .setStagingTargetPath(STAGING).build());
  }
}
