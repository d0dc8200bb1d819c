package org.iscsicsi.target.lvm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.iscsicsi.csi.exec.Command;
import org.iscsicsi.csi.exec.CommandException;
import org.iscsicsi.csi.exec.ProcessCommandRunner;
import org.iscsicsi.target.lun.LoopDevice;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A whole disk given to the engine, on real loop devices: an empty one becomes the volume group
 * {@code isc-<engine>} and is found again at the next start without being touched; a disk with a
 * filesystem, a mounted one and a non-device are refused and left as they were.
 */
class DiskSetupTest {

  private static final Duration T = Duration.ofSeconds(60);
  private final ProcessCommandRunner runner = new ProcessCommandRunner();
  private final LvmCommands lvm = new LvmCommands(runner, T, true);
  private final DiskSetup disks = new DiskSetup(lvm, runner, T);

  @TempDir Path dir;

  @BeforeEach
  void tools() {
    assumeTrue(LoopDevice.unavailableReason().isEmpty(),
        () -> LoopDevice.unavailableReason().orElseThrow());
    assumeTrue(Files.isExecutable(Path.of("/sbin/lvm"))
        || Files.isExecutable(Path.of("/usr/sbin/lvm")),
        "lvm is not installed (Debian package lvm2)");
  }

  @Test
  void makesTheVolumeGroupOnAnEmptyDiskOnceAndFindsItAfter() throws Exception {
    String engine = "dt" + ProcessHandle.current().pid();
    String vg = DiskSetup.volumeGroup(engine);
    try (LoopDevice loop = LoopDevice.attach(dir.resolve("d.img"), 64L << 20)) {
      try {
        assertThat(disks.ensure(engine, loop.device, false)).isEqualTo(vg);
        assertThat(lvm.volumeGroup(vg).sizeBytes()).isEqualTo(60L << 20);
        assertThat(disks.ensure(engine, loop.device, false)).isEqualTo(vg); // the next start
        assertThat(run("blkid", "-p", "-o", "value", "-s", "TYPE", loop.device.toString()))
            .contains("LVM2_member");
      } finally {
        quietly("lvm", "vgremove", "--yes", "--force", vg);
        quietly("lvm", "pvremove", "--yes", loop.device.toString());
      }
    }
  }

  @Test
  void refusesADiskWithASignatureAndAMountedOne() throws Exception {
    try (LoopDevice loop = LoopDevice.attach(dir.resolve("fs.img"), 32L << 20)) {
      run("mkfs.ext4", "-q", "-F", loop.device.toString());
      assertThatThrownBy(() -> disks.ensure("e1", loop.device, true))
          .isInstanceOf(IOException.class).hasMessageContaining("not empty")
          .hasMessageContaining("TYPE=ext4");
      Path mnt = Files.createDirectories(dir.resolve("mnt"));
      run("mount", loop.device.toString(), mnt.toString());
      try {
        assertThatThrownBy(() -> disks.ensure("e1", loop.device, true))
            .hasMessageContaining("is mounted");
      } finally {
        run("umount", mnt.toString());
      }
      assertThat(run("blkid", "-p", "-o", "value", "-s", "TYPE", loop.device.toString()))
          .contains("ext4"); // untouched
    }
    Path file = Files.writeString(dir.resolve("plain"), "x");
    assertThatThrownBy(() -> disks.ensure("e1", file, false))
        .hasMessageContaining("not a block device");
  }

  private String run(String... argv) throws CommandException {
    return runner.check(Command.of(T, argv)).stdout();
  }

  private void quietly(String... argv) {
    try {
      run(argv);
    } catch (CommandException e) {
      System.err.println("cleanup: " + e.getMessage()); // the test's own failure matters more
    }
  }
}
