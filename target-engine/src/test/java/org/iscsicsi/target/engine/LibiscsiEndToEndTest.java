package org.iscsicsi.target.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.nio.file.Path;
import java.time.Duration;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.login.LoginPolicy;
import org.iscsicsi.target.testing.Exec;
import org.iscsicsi.target.v1.CreateLunRequest;
import org.iscsicsi.target.v1.CreateTargetRequest;
import org.iscsicsi.target.v1.GrantInitiatorRequest;
import org.iscsicsi.target.v1.Lun;
import org.iscsicsi.target.v1.ResizeLunRequest;
import org.iscsicsi.target.v1.SetChapRequest;
import org.iscsicsi.target.v1.TargetAdminGrpc;
import org.iscsicsi.target.v1.TargetAdminGrpc.TargetAdminBlockingStub;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end with libiscsi's tools (package libiscsi-bin) against an engine configured only
 * through the admin API: discovery shows exactly the granted targets with their LUNs, INQUIRY VPD
 * pages 0x80/0x83 carry the serial and NAA the admin API reported, READ CAPACITY(16) follows a
 * resize, CHAP and mutual CHAP logins succeed with the right secrets and fail with wrong ones, an
 * initiator outside the grants neither discovers nor logs in, and an engine restarted on the same
 * state directory serves the same LUN identities.
 */
class LibiscsiEndToEndTest {

  static final String T = "iqn.2026-11.org.example:e2e";
  static final String HIDDEN = "iqn.2026-11.org.example:hidden";
  static final String INI = "iqn.2026-11.org.example:libiscsi";
  static final String STRANGER = "iqn.2026-11.org.example:stranger";
  static final Duration TOOL = Duration.ofSeconds(30);

  @TempDir
  Path dir;

  @BeforeEach
  void tools() {
    assumeThat(Exec.available("iscsi-ls") && Exec.available("iscsi-inq")
        && Exec.available("iscsi-readcapacity16")).as("libiscsi-bin installed").isTrue();
  }

  static Exec.Result tool(String... argv) throws Exception {
    return Exec.run(TOOL, argv);
  }

  TargetEngine start() throws Exception {
    return TargetEngine.start(EngineConfig.of(dir.resolve("state"))
        .withPortal(new HostPort("127.0.0.1", 0))
        // iscsi-ls discovers without CHAP here; LoginHardeningTest pins the required default
        .withLogin(LoginSettings.defaults().withPolicy(
            LoginPolicy.defaults().withDiscoveryAuth(false))));
  }

  static String url(TargetEngine e, String target, int lun) {
    return "iscsi://127.0.0.1:" + e.iscsiAddress().port() + "/" + target + "/" + lun;
  }

