package org.iscsicsi.controller.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import csi.v1.Csi;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.iscsicsi.controller.testing.TargetEngineLauncher;
import org.iscsicsi.target.testing.Exec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code controller serve} offers its embedded engine's admin API on {@code
 * <state-dir>/admin/admin.sock} (mode 0600, its directory narrowed to 0700 even when it was left
 * group-writable, as Kubernetes' fsGroup leaves a volume), so the real {@code target-engine} CLI
 * administers the controller's engine as tgtadm does tgtd: {@code ls} shows the volume the
 * controller created, {@code lun}, {@code acl} and {@code sessions} work on it, and the socket is
 * gone once the controller stops.
 */
class EmbeddedAdminSocketIT {

  @TempDir Path dir;

  @Test
  void targetEngineCliSeesTheControllersVolumes() throws Exception {
    assumeThat(TargetEngineLauncher.missing()).as("target-engine launcher").isEmpty();
    Path state = dir.resolve("state");
    Path admin = state.resolve("admin/admin.sock");
    // as Kubernetes leaves a volume with fsGroup: group-writable; the controller narrows its own
    Files.createDirectories(admin.getParent(),
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxrwxr-x")));
    Files.setPosixFilePermissions(admin.getParent(), PosixFilePermissions.fromString("rwxrwxr-x"));
    try (ControllerProcess controller = ControllerProcess.start(dir.resolve("csi.sock"), state,
        dir.resolve("controller.log"))) {
      Csi.Volume v = controller.controller.createVolume(Csi.CreateVolumeRequest.newBuilder()
          .setName("pvc-admin").setCapacityRange(Csi.CapacityRange.newBuilder()
              .setRequiredBytes(8 << 20))
          .addVolumeCapabilities(Csi.VolumeCapability.newBuilder()
              .setBlock(Csi.VolumeCapability.BlockVolume.getDefaultInstance())
              .setAccessMode(Csi.VolumeCapability.AccessMode.newBuilder()
                  .setMode(Csi.VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER)))
          .build()).getVolume();
      String iqn = "iqn.2026-11.org.iscsicsi:" + v.getVolumeId();
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(admin)))
          .isEqualTo("rw-------");
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(admin.getParent())))
          .isEqualTo("rwx------");
      String where = "unix:" + admin;

      Exec.Result ls = TargetEngineLauncher.run("ls", "--admin", where);
      assertThat(ls.exit()).as(ls.output()).isZero();
      assertThat(ls.output()).contains(iqn).contains("lun 0: 8 MiB").contains("acl: nobody");

      Exec.Result grant = TargetEngineLauncher.run("acl", "add", iqn,
          "iqn.2026-11.org.example:operator", "--read-only", "--admin", where);
      assertThat(grant.exit()).as(grant.output()).isZero();
      Exec.Result resize = TargetEngineLauncher.run("lun", "resize", iqn, "--lun", "0",
          "--size", "16M", "--admin", where);
      assertThat(resize.exit()).as(resize.output()).isZero();
      assertThat(TargetEngineLauncher.run("ls", "--admin", where).output())
          .contains("lun 0: 16 MiB").contains("iqn.2026-11.org.example:operator (ro)");
      Exec.Result sessions = TargetEngineLauncher.run("sessions", "--admin", where);
      assertThat(sessions.exit()).as(sessions.output()).isZero();
      assertThat(sessions.output()).contains("no sessions");

      controller.stop(); // SIGTERM: the engine closes and removes its socket
    }
    assertThat(admin).doesNotExist();
  }
}
