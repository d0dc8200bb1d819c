package org.iscsicsi.target.lvm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalDouble;
import org.iscsicsi.csi.exec.Command;
import org.iscsicsi.csi.exec.CommandException;
import org.iscsicsi.csi.exec.ProcessCommandRunner;
import org.iscsicsi.target.lun.LoopDevice;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * lvm's commands as the engine builds and reads them: the argv of each operation (no shell, sizes
 * in bytes, udev switched off in containers), names refused before they reach an argv, the JSON
 * reports parsed from outputs recorded from lvm 2.03.16 ({@code src/test/resources/lvm}), and
 * real runs of lvm against a loop-backed volume group, whose failures carry the command and lvm's
 * stderr.
 */
class LvmCommandsTest {

  private static final Duration T = Duration.ofSeconds(60);
  private final LvmCommands lvm = new LvmCommands(new ProcessCommandRunner(), T, true);
  private final LvmCommands inContainer = new LvmCommands(new ProcessCommandRunner(), T, false);

  @Test
  void buildsEachOperationAsOneArgv() {
    assertThat(lvm.createLinear("vg0", "isc-a", 1 << 30).argv()).containsExactly("lvm",
        "lvcreate", "--yes", "--wipesignatures", "y", "--activate", "y", "--size", "1073741824b",
        "--name", "isc-a", "vg0");
    assertThat(lvm.createThin("vg0", "tpool", "isc-a", 4096).argv()).containsExactly("lvm",
        "lvcreate", "--yes", "--type", "thin", "--activate", "y", "--virtualsize", "4096b",
        "--thinpool", "tpool", "--name", "isc-a", "vg0");
    assertThat(lvm.snapshotThin("vg0", "isc-a", "isc-snap-s1").argv()).containsExactly("lvm",
        "lvcreate", "--yes", "--snapshot", "--setactivationskip", "n", "--activate", "y",
        "--name", "isc-snap-s1", "vg0/isc-a");
    assertThat(lvm.extend("vg0", "isc-a", 8192).argv()).containsExactly("lvm", "lvextend",
        "--yes", "--size", "8192b", "vg0/isc-a");
    assertThat(lvm.remove("vg0", "isc-a").argv()).containsExactly("lvm", "lvremove", "--yes",
        "vg0/isc-a");
    assertThat(lvm.createVolumeGroup("isc-e1", "/dev/disk/by-id/wwn-0x5000c500a1b2c3d4").argv())
        .containsExactly("lvm", "vgcreate", "isc-e1", "/dev/disk/by-id/wwn-0x5000c500a1b2c3d4");
    assertThat(LvmCommands.devicePath("vg0", "isc-a")).isEqualTo(Path.of("/dev/vg0/isc-a"));
  }

