package org.iscsicsi.node.fs;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Pins /proc/self/mountinfo parsing: optional fields, octal escapes in paths, the topmost of
 * stacked mounts, and read-only detection from per-mount or superblock options (the state a
 * filesystem is in after errors=remount-ro).
 */
class MountTableTest {

  // CHECKSTYLE.OFF: LineLength - mountinfo lines as the kernel writes them
  static final String SAMPLE = """
      22 27 0:21 / /proc rw,relatime - proc proc rw
      36 27 7:0 / /var/lib/kubelet/plugins/kubernetes.io/csi/x/globalmount rw,relatime shared:5 - ext4 /dev/loop0 rw
      37 27 7:0 / /var/lib/kubelet/pods/p/volumes/kubernetes.io~csi/pvc\\0401/mount ro,relatime shared:5 - ext4 /dev/loop0 rw
      38 27 8:16 / /mnt/s rw,relatime - ext4 /dev/sdb ro,errors=remount-ro
      39 38 8:32 / /mnt/s rw,relatime - xfs /dev/sdc rw,attr2
      """;
  // CHECKSTYLE.ON: LineLength

  @Test
  void parsesEntries() {
    var t = MountTable.parse(SAMPLE);
    assertThat(t.entries()).hasSize(5);
    var g = t.at(Path.of("/var/lib/kubelet/plugins/kubernetes.io/csi/x/globalmount")).orElseThrow();
    assertThat(g.majorMinor()).isEqualTo("7:0");
    assertThat(g.fsType()).isEqualTo("ext4");
    assertThat(g.source()).isEqualTo("/dev/loop0");
    assertThat(g.readOnly()).isFalse();
  }

  @Test
  void unescapesPathsAndSeesReadOnly() {
    var t = MountTable.parse(SAMPLE);
    var pub = t.at(Path.of("/var/lib/kubelet/pods/p/volumes/kubernetes.io~csi/pvc 1/mount"));
    assertThat(pub).hasValueSatisfying(e -> assertThat(e.readOnly()).isTrue());
    assertThat(t.ofDevice("7:0")).hasSize(2);
  }

  @Test
  void topmostMountWinsAndSuperblockReadOnlyCounts() {
    var t = MountTable.parse(SAMPLE);
    assertThat(t.at(Path.of("/mnt/s")).orElseThrow().fsType()).isEqualTo("xfs");
    assertThat(t.ofDevice("8:16").getFirst().readOnly()).isTrue();
  }

  @Test
  void readsTheRealTable() throws Exception {
    var t = MountTable.read(Path.of("/proc/self/mountinfo"));
    assertThat(t.at(Path.of("/proc"))).hasValueSatisfying(e -> assertThat(e.fsType())
        .isEqualTo("proc"));
  }
}
