package org.iscsicsi.target.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.iscsicsi.csi.exec.Command;
import org.iscsicsi.csi.exec.CommandException;
import org.iscsicsi.csi.exec.ProcessCommandRunner;
import org.iscsicsi.target.lun.LoopDevice;
import org.iscsicsi.target.lvm.LvmCommands;
import org.iscsicsi.target.registry.RegistryException.Reason;
import org.iscsicsi.target.state.StateStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The registry with LVM backends beside its files, against a real volume group on a loop device
 * (made and removed by the test): backends reported with the group's space, the default first;
 * a backend chosen by name, an unknown one or a provisioning it cannot give refused naming why;
 * a volume lvm cannot make (this host's kernel has no device-mapper; with one the volume is made
 * and removed) fails INTERNAL with lvm's words and leaves nothing recorded; the file backend
 * unaffected. The data path on LVM volumes runs where device-mapper does (EngineLvmVmIT).
 */
class LvmBackendHostTest {

  static final String T1 = "iqn.2026-11.org.example:t1";
  private static final Duration T = Duration.ofSeconds(60);

  @TempDir Path dir;
  private LoopDevice loop;
  private String vg;
  private StateStore store;
  private TargetRegistry reg;

  @BeforeEach
  void setUp() throws Exception {
    assumeTrue(LoopDevice.unavailableReason().isEmpty(),
        () -> LoopDevice.unavailableReason().orElseThrow());
    assumeTrue(Files.isExecutable(Path.of("/sbin/lvm"))
        || Files.isExecutable(Path.of("/usr/sbin/lvm")),
        "lvm is not installed (Debian package lvm2)");
    vg = "isc-reg-" + ProcessHandle.current().pid();
    loop = LoopDevice.attach(dir.resolve("pv.img"), 64L << 20);
    lvm("pvcreate", loop.device.toString());
    lvm("vgcreate", vg, loop.device.toString());
    store = StateStore.open(dir.resolve("state"));
    reg = TargetRegistry.open(store, dir.resolve("state/luns"), dir.resolve("state/snapshots"),
        T, List.of(BackendSpec.lvm("thick", vg), BackendSpec.lvmThin("thin", vg, "tpool")),
        new LvmCommands(new ProcessCommandRunner(), T, true));
    reg.createTarget(T1, "", Map.of(), Map.of());
  }

  @AfterEach
  void tearDown() throws Exception {
    try {
      if (reg != null) {
        reg.close();
        store.close();
      }
    } finally {
      if (loop != null) {
        try {
          lvmQuietly("vgremove", "--yes", "--force", vg);
          lvmQuietly("pvremove", "--yes", loop.device.toString());
        } finally {
          loop.close();
        }
      }
    }
  }

  @Test
  void reportsEveryBackendWithItsSpaceTheDefaultFirst() {
    List<BackendStatus> b = reg.backends();
    assertThat(b).extracting(BackendStatus::name).containsExactly("thick", "thin", "fileio");
    assertThat(b.get(0)).isEqualTo(new BackendStatus("thick", "lvm", 60L << 20, 60L << 20, 0,
        0));
    // the group has no thin pool "tpool": reported empty rather than failing the others
    assertThat(b.get(1).totalBytes()).isZero();
    assertThat(b.get(2).type()).isEqualTo("fileio");
    assertThat(b.get(2).totalBytes()).isPositive();
  }

  @Test
  void refusesBackendsItLacksAndProvisioningsTheyCannotGive() {
    assertThatThrownBy(() -> reg.createLun(spec(0, true, "nvme")))
        .isInstanceOfSatisfying(RegistryException.class,
            e -> assertThat(e.reason()).isEqualTo(Reason.INVALID_ARGUMENT))
        .hasMessageContaining("no backend \"nvme\"").hasMessageContaining("thick, thin, fileio");
    assertThatThrownBy(() -> reg.createLun(spec(0, false, "thick")))
        .hasMessageContaining("has no thin provisioning");
    assertThatThrownBy(() -> reg.createLun(spec(0, true, "thin")))
        .hasMessageContaining("provides thin LUNs only");
    assertThatThrownBy(() -> reg.createLun(spec(0, true, "thick", 128L << 20)))
        .isInstanceOfSatisfying(RegistryException.class,
            e -> assertThat(e.reason()).isEqualTo(Reason.RESOURCE_EXHAUSTED))
        .hasMessageContaining("backend thick has " + (60L << 20) + " bytes free");
    assertThat(reg.getTarget(T1).luns()).isEmpty();
  }

  @Test
  void aVolumeLvmCannotMakeFailsWithItsWordsAndLeavesNothing() throws IOException {
    if (deviceMapperInKernel()) {
      reg.createLun(spec(0, true, "thick"));
      assertThat(reg.backends().getFirst().availableBytes()).isEqualTo(52L << 20);
      reg.deleteLun(T1, 0);
    } else {
      assertThatThrownBy(() -> reg.createLun(spec(0, true, "thick")))
          .isInstanceOfSatisfying(RegistryException.class,
              e -> assertThat(e.reason()).isEqualTo(Reason.INTERNAL))
          .hasMessageContaining("backend thick").hasMessageContaining("lvm lvcreate")
          .hasMessageContaining("device-mapper");
    }
    assertThat(reg.getTarget(T1).luns()).isEmpty();
    assertThat(reg.backends().getFirst().availableBytes()).isEqualTo(60L << 20);
    assertThat(reg.createLun(spec(1, false, "fileio")).file())
        .startsWith(dir.resolve("state/luns").toString()); // the files are untouched by it
  }

  private static LunSpec spec(int lun, boolean thick, String backend) {
    return spec(lun, thick, backend, 8L << 20);
  }

  private static LunSpec spec(int lun, boolean thick, String backend, long size) {
    return new LunSpec(T1, lun, size, 512, thick, false, new LunSpec.Empty(), null, null,
        backend);
  }

  private static boolean deviceMapperInKernel() throws IOException {
    return Files.readAllLines(Path.of("/proc/misc")).stream()
        .anyMatch(l -> l.strip().endsWith(" device-mapper"));
  }

  private static void lvm(String... args) throws CommandException {
    String[] argv = new String[args.length + 1];
    argv[0] = "lvm";
    System.arraycopy(args, 0, argv, 1, args.length);
    new ProcessCommandRunner().check(Command.of(T, argv));
  }

  private static void lvmQuietly(String... args) {
    try {
      lvm(args);
    } catch (CommandException e) {
      System.err.println("cleanup: " + e.getMessage()); // the test's own failure matters more
    }
  }
}
