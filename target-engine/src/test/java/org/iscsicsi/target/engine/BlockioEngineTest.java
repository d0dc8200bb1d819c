package org.iscsicsi.target.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.login.LoginPolicy;
import org.iscsicsi.target.lun.LoopDevice;
import org.iscsicsi.target.registry.BackendSpec;
import org.iscsicsi.target.testing.Exec;
import org.iscsicsi.target.v1.BackendCapacity;
import org.iscsicsi.target.v1.CreateLunRequest;
import org.iscsicsi.target.v1.CreateSnapshotRequest;
import org.iscsicsi.target.v1.CreateTargetRequest;
import org.iscsicsi.target.v1.GetEngineInfoRequest;
import org.iscsicsi.target.v1.GrantInitiatorRequest;
import org.iscsicsi.target.v1.LunRef;
import org.iscsicsi.target.v1.ResizeLunRequest;
import org.iscsicsi.target.v1.TargetAdminGrpc;
import org.iscsicsi.target.v1.TargetAdminGrpc.TargetAdminBlockingStub;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A LUN on a whole block device ({@code --backend disk0=blockio:/dev/loopN}, a real loop device)
 * served to libiscsi's tools: READ CAPACITY(16) gives the LUN's size, iscsi-test-cu's WRITE(16),
 * READ(16) with DPO/FUA, WRITE SAME(16), SYNCHRONIZE CACHE(16) and UNMAP cases pass on it and the
 * data lands on the device; a clone onto the file backend has the device's bytes; the backend's
 * capacity in GetEngineInfo (the whole device, none free once its LUN is made); a second LUN, a
 * thin LUN, a snapshot and growing past the device refused with their reasons; a device with a
 * filesystem on it refused; an engine restarted on the same state serves the same bytes.
 */
class BlockioEngineTest {

  static final String T = "iqn.2026-11.org.example:blockio";
  static final String T2 = "iqn.2026-11.org.example:files";
  static final String INI = "iqn.2026-11.org.example:libiscsi";
  static final String INI2 = "iqn.2026-11.org.example:libiscsi2";
  static final Duration TOOL = Duration.ofMinutes(2);
  static final long MIB = 1 << 20;

  @TempDir Path dir;
  private LoopDevice loop;

  @BeforeEach
  void attach() throws Exception {
    assumeThat(LoopDevice.unavailableReason()).as("loop devices").isEmpty();
    assumeThat(Exec.available("iscsi-test-cu") && Exec.available("iscsi-readcapacity16"))
        .as("libiscsi-bin installed").isTrue();
    loop = LoopDevice.attach(dir.resolve("disk.img"), 64 * MIB);
  }

  @AfterEach
  void detach() throws Exception {
    if (loop != null) {
      loop.close();
    }
  }

  private TargetEngine start(Path device) throws Exception {
    return TargetEngine.start(EngineConfig.of(dir.resolve("state"))
        .withPortal(new HostPort("127.0.0.1", 0))
        .withLogin(LoginSettings.defaults().withPolicy(
            LoginPolicy.defaults().withDiscoveryAuth(false)))
        .withBackends(List.of(new BackendOption.Given(BackendSpec.blockio("disk0", device)))));
  }

  private static String url(TargetEngine e, int lun) {
    return "iscsi://127.0.0.1:" + e.iscsiAddress().port() + "/" + T + "/" + lun;
  }

