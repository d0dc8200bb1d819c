package org.iscsicsi.node.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.iscsicsi.csi.exec.ProcessCommandRunner;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pins the filesystem layer on real loop devices with the real blkid, mkfs, e2fsck, mount,
 * resize2fs, xfs_growfs, tune2fs and xfs_admin: blank detection, format, mount by UUID, read-only
 * bind, online growth of ext4 and xfs, UUID regeneration of a byte-for-byte copy, statvfs.
 */
class FilesystemsTest {

  static final long MB = 1024 * 1024;
  private final Filesystems fs = new Filesystems(new ProcessCommandRunner(),
      Duration.ofSeconds(30), Duration.ofSeconds(120));

  @TempDir Path tmp;

  @BeforeAll
  static void root() {
    LoopDevice.assumeAvailable();
  }

  @Test
  void blankDiskFormatsAndMountsByUuid() throws Exception {
    try (LoopDevice d = LoopDevice.create(tmp, "a", 64 * MB)) {
      assertThat(fs.probe(d.device()).blank()).isTrue();
      fs.format(d.device(), "ext4");
      FsProbe p = fs.probe(d.device());
      assertThat(p.type()).contains("ext4");
      assertThat(p.uuid()).isPresent();
      fs.checkExt4(d.device());
      Path mnt = Files.createDirectories(tmp.resolve("m"));
      fs.mountByUuid(p.uuid().get(), mnt, "ext4", List.of("noatime"));
      try {
        var e = MountTable.read(Path.of("/proc/self/mountinfo")).at(mnt).orElseThrow();
        assertThat(e.source()).isEqualTo(d.device().toString());
        assertThat(e.options()).contains("noatime");
        Files.writeString(mnt.resolve("f"), "data");
        StatVfs st = StatVfs.of(mnt);
        assertThat(st.totalBytes()).isBetween(40 * MB, 64 * MB);
        assertThat(st.usedBytes()).isPositive();
        assertThat(st.totalInodes()).isPositive();
        assertThat(st.usedInodes()).isGreaterThanOrEqualTo(12);
        assertThat(st.readOnly()).isFalse();

        Path ro = Files.createDirectories(tmp.resolve("ro"));
        fs.bind(mnt, ro, List.of("nosuid", "nodev", "ro"));
        try {
          var bound = MountTable.read(Path.of("/proc/self/mountinfo")).at(ro).orElseThrow();
          assertThat(bound.options()).contains("nosuid", "nodev", "ro");
          assertThat(Files.readString(ro.resolve("f"))).isEqualTo("data");
          assertThat(StatVfs.of(ro).readOnly()).isTrue();
          assertThatThrownBy(() -> Files.writeString(ro.resolve("g"), "x"))
              .hasMessageContaining("Read-only");
        } finally {
          fs.unmount(ro);
        }
      } finally {
        fs.unmount(mnt);
      }
    }
  }

  @Test
  void aDiskWithAPartitionTableIsNotBlank() throws Exception {
    try (LoopDevice d = LoopDevice.create(tmp, "p", 16 * MB)) {
      // A DOS partition table: the 0x55AA signature and one partition entry.
      byte[] mbr = new byte[512];
      mbr[446 + 4] = (byte) 0x83;
      mbr[446 + 8] = 8;
      mbr[446 + 12] = 16;
      mbr[510] = 0x55;
      mbr[511] = (byte) 0xaa;
      try (var ch = java.nio.channels.FileChannel.open(d.device(),
          java.nio.file.StandardOpenOption.WRITE)) {
        ch.write(java.nio.ByteBuffer.wrap(mbr), 0);
      }
      FsProbe p = fs.probe(d.device());
      assertThat(p.blank()).isFalse();
      assertThat(p.ptType()).contains("dos");
    }
  }

