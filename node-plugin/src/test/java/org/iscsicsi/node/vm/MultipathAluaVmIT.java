package org.iscsicsi.node.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ALUA with the real kernel initiator and dm-multipath in the qemu VM: two target engine
 * processes on the host export one LUN identity (same NAA and serial) through portal group tags
 * and port slots 1 and 2, engine 1's port active/optimized and engine 2's standby. It pins that
 * multipathd builds one map {@code 3<naa>} with two path groups, prio 50 (the active/optimized
 * path) and 1 (the standby one); that after both engines swap the states with SetAluaStates
 * ({@code target-engine lun alua}) a direct write to the map succeeds and lands on engine 2's
 * file, not engine 1's, while the write before the swap landed on engine 1's; and that
 * {@code sg_rtpg} on a path shows both groups with their new states.
 *
 * <p>The guest runs multipathd without udev: {@code uid_attribute ""} (the WWID comes from sysfs),
 * a {@code /run/udev/data/b<major>:<minor>} stub per path disk, {@code DM_DISABLE_UDEV=1} so that
 * libdevmapper makes the {@code /dev/mapper} node itself. The engines hold separate files (there
 * is no replication here), which is what lets the test see where each write went.
 */
class MultipathAluaVmIT {

  private static final String TARGET = "iqn.2026-11.org.iscsicsi:alua-1";
  private static final String INITIATOR = "iqn.2026-11.org.iscsicsi:vm-multipath";
  private static final long SIZE = 32L << 20;
  private static final int BLOCK = 256 << 10;
  /** Where the write after the swap goes: 1 MiB into the LUN. */
  private static final long SECOND_OFFSET = 1L << 20;

  /** Guest side; PORTAL1, PORTAL2, IQN and NAA come from the environment. */
  static final String GUEST = String.join("\n",
      "set -u",
      "fail() { echo \"MPATH-FAIL $*\"; dmesg | tail -40; exit 1; }",
      "modprobe -a dm_mod dm_multipath dm_service_time dm_round_robin scsi_dh_alua"
          + " || fail modprobe",
      "mkdir -p /etc/multipath /run/udev/data /dev/mapper",
      GuestMultipath.conf("no"),
      "for p in \"$PORTAL1\" \"$PORTAL2\"; do",
      "  iscsiadm -m node -o new -T \"$IQN\" -p \"$p\" >/dev/null || fail node $p",
      "  iscsiadm -m node -T \"$IQN\" -p \"$p\" -o update"
          + " -n node.session.timeo.replacement_timeout -v 5 || fail update $p",
      "  iscsiadm -m node -T \"$IQN\" -p \"$p\" --login || fail login $p",
      "done",
      // the block devices, not only the SCSI disks: a stub made before sdb exists is missing
      "i=0; while [ \"$(ls -d /sys/block/sd* 2>/dev/null | wc -l)\" -lt 2 ]; do",
      "  i=$((i + 1)); [ $i -gt 300 ] && fail 'two path disks'; sleep 0.2; done",
      "for d in /sys/block/sd*; do touch \"/run/udev/data/b$(cat \"$d/dev\")\"; done",
      "export DM_DISABLE_UDEV=1",
      "multipathd -d -v2 >/tmp/multipathd.log 2>&1 &",
      "MAP=/dev/mapper/3$NAA",
      "topology() { multipath -ll 3$NAA 2>/dev/null; }",
      // a path multipathd passed over (no creation uevent without udev) is offered again
      "i=0; until [ -b \"$MAP\" ] && topology | grep -q 'prio=50' && topology | grep -q 'prio=1';"
          + " do i=$((i + 1)); if [ $i -gt 150 ]; then cat /tmp/multipathd.log; topology;"
          + " fail 'map with two path groups'; fi;"
          + " if [ -b \"$MAP\" ] && [ $((i % 5)) -eq 0 ]; then for d in /sys/block/sd*; do"
          + " s=$(basename $d); topology | grep -q \" $s \" ||"
          + " multipathd add path $s >/dev/null 2>&1; done; fi; sleep 0.4; done",
      "echo '=== topology before'; topology; echo '=== end'",
      "dd if=/dev/urandom of=/ctl/first.bin bs=" + BLOCK + " count=1 2>/dev/null",
      "dd if=/dev/urandom of=/ctl/second.bin bs=" + BLOCK + " count=1 2>/dev/null",
      "dd if=/ctl/first.bin of=\"$MAP\" bs=" + BLOCK + " count=1 oflag=direct 2>/dev/null"
          + " || fail 'write before the swap'",
      "echo SWAP-NOW",
      "i=0; until [ -f /ctl/swapped ]; do i=$((i + 1)); [ $i -gt 600 ] && fail 'no swap';"
          + " sleep 0.2; done",
      "t0=$(cut -d' ' -f1 /proc/uptime)",
      "dd if=/ctl/second.bin of=\"$MAP\" bs=" + BLOCK + " count=1 seek="
          + SECOND_OFFSET / BLOCK + " oflag=direct 2>/dev/null || fail 'write after the swap'",
      "echo \"WRITE-AFTER-SWAP-OK $t0 $(cut -d' ' -f1 /proc/uptime)\"",
      "sleep 4", // multipathd's next check (polling_interval 2) regroups the paths
      "echo '=== topology after'; topology; echo '=== end'",
      "for d in /sys/block/sd*; do s=$(basename $d);"
          + " echo \"=== rtpg $s $(cat $d/device/state)\"; sg_rtpg -d /dev/$s; done",
      "echo '=== end'",
      "sync",
      "exit 0");