  @Test
  void insideAContainerLvmMakesTheDeviceNodesWithoutUdev() {
    assertThat(inContainer.remove("vg0", "isc-a").argv()).containsExactly("lvm", "lvremove",
        "--config", "activation { udev_sync = 0 udev_rules = 0 }", "--yes", "vg0/isc-a");
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "-rf", "a b", "vg;reboot", "vg/x", "..", ".", "vg\nx", "ä",
      "$(id)", "x*"})
  void refusesNamesLvmWouldNotTakeBeforeAnyArgv(String name) {
    assertThatThrownBy(() -> lvm.createLinear(name, "isc-a", 4096))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("volume group");
    assertThatThrownBy(() -> lvm.remove("vg0", name))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("logical volume");
  }

  @ParameterizedTest
  @ValueSource(strings = {"snapshot1", "pvmove0", "data_tmeta", "x_tdata", "a_rimage_0",
      "p_pmspare"})
  void refusesTheNamesLvmKeepsForItsOwnVolumes(String name) {
    assertThatThrownBy(() -> LvmName.lv(name)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("reserve");
  }

  @Test
  void acceptsWhatLvmAllowsUpTo127Characters() {
    assertThat(LvmName.lv("isc-6001405aa00000000000000000000001")).isNotNull();
    assertThat(LvmName.vg("Data_vg.1+x")).isEqualTo("Data_vg.1+x");
    assertThat(LvmName.vg("v".repeat(127))).hasSize(127);
    assertThatThrownBy(() -> LvmName.vg("v".repeat(128)))
        .hasMessageContaining("longer than 127");
  }

  @Test
  void refusesSizesAndDevicePathsThatAreNotPlain() {
    assertThatThrownBy(() -> lvm.createLinear("vg0", "isc-a", 0))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> lvm.createPhysicalVolume("sdb"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("absolute");
    assertThatThrownBy(() -> lvm.createPhysicalVolume("/dev/../etc/passwd"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Nested
  class RecordedReports {

    @Test
    void readsAVolumeGroup() throws IOException {
      assertThat(LvmReport.volumeGroups(fixture("vgs-one-vg.json"))).containsExactly(
          new VolumeGroup("isc-fix", 62914560, 54525952, 4194304));
      assertThat(LvmReport.volumeGroups(fixture("vgs-missing.json"))).isEmpty();
    }

    @Test
    void readsALinearVolume() throws IOException {
      LogicalVolume lv = LvmReport.logicalVolumes(fixture("lvs-thick.json")).getFirst();
      assertThat(lv).isEqualTo(new LogicalVolume("isc-lv1", "isc-fix", 8388608, "-wi-XX----",
          "", OptionalDouble.empty(), "/dev/isc-fix/isc-lv1"));
      assertThat(lv.thinVolume()).isFalse();
      assertThat(lv.allocatedBytes()).isEqualTo(8388608);
    }

    @Test
    void readsThinPoolsVolumesAndSnapshots() throws IOException {
      List<LogicalVolume> lvs = LvmReport.logicalVolumes(fixture("lvs-thin.json"));
      assertThat(lvs).hasSize(3);
      LogicalVolume thin = lvs.get(0);
      assertThat(thin.thinVolume()).isTrue();
      assertThat(thin.active()).isTrue();
      assertThat(thin.pool()).isEqualTo("tpool");
      assertThat(thin.allocatedBytes()).isEqualTo(33554432 / 8);
      assertThat(lvs.get(1).active()).isFalse();
      assertThat(lvs.get(2).thinPool()).isTrue();
      assertThat(lvs.get(2).dataPercent()).hasValue(25.0);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "{", "{}", "{\"report\": {}}", "{\"report\": [{\"lv\": 1}]}",
        "{\"report\": [{\"vg\": [{\"vg_name\": \"a\", \"vg_size\": \"12k\", \"vg_free\": \"0\","
            + " \"vg_extent_size\": \"1\"}]}]}",
        "{\"report\": [{\"vg\": [{\"vg_name\": \"a\"}]}]}"})
    void refusesWhatIsNotAReport(String json) {
      assertThatThrownBy(() -> LvmReport.volumeGroups(json)).isInstanceOf(IOException.class);
    }
  }

  /** lvm itself, against a volume group on a loop device made for the test and removed after. */
  @Nested
  class RealLvm {

    @TempDir Path dir;

    @Test
    void readsItsVolumeGroupAndReportsFailuresWithCommandAndStderr() throws Exception {
      assumeTrue(LoopDevice.unavailableReason().isEmpty(),
          () -> LoopDevice.unavailableReason().orElseThrow());
      assumeTrue(lvmInstalled(), "lvm is not installed (Debian package lvm2)");
      String vg = "isc-test-" + ProcessHandle.current().pid();
      try (LoopDevice loop = LoopDevice.attach(dir.resolve("pv.img"), 64L << 20)) {
        lvm.run(lvm.createPhysicalVolume(loop.device.toString()));
        try {
          lvm.run(lvm.createVolumeGroup(vg, loop.device.toString()));
          try {
            VolumeGroup g = lvm.volumeGroup(vg);
            assertThat(g.name()).isEqualTo(vg);
            assertThat(g.extentBytes()).isEqualTo(4L << 20);
            assertThat(g.sizeBytes()).isEqualTo(60L << 20); // 64 MiB less the metadata area
            assertThat(g.freeBytes()).isEqualTo(g.sizeBytes());
            assertThat(lvm.logicalVolumes(vg)).isEmpty();
            createOneVolume(vg);
          } finally {
            quietly("vgremove", "--yes", "--force", vg);
          }
        } finally {
          quietly("pvremove", "--yes", loop.device.toString());
        }
      }
      assertThatThrownBy(() -> lvm.volumeGroup(vg)).isInstanceOf(LvmException.class)
          .hasMessageContaining("lvm vgs").hasMessageContaining("not found")
          .satisfies(e -> assertThat(((LvmException) e).stderr())
              .contains("Volume group \"" + vg + "\" not found"));
    }

    /**
     * With device-mapper the volume is made, listed and removed; without (this host's kernel
     * has none) lvm's refusal reaches the caller with its own words.
     */
    private void createOneVolume(String vg) throws IOException {
      if (deviceMapperInKernel()) {
        lvm.run(lvm.createLinear(vg, "isc-one", 8 << 20));
        assertThat(lvm.logicalVolumes(vg)).singleElement()
            .satisfies(lv -> assertThat(lv.sizeBytes()).isEqualTo(8 << 20));
        lvm.run(lvm.remove(vg, "isc-one"));
        assertThat(lvm.logicalVolumes(vg)).isEmpty();
      } else {
        assertThatThrownBy(() -> lvm.run(lvm.createLinear(vg, "isc-one", 8 << 20)))
            .isInstanceOf(LvmException.class)
            .hasMessageContaining("lvm lvcreate --yes")
            .hasMessageContaining("device-mapper");
        assertThat(lvm.logicalVolumes(vg)).isEmpty(); // nothing half-made left behind
      }
    }

    /** The kernel lists its device-mapper control device in /proc/misc when it has the driver. */
    private static boolean deviceMapperInKernel() throws IOException {
      return Files.readAllLines(Path.of("/proc/misc")).stream()
          .anyMatch(l -> l.strip().endsWith(" device-mapper"));
    }

    private static boolean lvmInstalled() {
      return Files.isExecutable(Path.of("/sbin/lvm"))
          || Files.isExecutable(Path.of("/usr/sbin/lvm"));
    }

    private static void quietly(String... args) {
      String[] argv = new String[args.length + 1];
      argv[0] = "lvm";
      System.arraycopy(args, 0, argv, 1, args.length);
      try {
        new ProcessCommandRunner().check(Command.of(T, argv));
      } catch (CommandException e) {
        System.err.println("cleanup: " + e.getMessage()); // the test's own failure matters more
      }
    }
  }

  private static String fixture(String name) throws IOException {
    try (InputStream in = LvmCommandsTest.class.getResourceAsStream("/lvm/" + name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
