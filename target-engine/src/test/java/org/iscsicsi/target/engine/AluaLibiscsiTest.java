package org.iscsicsi.target.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.nio.file.Path;
import java.time.Duration;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.login.LoginPolicy;
import org.iscsicsi.target.testing.Exec;
import org.iscsicsi.target.v1.AluaState;
import org.iscsicsi.target.v1.CreateLunRequest;
import org.iscsicsi.target.v1.CreateTargetRequest;
import org.iscsicsi.target.v1.GrantInitiatorRequest;
import org.iscsicsi.target.v1.SetAluaStatesRequest;
import org.iscsicsi.target.v1.TargetAdminGrpc;
import org.iscsicsi.target.v1.TargetAdminGrpc.TargetAdminBlockingStub;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ALUA seen by libiscsi's tools (libiscsi-bin) and qemu's libiscsi driver (qemu-utils,
 * qemu-block-extra) against a running engine configured through the admin API: SendTargets
 * reports the target's portal group tag, standard INQUIRY has TPGS 01b and VPD 83h the target port
 * name with that tag and the relative target port and target port group
 * designators; media access works while the port is active/optimized; in standby and
 * unavailable libiscsi's connect (which ends with TEST UNIT READY) reports NOT READY 04h/0Bh and
 * 04h/0Ch; after SetAluaStates turns the port back to active/optimized reads work again.
 */
class AluaLibiscsiTest {

  static final String T = "iqn.2026-11.org.example:alua";
  static final String INI = "iqn.2026-11.org.example:libiscsi";
  static final Duration TOOL = Duration.ofSeconds(30);
  static final int SLOT = 2;

  @TempDir
  Path dir;

  @BeforeEach
  void tools() throws Exception {
    assumeThat(Exec.available("iscsi-ls") && Exec.available("iscsi-inq")
        && Exec.available("iscsi-readcapacity16")).as("libiscsi-bin installed").isTrue();
    assumeThat(Exec.available("qemu-io")).as("qemu-utils installed").isTrue();
    assumeThat(Exec.qemuIscsiDriver()).as("qemu-block-extra (qemu's iscsi driver) installed")
        .isTrue();
  }

  static Exec.Result tool(String... argv) throws Exception {
    return Exec.run(TOOL, argv);
  }

  @Test
  void portGroupsSeenByLibiscsi() throws Exception {
    try (TargetEngine e = TargetEngine.start(EngineConfig.of(dir.resolve("state"))
        .withPortal(new HostPort("127.0.0.1", 0))
        .withLogin(LoginSettings.defaults().withPolicy(
            LoginPolicy.defaults().withDiscoveryAuth(false))))) {
      TargetAdminBlockingStub admin = TargetAdminGrpc.newBlockingStub(e.adminChannel());
      admin.createTarget(CreateTargetRequest.newBuilder().setName(T).setPortalGroupTag(SLOT)
          .build());
      admin.createLun(CreateLunRequest.newBuilder().setTarget(T).setLun(0)
          .setSizeBytes(16 << 20).setPortSlot(SLOT).build());
      admin.grantInitiator(GrantInitiatorRequest.newBuilder().setTarget(T).setInitiator(INI)
          .build());
      String portal = "127.0.0.1:" + e.iscsiAddress().port();
      String url = "iscsi://" + portal + "/" + T + "/0";

      var ls = tool("iscsi-ls", "-i", INI, "iscsi://" + portal);
      assertThat(ls.output()).as("SendTargets TPGT").contains("Target:" + T + " Portal:"
          + portal + "," + SLOT);
      var inq = tool("iscsi-inq", "-i", INI, url);
      assertThat(inq.exit()).as(inq.output()).isZero();
      assertThat(inq.output()).as("implicit ALUA").contains("TPGS:1");
      var ids = tool("iscsi-inq", "-i", INI, "-e", "1", "-c", "131", url);
      assertThat(ids.output()).contains("Designator:[" + T + ",t,0x0002]")
          .contains("Designator Type:(5) TARGET_PORT_GROUP")
          .contains("Designator Type:(4) RELATIVE_TARGET_PORT");

      assertThat(read(url).exit()).as("read while active/optimized").isZero();
      admin.setAluaStates(SetAluaStatesRequest.newBuilder().setTarget(T).setLun(0)
          .putStates(1, AluaState.ALUA_ACTIVE_OPTIMIZED).putStates(SLOT, AluaState.ALUA_STANDBY)
          .build());
      var refused = read(url);
      assertThat(refused.exit()).as("read in standby: " + refused.output()).isNotZero();
      // libiscsi's connect ends with TEST UNIT READY, which a standby port answers with NOT
      // READY, TARGET PORT IN STANDBY STATE: its tools report that sense and stop there
      var cap = tool("iscsi-readcapacity16", "-i", INI, url);
      assertThat(cap.exit()).isNotZero();
      assertThat(cap.output()).as("the standby sense").contains("NOT READY").contains("0x040b");
      admin.setAluaStates(SetAluaStatesRequest.newBuilder().setTarget(T).setLun(0)
          .putStates(1, AluaState.ALUA_ACTIVE_OPTIMIZED)
          .putStates(SLOT, AluaState.ALUA_UNAVAILABLE).build());
      assertThat(tool("iscsi-readcapacity16", "-i", INI, url).output()).as("unavailable sense")
          .contains("0x040c");
      admin.setAluaStates(SetAluaStatesRequest.newBuilder().setTarget(T).setLun(0)
          .putStates(1, AluaState.ALUA_STANDBY).putStates(SLOT, AluaState.ALUA_ACTIVE_OPTIMIZED)
          .build());
      var back = read(url);
      assertThat(back.exit()).as("read after the swap: " + back.output()).isZero();
    }
  }

  private static Exec.Result read(String url) throws Exception {
    return tool("qemu-io", "--image-opts", "-c", "read 0 64k",
        "driver=iscsi,transport=tcp,portal=" + url.substring(8, url.indexOf('/', 8))
            + ",target=" + T + ",lun=0,initiator-name=" + INI);
  }
}