  @Test
  void servesOneThickLunOnTheDeviceAndKeepsItAcrossARestart() throws Exception {
    String digest;
    try (TargetEngine e = start(loop.device)) {
      TargetAdminBlockingStub admin = TargetAdminGrpc.newBlockingStub(e.adminChannel());
      admin.createTarget(CreateTargetRequest.newBuilder().setName(T).build());
      assertThat(code(() -> admin.createLun(lun(0, 32 * MIB).setThick(false).build())))
          .isEqualTo(Status.Code.INVALID_ARGUMENT);
      admin.createLun(lun(0, 32 * MIB).build());
      for (String ini : List.of(INI, INI2)) {
        admin.grantInitiator(GrantInitiatorRequest.newBuilder().setTarget(T).setInitiator(ini)
            .build());
      }
      BackendCapacity disk = admin.getEngineInfo(GetEngineInfoRequest.getDefaultInstance())
          .getBackends(0);
      assertThat(disk.getName()).isEqualTo("disk0");
      assertThat(disk.getType()).isEqualTo("blockio");
      assertThat(disk.getTotalBytes()).isEqualTo(64 * MIB);
      assertThat(disk.getAvailableBytes()).isZero();
      assertThat(disk.getProvisionedBytes()).isEqualTo(32 * MIB);

      var cap = Exec.run(TOOL, "iscsi-readcapacity16", "-i", INI, url(e, 0));
      assertThat(cap.output()).contains("Total size:" + 32 * MIB).contains("LBPME:0");

      var cu = Exec.run(TOOL, "iscsi-test-cu", "--dataloss", "-i", INI, "-I", INI2,
          "--test=SCSI.Write16.Simple,SCSI.Read16.Simple,SCSI.Read16.DpoFua,"
              + "SCSI.Write16.DpoFua,SCSI.WriteSame16.Simple,SCSI.SynchronizeCache16,"
              + "SCSI.Unmap.ZeroBlocks",
          url(e, 0), url(e, 0));
      assertThat(cu.exit()).as(cu.output()).isZero();
      assertThat(cu.output()).doesNotContain("FAILED").contains("passed");
      assertThat(deviceBytesNonZero()).as("the initiator's writes are on the device").isTrue();

      assertThat(code(() -> admin.createLun(lun(1, 8 * MIB).build())))
          .isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      // a clone onto the files: the same bytes, copied from the device (cp cannot)
      admin.createTarget(CreateTargetRequest.newBuilder().setName(T2).build());
      var clone = admin.createLun(CreateLunRequest.newBuilder().setTarget(T2).setLun(0)
          .setSizeBytes(32 * MIB).setBackend("fileio")
          .setCloneOf(LunRef.newBuilder().setTarget(T).setLun(0)).build());
      assertThat(digest(dir.resolve("state/luns/" + clone.getNaa() + ".img"), 32 * MIB))
          .isEqualTo(digest(loop.device, 32 * MIB));
      assertThat(code(() -> admin.createSnapshot(CreateSnapshotRequest.newBuilder().setId("s1")
          .setSource(LunRef.newBuilder().setTarget(T).setLun(0)).build())))
          .isEqualTo(Status.Code.FAILED_PRECONDITION);
      admin.resizeLun(ResizeLunRequest.newBuilder().setTarget(T).setLun(0)
          .setSizeBytes(64 * MIB).build());
      assertThat(code(() -> admin.resizeLun(ResizeLunRequest.newBuilder().setTarget(T).setLun(0)
          .setSizeBytes(128 * MIB).build()))).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      digest = digest(loop.device, 64 * MIB);
    }
    try (TargetEngine e = start(loop.device)) {
      var cap = Exec.run(TOOL, "iscsi-readcapacity16", "-i", INI, url(e, 0));
      assertThat(cap.output()).contains("Total size:" + 64 * MIB);
      assertThat(digest(loop.device, 64 * MIB)).isEqualTo(digest);
    }
  }

  @Test
  void refusesADeviceThatCarriesAFilesystem() throws Exception {
    assumeThat(Exec.available("mkfs.ext4")).as("e2fsprogs installed").isTrue();
    var mkfs = Exec.run(TOOL, "mkfs.ext4", "-q", "-F", loop.device.toString());
    assertThat(mkfs.exit()).as(mkfs.output()).isZero();
    try (TargetEngine e = start(loop.device)) {
      TargetAdminBlockingStub admin = TargetAdminGrpc.newBlockingStub(e.adminChannel());
      admin.createTarget(CreateTargetRequest.newBuilder().setName(T).build());
      assertThatThrownBy(() -> admin.createLun(lun(0, 8 * MIB).build()))
          .isInstanceOfSatisfying(StatusRuntimeException.class, x -> assertThat(
              x.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION))
          .hasMessageContaining("is not empty").hasMessageContaining("ext4");
    }
    var fsck = Exec.run(TOOL, "blkid", "-p", loop.device.toString());
    assertThat(fsck.output()).as("nothing was written to it").contains("ext4");
  }

  private static CreateLunRequest.Builder lun(int n, long size) {
    return CreateLunRequest.newBuilder().setTarget(T).setLun(n).setSizeBytes(size)
        .setThick(true).setBackend("disk0");
  }

  private static Status.Code code(Runnable call) {
    try {
      call.run();
    } catch (StatusRuntimeException e) {
      return e.getStatus().getCode();
    }
    throw new AssertionError("no error");
  }

  private boolean deviceBytesNonZero() throws Exception {
    try (FileChannel ch = FileChannel.open(loop.image, StandardOpenOption.READ)) {
      var b = java.nio.ByteBuffer.allocate((int) MIB);
      for (long at = 0; at < ch.size(); at += MIB) {
        b.clear();
        ch.read(b, at);
        for (int i = 0; i < b.position(); i++) {
          if (b.get(i) != 0) {
            return true;
          }
        }
      }
      return false;
    }
  }

  /** SHA-256 of the first {@code length} bytes of a file or device. */
  private static String digest(Path path, long length) throws Exception {
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
      var b = java.nio.ByteBuffer.allocate((int) MIB);
      for (long at = 0; at < length; at += MIB) {
        b.clear();
        while (b.hasRemaining() && ch.read(b, at + b.position()) > 0) {
          // fill the piece
        }
        sha.update(b.flip());
      }
    }
    return HexFormat.of().formatHex(sha.digest());
  }
}
