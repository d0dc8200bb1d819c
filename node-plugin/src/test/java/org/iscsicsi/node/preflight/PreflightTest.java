package org.iscsicsi.node.preflight;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.iscsicsi.node.iscsi.InitiatorName;
import org.iscsicsi.node.multipath.MultipathConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pins the host preflight: iscsid is found by its abstract control socket in /proc/net/unix
 * (also when systemd holds it for socket activation), a missing initiator name, a running
 * multipathd without this driver's device stanza (docs/replication.md section 7; a drop-in in
 * conf.d counts), one whose blacklist rules out replicated volumes, one with find_multipaths no,
 * and missing tools each produce a message saying what to do; a ready host produces none. /proc
 * is a prepared tree laid out as the kernel's, so that each condition can be set up here.
 */
class PreflightTest {

  @TempDir Path tmp;

  private Path proc(boolean iscsid, boolean multipathd) throws Exception {
    Path proc = Files.createDirectories(tmp.resolve("proc"));
    Files.createDirectories(proc.resolve("net"));
    String unix = "Num       RefCount Protocol Flags    Type St Inode Path\n"
        + "0000000000000000: 00000002 00000000 00010000 0001 01 20480 /run/systemd/notify\n"
        + (iscsid ? "0000000000000000: 00000002 00000000 00010000 0001 01 31337 "
            + "@ISCSIADM_ABSTRACT_NAMESPACE\n" : "");
    Files.writeString(proc.resolve("net/unix"), unix);
    Files.createDirectories(proc.resolve("1"));
    Files.writeString(proc.resolve("1/comm"), "systemd\n");
    if (multipathd) {
      Files.createDirectories(proc.resolve("812"));
      Files.writeString(proc.resolve("812/comm"), "multipathd\n");
    }
    return proc;
  }

  private Preflight preflight(Path proc, String iscsiadm) throws Exception {
    Path name = tmp.resolve("initiatorname.iscsi");
    return new Preflight(proc, tmp.resolve("multipath.conf"), new InitiatorName(name),
        "/usr/sbin:/usr/bin:/sbin:/bin", iscsiadm);
  }

  @Test
  void aReadyHostHasNoProblems() throws Exception {
    Files.writeString(tmp.resolve("initiatorname.iscsi"), "InitiatorName=iqn.2026-11.org.x:n\n");
    Path fakeIscsiadm = Files.createFile(tmp.resolve("iscsiadm"));
    fakeIscsiadm.toFile().setExecutable(true);
    var p = preflight(proc(true, false), fakeIscsiadm.toString());
    assertThat(p.iscsid()).isEmpty();
    assertThat(p.initiator()).isEmpty();
    assertThat(p.multipath()).isEmpty();
    assertThat(p.tools()).isEmpty(); // mkfs.*, blkid, ... are installed on this machine
  }

  @Test
  void eachProblemSaysWhatToDo() throws Exception {
    var p = preflight(proc(false, true), "/nonexistent/iscsiadm");
    assertThat(p.run()).extracting(Preflight.Problem::toString).anySatisfy(s -> assertThat(s)
        .contains("iscsid is not listening").contains("systemctl enable --now iscsid.socket"))
        .anySatisfy(s -> assertThat(s).contains("initiator-name").contains("iscsi-iname"))
        .anySatisfy(s -> assertThat(s).contains("multipathd is running")
            .contains("vendor \"ISCSICSI\""))
        .anySatisfy(s -> assertThat(s).contains("/nonexistent/iscsiadm not found")
            .contains("open-iscsi"));
  }

  @Test
  void theDeviceStanzaInADropInSatisfiesTheMultipathCheck() throws Exception {
    Path confD = Files.createDirectories(tmp.resolve("multipath/conf.d"));
    Files.writeString(tmp.resolve("multipath.conf"), "defaults {\n  find_multipaths strict\n}\n");
    Files.writeString(confD.resolve("iscsi-csi.conf"), MultipathConfig.STANZA);
    assertThat(preflight(proc(true, true), "iscsiadm").multipath()).isEmpty();
  }

  @Test
  void aBlacklistIsReportedBecauseReplicatedVolumesCannotStageThere() throws Exception {
    Files.writeString(tmp.resolve("multipath.conf"),
        "blacklist {\n  device {\n    vendor \"ISCSICSI\"\n    product \".*\"\n  }\n}\n");
    assertThat(preflight(proc(true, true), "iscsiadm").multipath()).singleElement()
        .satisfies(p -> assertThat(p.message()).contains("replicas=1 stage here")
            .contains("FAILED_PRECONDITION").contains("no_path_retry queue"));
  }

  @Test
  void findMultipathsNoIsReportedItClaimsSinglePathDisks() throws Exception {
    Files.writeString(tmp.resolve("multipath.conf"), "defaults {\n  find_multipaths no\n}\n"
        + MultipathConfig.STANZA);
    assertThat(preflight(proc(true, true), "iscsiadm").multipath()).singleElement()
        .satisfies(p -> assertThat(p.message()).contains("find_multipaths no"));
  }
}