  @TempDir Path tmp;

  @BeforeAll
  static void needsQemuAndEngine() {
    assumeTrue(QemuVm.unavailableReason().isEmpty(), () -> QemuVm.unavailableReason().get());
    assumeTrue(EngineProcess.unavailableReason().isEmpty(),
        () -> EngineProcess.unavailableReason().get());
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Test
  void oneMapTwoPathGroupsAndIoFollowsAStateSwap() throws Exception {
    int iscsi1 = freePort();
    int iscsi2 = freePort();
    try (EngineProcess one = EngineProcess.start(tmp.resolve("engine1"), "127.0.0.1:" + iscsi1,
            QemuVm.HOST_ADDRESS + ":" + iscsi1, "127.0.0.1:" + freePort(),
            tmp.resolve("engine1.log"));
        EngineProcess two = EngineProcess.start(tmp.resolve("engine2"), "127.0.0.1:" + iscsi2,
            QemuVm.HOST_ADDRESS + ":" + iscsi2, "127.0.0.1:" + freePort(),
            tmp.resolve("engine2.log"))) {
      EngineProcess.Lun lun = one.createAluaVolume(TARGET, 1, SIZE, INITIATOR, null);
      assertThat(two.createAluaVolume(TARGET, 2, SIZE, INITIATOR, lun)).isEqualTo(lun);
      assertThat(one.setAlua(TARGET, "1=active-optimized", "2=standby"))
          .contains("ALUA 1=active-optimized 2=standby");
      assertThat(two.setAlua(TARGET, "1=active-optimized", "2=standby"))
          .contains("port slot 2, ALUA 1=active-optimized 2=standby");
      try (QemuVm vm = QemuVm.builder().initiatorName(INITIATOR).timeout(Duration.ofMinutes(8))
          .env("PORTAL1", QemuVm.HOST_ADDRESS + ":" + iscsi1)
          .env("PORTAL2", QemuVm.HOST_ADDRESS + ":" + iscsi2)
          .env("IQN", TARGET).env("NAA", lun.naa()).script(GUEST).start()) {
        vm.awaitConsole("SWAP-NOW", Duration.ofMinutes(5));
        String before = section(vm.console(), "=== topology before");
        assertThat(before).as("one map named by the WWID").contains("3" + lun.naa())
            .contains("ISCSICSI");
        assertThat(before).as("two path groups").contains("prio=50").contains("prio=1");
        long s0 = System.nanoTime();
        one.setAlua(TARGET, "1=standby", "2=active-optimized");
        two.setAlua(TARGET, "1=standby", "2=active-optimized");
        Files.writeString(vm.controlDir().resolve("swapped"), "");
        vm.awaitConsole("WRITE-AFTER-SWAP-OK", Duration.ofMinutes(3));
        double swapSeconds = (System.nanoTime() - s0) / 1e9;
        assertThat(vm.awaitExit(Duration.ofMinutes(2))).as(vm.console()).isZero();
        String console = vm.console();
        assertThat(console).doesNotContain("MPATH-FAIL");
        String after = section(console, "=== topology after");
        String optimized = pathIn(before, 50);
        String ghost = pathIn(before, 1);
        assertThat(optimized).as("two distinct paths").isNotEqualTo(ghost);
        assertThat(pathIn(after, 50)).as("the standby path became the optimized one")
            .isEqualTo(ghost);
        assertThat(pathIn(after, 1)).as("and the optimized one standby").isEqualTo(optimized);
        assertThat(after).containsPattern("prio=50 status=active\\S*\\s+\\S+ \\S+ " + ghost
            + " \\S+\\s+active ready").containsPattern(optimized + " \\S+\\s+active ghost");
        String rtpg = console.substring(console.indexOf("=== rtpg"));
        assertThat(rtpg).contains("target port group id : 0x1")
            .contains("target port group id : 0x2").contains("(standby)")
            .contains("(active/optimized)")
            .contains("(target port asym. state changed by implicit lu behaviour)");

        byte[] first = Files.readAllBytes(vm.controlDir().resolve("first.bin"));
        byte[] second = Files.readAllBytes(vm.controlDir().resolve("second.bin"));
        assertThat(read(one.lunFile(lun), 0)).as("before the swap: engine 1").isEqualTo(first);
        assertThat(read(two.lunFile(lun), 0)).as("not engine 2").isNotEqualTo(first);
        assertThat(read(two.lunFile(lun), SECOND_OFFSET)).as("after the swap: engine 2")
            .isEqualTo(second);
        assertThat(read(one.lunFile(lun), SECOND_OFFSET)).as("not engine 1")
            .isEqualTo(new byte[BLOCK]);
        System.out.printf("multipath ALUA VM figures: state swap to a completed direct write on"
            + " the new active path %.1f s; whole VM run %d s%n", swapSeconds,
            vm.elapsed().toSeconds());
      }
    }
  }

  /** The console lines from {@code marker} to the next "=== end". */
  static String section(String console, String marker) {
    int at = console.indexOf(marker);
    assertThat(at).as(marker + " in the console:\n" + console).isNotNegative();
    int end = console.indexOf("=== end", at);
    return console.substring(at, end < 0 ? console.length() : end);
  }

  /** The path disk (sdX) of the path group with {@code prio} in a {@code multipath -ll} section. */
  static String pathIn(String topology, int prio) {
    var m = java.util.regex.Pattern.compile("prio=" + prio + " status=\\S+\\s+[^\\n]*? (sd[a-z]+) ")
        .matcher(topology);
    assertThat(m.find()).as("a path group with prio " + prio + " in\n" + topology).isTrue();
    return m.group(1);
  }

  static byte[] read(Path file, long offset) throws IOException {
    try (var ch = java.nio.channels.FileChannel.open(file)) {
      java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(BLOCK);
      while (b.hasRemaining() && ch.read(b, offset + b.position()) > 0) {
        // read until the block is full or the file ends
      }
      return Arrays.copyOf(b.array(), BLOCK);
    }
  }
}