  @Test
  void discoveryInquiryCapacityAndRestart() throws Exception {
    Lun lun;
    String naa;
    try (TargetEngine e = start()) {
      TargetAdminBlockingStub admin = TargetAdminGrpc.newBlockingStub(e.adminChannel());
      admin.createTarget(CreateTargetRequest.newBuilder().setName(T).setAlias("e2e").build());
      admin.createTarget(CreateTargetRequest.newBuilder().setName(HIDDEN).build());
      lun = admin.createLun(CreateLunRequest.newBuilder().setTarget(T).setLun(0)
          .setSizeBytes(64 << 20).build());
      admin.createLun(CreateLunRequest.newBuilder().setTarget(T).setLun(3)
          .setSizeBytes(16 << 20).setBlockSize(4096).build());
      admin.grantInitiator(GrantInitiatorRequest.newBuilder().setTarget(T).setInitiator(INI)
          .build());
      String portal = "iscsi://127.0.0.1:" + e.iscsiAddress().port();

      var ls = tool("iscsi-ls", "-s", "-i", INI, portal);
      assertThat(ls.exit()).as(ls.output()).isZero();
      assertThat(ls.output()).contains("Target:" + T + " Portal:127.0.0.1:"
          + e.iscsiAddress().port() + ",1").doesNotContain(HIDDEN)
          // iscsi-ls prints (last LBA * block size) in MiB, one block short: 63M for 64 MiB
          .contains("Lun:0").contains("Lun:3").contains("Size:63M").contains("Size:15M");
      var strangerLs = tool("iscsi-ls", "-s", "-i", STRANGER, portal);
      assertThat(strangerLs.output()).doesNotContain(T).doesNotContain(HIDDEN);
      var strangerInq = tool("iscsi-inq", "-i", STRANGER, url(e, T, 0));
      assertThat(strangerInq.exit()).as(strangerInq.output()).isNotZero();

      var serial = tool("iscsi-inq", "-i", INI, "-e", "1", "-c", "128", url(e, T, 0));
      assertThat(serial.exit()).as(serial.output()).isZero();
      assertThat(serial.output()).contains(lun.getSerial());
      var ids = tool("iscsi-inq", "-i", INI, "-e", "1", "-c", "131", url(e, T, 0));
      assertThat(ids.exit()).as(ids.output()).isZero();
      naa = lun.getNaa();
      assertThat(ids.output()).containsIgnoringCase("designator type:(3) naa");
      assertThat(ids.containsBytes(printed(naa))).isTrue();

      var cap = tool("iscsi-readcapacity16", "-i", INI, url(e, T, 3));
      assertThat(cap.output()).contains("LOGICAL BLOCK LENGTH IN BYTES:4096")
          .contains("Total size:16777216");
      admin.resizeLun(ResizeLunRequest.newBuilder().setTarget(T).setLun(0)
          .setSizeBytes(128 << 20).build());
      var grown = tool("iscsi-readcapacity16", "-i", INI, url(e, T, 0));
      assertThat(grown.output()).contains("Total size:134217728");
    }
    try (TargetEngine e = start()) {
      var serial = tool("iscsi-inq", "-i", INI, "-e", "1", "-c", "128", url(e, T, 0));
      assertThat(serial.output()).contains(lun.getSerial());
      var ids = tool("iscsi-inq", "-i", INI, "-e", "1", "-c", "131", url(e, T, 0));
      assertThat(ids.output()).containsIgnoringCase("designator type:(3) naa");
      assertThat(ids.containsBytes(printed(naa))).isTrue();
      var cap = tool("iscsi-readcapacity16", "-i", INI, url(e, T, 0));
      assertThat(cap.output()).contains("Total size:134217728");
      var strangerInq = tool("iscsi-inq", "-i", STRANGER, url(e, T, 0));
      assertThat(strangerInq.exit()).isNotZero();
    }
  }

  /**
   * The NAA designator as iscsi-inq shows it: raw bytes printed as a C string, so up to the first
   * zero byte (the first four bytes, NAA 6 and our company id, are never zero).
   */
  static byte[] printed(String naaHex) {
    byte[] b = java.util.HexFormat.of().parseHex(naaHex);
    int n = 0;
    while (n < b.length && b[n] != 0) {
      n++;
    }
    return java.util.Arrays.copyOf(b, n);
  }

  @Test
  void chapAndMutualChap() throws Exception {
    try (TargetEngine e = start()) {
      TargetAdminBlockingStub admin = TargetAdminGrpc.newBlockingStub(e.adminChannel());
      admin.createTarget(CreateTargetRequest.newBuilder().setName(T).build());
      admin.createLun(CreateLunRequest.newBuilder().setTarget(T).setLun(0)
          .setSizeBytes(1 << 20).build());
      admin.grantInitiator(GrantInitiatorRequest.newBuilder().setTarget(T).setInitiator("ALL")
          .build());
      admin.setChap(SetChapRequest.newBuilder().setTarget(T).setUser("alice")
          .setPassword("alice-secret-123").build());
      String hp = "127.0.0.1:" + e.iscsiAddress().port();
      String good = "iscsi://alice%alice-secret-123@" + hp + "/" + T + "/0";
      String bad = "iscsi://alice%wrong-secret-123@" + hp + "/" + T + "/0";
      String none = "iscsi://" + hp + "/" + T + "/0";
      assertThat(tool("iscsi-readcapacity16", "-i", INI, good).exit()).isZero();
      assertThat(tool("iscsi-readcapacity16", "-i", INI, bad).exit()).isNotZero();
      assertThat(tool("iscsi-readcapacity16", "-i", INI, none).exit()).isNotZero();

      admin.setChap(SetChapRequest.newBuilder().setTarget(T).setUser("alice")
          .setPassword("alice-secret-123").setMutualUser("tgt")
          .setMutualPassword("target-secret-456").build());
      var mutual = tool("iscsi-readcapacity16", "-i", INI,
          good + "?target_user=tgt&target_password=target-secret-456");
      assertThat(mutual.exit()).as(mutual.output()).isZero();
      var wrongMutual = tool("iscsi-readcapacity16", "-i", INI,
          good + "?target_user=tgt&target_password=not-the-secret");
      assertThat(wrongMutual.exit()).as(wrongMutual.output()).isNotZero();
    }
  }
}