  /** Whether this process has CAP_SYS_RESOURCE, which online ext4 growth needs. */
  static boolean hasCapSysResource() throws Exception {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("CapEff:")) {
        return (Long.parseUnsignedLong(line.substring(7).strip(), 16) & (1L << 24)) != 0;
      }
    }
    return false;
  }

  @Test
  void growsExt4Offline() throws Exception {
    try (LoopDevice d = LoopDevice.create(tmp, "go", 64 * MB)) {
      fs.format(d.device(), "ext4");
      d.grow(128 * MB);
      fs.growExt4(d.device(), false);
      Path mnt = Files.createDirectories(tmp.resolve("m"));
      fs.mountByUuid(fs.probe(d.device()).uuid().orElseThrow(), mnt, "ext4", List.of());
      try {
        assertThat(StatVfs.of(mnt).totalBytes()).isGreaterThan(100 * MB);
      } finally {
        fs.unmount(mnt);
      }
    }
  }

  @Test
  void onlineExt4GrowthWithoutCapSysResourceSaysWhatToDo() throws Exception {
    Assumptions.assumeFalse(hasCapSysResource(), "this process has CAP_SYS_RESOURCE");
    try (LoopDevice d = LoopDevice.create(tmp, "gp", 64 * MB)) {
      fs.format(d.device(), "ext4");
      Path mnt = Files.createDirectories(tmp.resolve("m"));
      fs.mountByUuid(fs.probe(d.device()).uuid().orElseThrow(), mnt, "ext4", List.of());
      try {
        d.grow(128 * MB);
        assertThatThrownBy(() -> fs.growExt4(d.device(), true))
            .hasMessageContaining("needs CAP_SYS_RESOURCE");
      } finally {
        fs.unmount(mnt);
      }
    }
  }

  @Test
  void growsExt4Online() throws Exception {
    Assumptions.assumeTrue(hasCapSysResource(),
        "online ext4 growth needs CAP_SYS_RESOURCE, which this container lacks");
    try (LoopDevice d = LoopDevice.create(tmp, "g", 64 * MB)) {
      fs.format(d.device(), "ext4");
      Path mnt = Files.createDirectories(tmp.resolve("m"));
      fs.mountByUuid(fs.probe(d.device()).uuid().orElseThrow(), mnt, "ext4", List.of());
      try {
        long before = StatVfs.of(mnt).totalBytes();
        d.grow(128 * MB);
        fs.growExt4(d.device(), true);
        assertThat(StatVfs.of(mnt).totalBytes()).isGreaterThan(before + 50 * MB);
      } finally {
        fs.unmount(mnt);
      }
    }
  }

  @Test
  void growsXfsOnline() throws Exception {
    try (LoopDevice d = LoopDevice.create(tmp, "x", 320 * MB)) {
      fs.format(d.device(), "xfs");
      assertThat(fs.probe(d.device()).type()).contains("xfs");
      Path mnt = Files.createDirectories(tmp.resolve("m"));
      fs.mountByUuid(fs.probe(d.device()).uuid().orElseThrow(), mnt, "xfs", List.of());
      try {
        long before = StatVfs.of(mnt).totalBytes();
        d.grow(480 * MB);
        fs.growXfs(mnt);
        assertThat(StatVfs.of(mnt).totalBytes()).isGreaterThan(before + 100 * MB);
      } finally {
        fs.unmount(mnt);
      }
    }
  }

  @Test
  void regeneratesTheUuidOfACopy() throws Exception {
    for (String type : List.of("ext4", "xfs")) {
      long size = type.equals("xfs") ? 320 * MB : 64 * MB;
      try (LoopDevice src = LoopDevice.create(tmp, "src-" + type, size)) {
        fs.format(src.device(), type);
        String uuid = fs.probe(src.device()).uuid().orElseThrow();
        Path copyFile = tmp.resolve("copy-" + type + ".img");
        Files.copy(src.file(), copyFile);
        try (LoopDevice copy = LoopDevice.attach(copyFile, 0)) {
          assertThat(fs.devicesWithUuid(uuid)).contains(src.device(), copy.device());
          fs.regenerateUuid(copy.device(), type);
          String fresh = fs.probe(copy.device()).uuid().orElseThrow();
          assertThat(fresh).isNotEqualTo(uuid);
          assertThat(fs.devicesWithUuid(uuid)).containsExactly(src.device());
        }
      }
    }
  }

  @Test
  void badInputIsRefusedBeforeAnythingRuns() {
    assertThatThrownBy(() -> fs.format(Path.of("/dev/loop0"), "btrfs"))
        .hasMessageContaining("unsupported filesystem type 'btrfs'");
    assertThatThrownBy(() -> fs.mountByUuid("x;rm", tmp, "ext4", List.of()))
        .hasMessageContaining("not a filesystem UUID");
    assertThatThrownBy(() -> fs.mountByUuid("0a3b5c1d-1111-2222-3333-444455556666", tmp, "ext4",
        List.of("-o"))).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> fs.probe(Path.of("relative"))).isInstanceOf(
        IllegalArgumentException.class);
  }

  @Test
  void mountErrorsCarryStderr() throws Exception {
    Path mnt = Files.createDirectories(tmp.resolve("m"));
    assertThatThrownBy(() -> fs.mountByUuid("0a3b5c1d-1111-2222-3333-444455556666", mnt, "ext4",
        List.of())).isInstanceOf(FsException.class).hasMessageContaining("mount")
        .hasMessageContaining("exited");
  }
}
