package org.iscsicsi.target.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.iscsicsi.target.lun.LoopDevice;
import org.iscsicsi.target.lvm.LvmCommands;
import org.iscsicsi.target.state.LunRecord;
import org.iscsicsi.target.state.SnapshotRecord;
import org.iscsicsi.target.state.StateStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The LVM backends' whole flow in the registry on real block devices, lvm answered by
 * {@link LoopLvm} (loop devices as volumes: this host's kernel has no device-mapper, see that
 * class): a thin LUN made, written on its device, snapshotted (the snapshot keeps the bytes of
 * its moment), restored into a new LUN, grown (the volume first, then the unit), its volumes
 * activated again after a "reboot" with the data intact, then deleted with its volume; a thick
 * LUN zeroed before it is exported (no earlier volume's bytes show), its snapshot a copy; the
 * capacity of each backend from lvm's reports.
 */
class LvmBackendFlowTest {

  static final String T1 = "iqn.2026-11.org.example:lvm";
  static final long MIB = 1 << 20;
  private static final Duration T = Duration.ofSeconds(60);

  @TempDir Path dir;
  private LoopLvm lvm;
  private StateStore store;
  private TargetRegistry reg;

  private void open(String vg, String pool) throws IOException {
    assumeTrue(LoopDevice.unavailableReason().isEmpty(),
        () -> LoopDevice.unavailableReason().orElseThrow());
    if (lvm == null) {
      lvm = new LoopLvm(dir.resolve("extents"), vg, 256 * MIB, pool, pool == null ? 0 : 128 * MIB);
    }
    store = StateStore.open(dir.resolve("state"));
    reg = TargetRegistry.open(store, dir.resolve("state/luns"), dir.resolve("state/snapshots"),
        T, List.of(pool == null ? BackendSpec.lvm("vg", vg) : BackendSpec.lvmThin("vg", vg, pool)),
        new LvmCommands(lvm, T, false));
  }

  private void close() throws IOException {
    if (reg != null) {
      reg.close();
      store.close();
      reg = null;
    }
  }

  @AfterEach
  void tearDown() throws Exception {
    try {
      close();
    } finally {
      if (lvm != null) {
        lvm.close();
      }
    }
  }

  @Test
  void thinLunSnapshotRestoreGrowRebootDelete() throws Exception {
    String vg = "isc-flow-" + ProcessHandle.current().pid();
    open(vg, "tpool");
    reg.createTarget(T1, "", Map.of(), Map.of());
    LunRecord lun = reg.createLun(new LunSpec(T1, 0, 16 * MIB, 512, false, false,
        new LunSpec.Empty(), null, null, "vg"));
    Path dev = Path.of(lun.file());
    assertThat(dev.getParent()).isEqualTo(Path.of("/dev", vg));
    assertThat(dev.getFileName().toString()).isEqualTo("isc-" + lun.naa());
    assertThat(lvm.calls).anyMatch(c -> c.containsAll(List.of("lvcreate", "--type", "thin",
        "--thinpool", "tpool", "--virtualsize", 16 * MIB + "b")));
    assertThat(read(dev, 0, (int) MIB)).isEqualTo(new byte[(int) MIB]);

    write(dev, MIB, pattern(1));
    BackendStatus thin = reg.backends().getFirst();
    assertThat(thin.type()).isEqualTo("lvm-thin");
    assertThat(thin.provisionedBytes()).isEqualTo(16 * MIB);
    assertThat(thin.allocatedBytes()).isGreaterThanOrEqualTo(MIB);
    assertThat(thin.totalBytes()).isEqualTo(128 * MIB);

    SnapshotRecord snap = reg.createSnapshot("s1", T1, 0, Map.of());
    assertThat(snap.file()).isEqualTo("/dev/" + vg + "/isc-snap-s1");
    write(dev, MIB, pattern(2)); // after the snapshot: the snapshot keeps pattern 1
    assertThat(read(Path.of(snap.file()), MIB, (int) MIB)).isEqualTo(pattern(1));

    LunRecord restored = reg.createLun(new LunSpec(T1, 1, 16 * MIB, 512, false, false,
        new LunSpec.FromSnapshot("s1"), null, null, "vg"));
    assertThat(read(Path.of(restored.file()), MIB, (int) MIB)).isEqualTo(pattern(1));

    reg.resizeLun(T1, 0, 32 * MIB);
    assertThat(lvm.calls).anyMatch(c -> c.contains("lvextend"));
    assertThat(reg.lunStatus(T1, 0).definition().sizeBytes()).isEqualTo(32 * MIB);

    close();
    lvm.deactivateAll(); // a reboot: no volume is active
    assertThat(Files.exists(dev)).isFalse();
    open(vg, "tpool");
    assertThat(reg.lunStatus(T1, 0).condition()).isEmpty();
    assertThat(reg.lunStatus(T1, 0).definition().sizeBytes()).isEqualTo(32 * MIB);
    assertThat(read(dev, MIB, (int) MIB)).isEqualTo(pattern(2));
    assertThat(read(Path.of(snap.file()), MIB, (int) MIB)).isEqualTo(pattern(1));

    reg.deleteLun(T1, 0);
    reg.deleteSnapshot("s1");
    assertThat(Files.exists(dev)).isFalse();
    assertThat(Files.exists(Path.of(snap.file()))).isFalse();
    assertThat(lvm.calls).anyMatch(c -> c.containsAll(List.of("lvremove", vg + "/isc-snap-s1")));
    assertThat(reg.backends().getFirst().provisionedBytes()).isEqualTo(16 * MIB);
  }

  @Test
  void thickLunIsZeroedBeforeItIsExportedAndItsSnapshotIsACopy() throws Exception {
    String vg = "isc-thick-" + ProcessHandle.current().pid();
    open(vg, null);
    reg.createTarget(T1, "", Map.of(), Map.of());
    assertThatThrownBy(() -> reg.createLun(new LunSpec(T1, 0, 8 * MIB, 512, false, false,
        new LunSpec.Empty(), null, null, "vg"))).hasMessageContaining("no thin provisioning");
    LunRecord lun = reg.createLun(new LunSpec(T1, 0, 8 * MIB, 512, true, false,
        new LunSpec.Empty(), null, null, "vg"));
    Path dev = Path.of(lun.file());
    assertThat(read(dev, 0, LoopLvm.OLD_BLOCKS.length))
        .isEqualTo(new byte[LoopLvm.OLD_BLOCKS.length]); // no earlier volume's bytes
    assertThat(reg.backends().getFirst()).isEqualTo(new BackendStatus("vg", "lvm", 256 * MIB,
        248 * MIB, 8 * MIB, 8 * MIB));

    write(dev, 0, pattern(3));
    SnapshotRecord snap = reg.createSnapshot("s2", T1, 0, Map.of());
    assertThat(lvm.calls).anyMatch(c -> c.containsAll(List.of("lvcreate", "isc-snap-s2"))
        && !c.contains("--snapshot")); // a linear copy, no COW snapshot left behind
    write(dev, 0, pattern(4));
    assertThat(read(Path.of(snap.file()), 0, (int) MIB)).isEqualTo(pattern(3));
    assertThat(read(Path.of(snap.file()), MIB, (int) MIB)).isEqualTo(new byte[(int) MIB]);
  }

  private static byte[] pattern(int seed) {
    byte[] b = new byte[(int) MIB];
    for (int i = 0; i < b.length; i++) {
      b[i] = (byte) (seed * 31 + i * 7);
    }
    return b;
  }

  private static void write(Path dev, long at, byte[] data) throws IOException {
    try (FileChannel ch = FileChannel.open(dev, StandardOpenOption.WRITE)) {
      ByteBuffer b = ByteBuffer.wrap(data);
      while (b.hasRemaining()) {
        ch.write(b, at + b.position());
      }
      ch.force(false);
    }
  }

  private static byte[] read(Path dev, long at, int length) throws IOException {
    try (FileChannel ch = FileChannel.open(dev, StandardOpenOption.READ)) {
      ByteBuffer b = ByteBuffer.allocate(length);
      while (b.hasRemaining() && ch.read(b, at + b.position()) > 0) {
        // fill
      }
      return Arrays.copyOf(b.array(), length);
    }
  }
}
