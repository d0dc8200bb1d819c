package org.iscsicsi.node.device;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.iscsicsi.node.iscsi.Portal;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pins finding an iSCSI LUN's disk: through the by-path link udev makes, and through sysfs when
 * there is no udev (session → target → H:C:T:L → block). The tree is the kernel's layout in a
 * temporary directory because this host's kernel has no SCSI layer; the VM tier uses real sysfs.
 */
class IscsiDisksTest {

  @TempDir Path root;

  private static final String IQN = "iqn.2026-11.org.iscsicsi:pvc-1";

  private Sysfs layout() throws Exception {
    Path sys = root.resolve("sys");
    Path s = Files.createDirectories(sys.resolve("class/iscsi_session/session3"));
    Files.writeString(s.resolve("targetname"), IQN + "\n");
    Files.writeString(s.resolve("state"), "LOGGED_IN\n");
    Files.createDirectories(s.resolve("device/target2:0:0/2:0:0:0/block/sdb"));
    Files.createDirectories(s.resolve("device/target2:0:0/2:0:0:1/block/sdc"));
    Path c = Files.createDirectories(sys.resolve("class/iscsi_connection/connection3:0"));
    Files.writeString(c.resolve("persistent_address"), "10.0.2.2\n");
    Files.writeString(c.resolve("persistent_port"), "3260\n");
    return new Sysfs(sys, Files.createDirectories(root.resolve("dev")));
  }

  @Test
  void findsTheLunThroughSysfs() throws Exception {
    var disks = new IscsiDisks(layout());
    Portal p = new Portal("10.0.2.2", 3260);
    assertThat(disks.find(IQN, p, 0)).contains(root.resolve("dev/sdb"));
    assertThat(disks.find(IQN, p, 1)).contains(root.resolve("dev/sdc"));
    assertThat(disks.find(IQN, p, 2)).isEmpty();
    assertThat(disks.find(IQN, new Portal("10.0.2.3", 3260), 0)).isEmpty();
    assertThat(disks.find("iqn.2026-11.org.iscsicsi:other", p, 0)).isEmpty();
    assertThat(disks.session(IQN, p)).hasValueSatisfying(s -> {
      assertThat(s.loggedIn()).isTrue();
      assertThat(s.portal()).contains(p);
    });
  }

  @Test
  void prefersTheByPathLink() throws Exception {
    Sysfs sysfs = layout();
    Path sdd = Files.createFile(sysfs.devRoot().resolve("sdd"));
    Path byPath = Files.createDirectories(sysfs.devRoot().resolve("disk/by-path"));
    Files.createSymbolicLink(byPath.resolve("ip-10.0.2.2:3260-iscsi-" + IQN + "-lun-0"),
        Path.of("../../sdd"));
    assertThat(new IscsiDisks(sysfs).find(IQN, new Portal("10.0.2.2", 3260), 0))
        .contains(sdd.toRealPath());
  }

  @Test
  void noSessionsIsEmpty() {
    var disks = new IscsiDisks(new Sysfs(root.resolve("nosys"), root.resolve("nodev")));
    assertThat(disks.sessions()).isEmpty();
    assertThat(disks.find(IQN, new Portal("10.0.2.2", 3260), 0)).isEmpty();
  }
}
