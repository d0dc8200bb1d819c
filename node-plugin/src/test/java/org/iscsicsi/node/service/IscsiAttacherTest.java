package org.iscsicsi.node.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.iscsicsi.csi.exec.Command;
import org.iscsicsi.csi.exec.CommandException;
import org.iscsicsi.csi.exec.CommandResult;
import org.iscsicsi.csi.exec.CommandRunner;
import org.iscsicsi.node.device.DeviceIdentityTest;
import org.iscsicsi.node.device.Sysfs;
import org.iscsicsi.node.iscsi.Iscsiadm;
import org.iscsicsi.node.iscsi.NodeDatabase;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pins the iSCSI attach and detach sequences: which iscsiadm calls, in which order; that CHAP and
 * mutual CHAP secrets reach the node record file (mode 0600) and never an argv; that discovery
 * refused for want of CHAP is retried with the volume's credentials in the discovery record (or
 * authenticated at once when publish_context says discoveryChap), and falls back to direct login
 * when refused even so; that a disk whose VPD serial is not the volume's is refused and the session
 * logged out and its record deleted; that a CHAP failure is PERMISSION_DENIED and leaves no
 * session; that a portal that refuses or times out is UNAVAILABLE with a hint and no record; that
 * detach logs out by IQN and portal even when the disk is gone; that the portals are tried in
 * order (an unreachable one is cleaned up and passed over, a wrong secret is not tried again on
 * the next; rescans and health checks use the portal the session runs through), and that
 * {@code discovery=none} logs in without SendTargets.
 *
 * <p>iscsiadm is scripted here (and the kernel's sysfs is a temporary tree the script fills on
 * login), because this host's kernel has no SCSI layer: open-iscsi cannot log in on it. The real
 * iscsiadm and kernel run this sequence in the VM tier ({@code NodePluginVmIT}).
 */
class IscsiAttacherTest {

  static final String IQN = "iqn.2026-11.org.iscsicsi:pvc-1";
  @TempDir Path root;
  private Path iscsiDir;
  private boolean discoveryNeedsChap;
  private String recordAtLogin = "";
  private final List<Command> calls = new CopyOnWriteArrayList<>();
  private Sysfs sysfs;
  private CommandRunner script;
  private String diskSerial = "vol-0001";

  @BeforeEach
  void setUp() throws Exception {
    sysfs = new Sysfs(root.resolve("sys"), Files.createDirectories(root.resolve("dev")));
    iscsiDir = root.resolve("etc/iscsi");
    script = this::target;
  }

  /**
   * A healthy target: discovery offers IQN, login makes session1 with LUN 0 as sdb; records are
   * created where open-iscsi 2.1 puts them, with what iscsiadm writes into a new one.
   */
  private CommandResult target(Command c) {
    String line = String.join(" ", c.argv());
    try {
      if (line.contains("-m node") && line.endsWith("-o new")) {
        Path d = Files.createDirectories(iscsiDir.resolve("nodes/" + IQN + "/10.0.2.2,3260,-1"));
        // An existing record is kept, as iscsiadm keeps it: old settings must be replaced.
        if (!Files.exists(d.resolve("default"))) {
          Files.writeString(d.resolve("default"), "# BEGIN RECORD 2.1.8\nnode.name = " + IQN
              + "\nnode.session.auth.authmethod = None\nnode.startup = automatic\n"
              + "# END RECORD\n");
        }
      }
      if (line.contains("-m discoverydb") && line.endsWith("-o new")) {
        Path d = Files.createDirectories(iscsiDir.resolve("send_targets/10.0.2.2,3260"));
        Files.writeString(d.resolve("st_config"), "# BEGIN RECORD 2.1.8\n"
            + "discovery.startup = manual\ndiscovery.type = sendtargets\n# END RECORD\n");
      }
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    if (line.contains("-m discovery") && line.contains("nonpersistent")) {
      if (discoveryNeedsChap && !discoveryRecordHasChap()) {
        return new CommandResult(24, "", "iscsiadm: Login failed to authenticate with target\n"
            + "iscsiadm: discovery login to 10.0.2.2 rejected: initiator failed authorization");
      }
      return new CommandResult(0, "10.0.2.2:3260,1 " + IQN + "\n", "");
    }
    if (line.endsWith("--login")) {
      try {
        recordAtLogin = Files.readString(record());
        Path s = Files.createDirectories(sysfs.sysRoot().resolve("class/iscsi_session/session1"));
        Files.writeString(s.resolve("targetname"), IQN);
        Files.writeString(s.resolve("state"), "LOGGED_IN");
        // The connection's portal, as the kernel shows it: the one logged in through.
        String[] portal = c.argv().get(c.argv().indexOf("-p") + 1).split(":");
        Path conn = Files.createDirectories(
            sysfs.sysRoot().resolve("class/iscsi_connection/connection1:0"));
        Files.writeString(conn.resolve("persistent_address"), portal[0]);
        Files.writeString(conn.resolve("persistent_port"), portal[1]);
        Files.createDirectories(s.resolve("device/target2:0:0/2:0:0:0/block/sdb"));
        Path dev = Files.createDirectories(sysfs.block("sdb").resolve("device"));
        Files.write(dev.resolve("vpd_pg80"), DeviceIdentityTest.pg80(diskSerial));
        Files.writeString(sysfs.block("sdb").resolve("dev"), "8:16");
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
      return new CommandResult(0, "Login to [iface: default, target: " + IQN + "] successful.",
          "");
    }
    if (line.endsWith("--logout")) {
      return new CommandResult(21, "", "iscsiadm: No matching sessions found");
    }
    return new CommandResult(0, "", "");
  }

  private IscsiAttacher attacher(Duration deviceWait) {
    CommandRunner runner = c -> {
      calls.add(c);
      return script.run(c);
    };
    return new IscsiAttacher(new Iscsiadm(runner, "iscsiadm", new NodeDatabase(iscsiDir),
        Duration.ofSeconds(5), Duration.ofSeconds(5)), sysfs,
        new IscsiAttacher.Settings(true, deviceWait, 15, 0));
  }

  private static VolumeSource source(boolean chap, String serial) {
    return VolumeSource.fromPublishContext(Map.of("targetIqn", IQN, "portals", "10.0.2.2:3260",
        "lun", "0", "chap", Boolean.toString(chap), "serial", serial));
  }

  private static final Map<String, String> MUTUAL = Map.of(
      "node.session.auth.username", "node-user", "node.session.auth.password", "init-secret-1",
      "node.session.auth.username_in", "tgt-user", "node.session.auth.password_in",
      "tgt-secret-22");

  private List<String> lines() {
    return calls.stream().map(Command::redacted).toList();
  }

  private Path record() {
    return iscsiDir.resolve("nodes/" + IQN + "/10.0.2.2,3260,-1/default");
  }

  private boolean discoveryRecordHasChap() {
    try {
      return Files.readString(iscsiDir.resolve("send_targets/10.0.2.2,3260/st_config"))
          .contains("discovery.sendtargets.auth.authmethod = CHAP");
    } catch (java.io.IOException e) {
      return false;
    }
  }

  private static Map<String, String> ctx(boolean discoveryChap) {
    return Map.of("targetIqn", IQN, "portals", "10.0.2.2:3260", "lun", "0", "chap", "true",
        "serial", "vol-0001", "discoveryChap", Boolean.toString(discoveryChap));
  }

  @Test
  void attachesWithMutualChapWrittenIntoTheRecordFileNeverOnACommandLine() throws Exception {
    Path dev = attacher(Duration.ofSeconds(2)).attach("pvc-1", source(true, "vol-0001"), MUTUAL);
    assertThat(dev).isEqualTo(sysfs.devRoot().resolve("sdb"));
    String p = "iscsiadm -m node -T " + IQN + " -p 10.0.2.2:3260 ";
    assertThat(lines()).containsExactly(
        "iscsiadm -m discovery -t sendtargets -p 10.0.2.2:3260 -o nonpersistent",
        p + "-o new",
        p + "--login");
    assertThat(calls).allSatisfy(c -> assertThat(String.join(" ", c.argv()))
        .doesNotContain("init-secret-1", "tgt-secret-22"));
    assertThat(recordAtLogin).contains(
        "node.startup = manual\n",
        "node.session.timeo.replacement_timeout = 15\n",
        "node.session.auth.authmethod = CHAP\n",
        "node.session.auth.username = node-user\n",
        "node.session.auth.password = init-secret-1\n",
        "node.session.auth.username_in = tgt-user\n",
        "node.session.auth.password_in = tgt-secret-22\n")
        .doesNotContain("authmethod = None", "startup = automatic").endsWith("# END RECORD\n");
    assertThat(java.nio.file.Files.getPosixFilePermissions(record()))
        .isEqualTo(java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
  }

  @Test
  void withoutChapTheRecordSaysNoneAndKeepsNoCredentials() throws Exception {
    attacher(Duration.ofSeconds(2)).attach("pvc-1", source(true, "vol-0001"), MUTUAL);
    attacher(Duration.ofSeconds(2)).attach("pvc-1", source(false, "vol-0001"), Map.of());
    assertThat(recordAtLogin).contains("node.session.auth.authmethod = None\n")
        .doesNotContain("node.session.auth.username", "node.session.auth.password");
  }

  @Test
  void discoveryThatNeedsChapIsRetriedWithTheVolumesCredentialsInTheDiscoveryRecord()
      throws Exception {
    discoveryNeedsChap = true;
    attacher(Duration.ofSeconds(2)).attach("pvc-1", VolumeSource.fromPublishContext(ctx(false)),
        MUTUAL);
    String st = "iscsiadm -m discoverydb -t st -p 10.0.2.2:3260 ";
    assertThat(lines()).startsWith(
        "iscsiadm -m discovery -t sendtargets -p 10.0.2.2:3260 -o nonpersistent",
        st + "-o new",
        st + "--discover -o nonpersistent",
        st + "-o delete");
    assertThat(lines().getLast()).endsWith("--login");
    assertThat(calls).allSatisfy(c -> assertThat(String.join(" ", c.argv()))
        .doesNotContain("init-secret-1", "tgt-secret-22"));
  }

  @Test
  void publishContextAskingForDiscoveryChapAuthenticatesTheFirstDiscovery() throws Exception {
    discoveryNeedsChap = true;
    List<String> stConfig = new CopyOnWriteArrayList<>();
    script = c -> {
      CommandResult r = target(c);
      if (String.join(" ", c.argv()).contains("--discover")) {
        try {
          stConfig.add(Files.readString(
              iscsiDir.resolve("send_targets/10.0.2.2,3260/st_config")));
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }
      return r;
    };
    attacher(Duration.ofSeconds(2)).attach("pvc-1", VolumeSource.fromPublishContext(ctx(true)),
        MUTUAL);
    assertThat(lines().getFirst()).isEqualTo(
        "iscsiadm -m discoverydb -t st -p 10.0.2.2:3260 -o new");
    assertThat(lines()).noneMatch(l -> l.startsWith("iscsiadm -m discovery "));
    assertThat(stConfig).singleElement().asString().contains(
        "discovery.sendtargets.auth.authmethod = CHAP\n",
        "discovery.sendtargets.auth.username = node-user\n",
        "discovery.sendtargets.auth.password = init-secret-1\n",
        "discovery.sendtargets.auth.username_in = tgt-user\n",
        "discovery.sendtargets.auth.password_in = tgt-secret-22\n");
  }

  @Test
  void discoveryRefusedEvenWithChapFallsBackToDirectLogin() throws Exception {
    script = c -> String.join(" ", c.argv()).contains("nonpersistent")
        ? new CommandResult(24, "", "iscsiadm: discovery login rejected") : target(c);
    attacher(Duration.ofSeconds(2)).attach("pvc-1", VolumeSource.fromPublishContext(ctx(false)),
        MUTUAL);
    assertThat(lines()).filteredOn(l -> l.contains("nonpersistent")).hasSize(2);
    assertThat(lines().getLast()).endsWith("--login");
  }

  @Test
  void aDiskThatIsNotTheVolumeIsRefusedAndTheSessionUndone() {
    diskSerial = "someone-else";
    assertThatThrownBy(() -> attacher(Duration.ofSeconds(2)).attach("pvc-1",
        source(false, "vol-0001"), Map.of()))
        .isInstanceOfSatisfying(CsiException.class, e -> {
          assertThat(e.code()).isEqualTo(Status.Code.FAILED_PRECONDITION);
          assertThat(e.getMessage()).contains("is not volume pvc-1")
              .contains("serial=vol-0001").contains("someone-else")
              .contains("nothing was written");
        });
    List<String> l = lines();
    assertThat(l.get(l.size() - 2)).endsWith("--logout");
    assertThat(l.getLast()).endsWith("-o delete");
  }

  @Test
  void aWrongChapSecretIsPermissionDeniedAndLeavesNoSession() {
    script = c -> String.join(" ", c.argv()).endsWith("--login")
        ? new CommandResult(24, "", "iscsiadm: Could not login to [iface: default, target: "
            + IQN + ", portal: 10.0.2.2,3260].\niscsiadm: initiator reported error (24 -"
            + " iSCSI login failed due to authorization failure)")
        : target(c);
    assertThatThrownBy(() -> attacher(Duration.ofSeconds(2)).attach("pvc-1",
        source(true, "vol-0001"), MUTUAL))
        .isInstanceOfSatisfying(CsiException.class, e -> {
          assertThat(e.code()).isEqualTo(Status.Code.PERMISSION_DENIED);
          assertThat(e.getMessage()).contains("CHAP authentication failed")
              .contains("authorization failure").doesNotContain("init-secret-1");
        });
    List<String> l = lines();
    assertThat(l.get(l.size() - 2)).endsWith("--logout");
    assertThat(l.getLast()).endsWith("-o delete");
  }

  @Test
  void aTargetThePortalDoesNotOfferIsNotFound() {
    script = c -> String.join(" ", c.argv()).contains("-m discovery")
        ? new CommandResult(0, "10.0.2.2:3260,1 iqn.2026-11.org.iscsicsi:other\n", "")
        : target(c);
    assertThatThrownBy(() -> attacher(Duration.ofSeconds(2)).attach("pvc-1",
        source(false, "vol-0001"), Map.of()))
        .isInstanceOfSatisfying(CsiException.class, e -> {
          assertThat(e.code()).isEqualTo(Status.Code.NOT_FOUND);
          assertThat(e.getMessage()).contains("does not offer target " + IQN);
        });
    assertThat(lines()).noneMatch(s -> s.endsWith("--login") || s.endsWith("-o new"));
  }

  @Test
  void aPortalThatDoesNotAnswerIsUnavailable() {
    script = c -> String.join(" ", c.argv()).contains("-m discovery")
        ? new CommandResult(4, "", "iscsiadm: cannot make connection to 10.0.2.9: Connection"
            + " refused\niscsiadm: connection login retries (reopen_max) 5 exceeded")
        : target(c);
    assertThatThrownBy(() -> attacher(Duration.ofSeconds(2)).attach("pvc-1",
        source(false, "vol-0001"), Map.of()))
        .isInstanceOfSatisfying(CsiException.class, e -> {
          assertThat(e.code()).isEqualTo(Status.Code.UNAVAILABLE);
          assertThat(e.getMessage()).contains("the portal did not answer")
              .contains("Connection refused");
        });
  }

  @Test
  void aPortalThatTimesOutIsUnavailableWithTheSameHintAndLeavesNoRecord() {
    script = c -> {
      if (String.join(" ", c.argv()).contains("-m discovery")) {
        throw new CommandException(c.redacted(), CommandException.NO_EXIT, "", true,
            "'" + c.redacted() + "' timed out after 5000 ms", null);
      }
      return target(c);
    };
    assertThatThrownBy(() -> attacher(Duration.ofSeconds(2)).attach("pvc-1",
        source(false, "vol-0001"), Map.of()))
        .isInstanceOfSatisfying(CsiException.class, e -> {
          assertThat(e.code()).isEqualTo(Status.Code.UNAVAILABLE);
          assertThat(e.getMessage()).contains("10.0.2.2:3260")
              .contains("the portal did not answer").contains("timed out");
        });
    assertThat(lines()).noneMatch(l -> l.contains("-o new") || l.contains("--login"));
  }

  @Test
  void aLunThatNeverAppearsTimesOutAfterOneRescan() {
    script = c -> String.join(" ", c.argv()).endsWith("--login")
        ? new CommandResult(0, "", "") : target(c);
    assertThatThrownBy(() -> attacher(Duration.ofMillis(900)).attach("pvc-1",
        source(false, "vol-0001"), Map.of()))
        .isInstanceOfSatisfying(CsiException.class, e -> {
          assertThat(e.code()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
          assertThat(e.getMessage()).contains("did not appear as a disk within 900 ms");
        });
    assertThat(lines()).filteredOn(s -> s.endsWith("--rescan")).hasSize(1);
    assertThat(lines().getLast()).endsWith("-o delete");
  }

  @Test
  void chapWithoutSecretsIsInvalidAndRunsNothing() {
    assertThatThrownBy(() -> attacher(Duration.ofSeconds(1)).attach("pvc-1",
        source(true, "vol-0001"), Map.of("node.session.auth.username", "u")))
        .isInstanceOfSatisfying(CsiException.class, e -> {
          assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getMessage()).contains("node-stage secret");
        });
    // A secret open-iscsi's record file cannot hold (surrounding blanks are not kept).
    assertThatThrownBy(() -> attacher(Duration.ofSeconds(1)).attach("pvc-1",
        source(true, "vol-0001"), Map.of("username", "u", "password", "trailing ")))
        .isInstanceOfSatisfying(CsiException.class, e -> {
          assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getMessage()).contains("white space").doesNotContain("trailing");
        });
    assertThat(calls).isEmpty();
  }

  @Test
  void detachLogsOutAndDeletesTheRecordEvenWhenTheDiskIsGone() throws Exception {
    attacher(Duration.ofSeconds(1)).detach("pvc-1", source(false, "vol-0001"));
    String p = "iscsiadm -m node -T " + IQN + " -p 10.0.2.2:3260 ";
    assertThat(lines()).containsExactly(p + "--logout", p + "-o delete");
  }

  private static VolumeSource twoPortals(String extra, String value) {
    return VolumeSource.fromPublishContext(Map.of("targetIqn", IQN,
        "portals", "10.0.2.9:3260,10.0.2.2:3260", "lun", "0", "chap", "true",
        "serial", "vol-0001", extra, value));
  }

  @Test
  void anUnreachablePortalPassesOnToTheNextWithNothingLeftBehindAtTheFirst() throws Exception {
    script = c -> String.join(" ", c.argv()).contains("-p 10.0.2.9:3260 -o nonpersistent")
        ? new CommandResult(4, "", "iscsiadm: cannot make connection to 10.0.2.9: Connection"
            + " refused")
        : target(c);
    Path disk = attacher(Duration.ofSeconds(2)).attach("pvc-1",
        twoPortals("discovery", "sendtargets"), MUTUAL);
    assertThat(disk.getFileName().toString()).isEqualTo("sdb");
    String first = "iscsiadm -m node -T " + IQN + " -p 10.0.2.9:3260 ";
    assertThat(lines()).startsWith(
        "iscsiadm -m discovery -t sendtargets -p 10.0.2.9:3260 -o nonpersistent",
        first + "--logout", first + "-o delete",
        "iscsiadm -m discovery -t sendtargets -p 10.0.2.2:3260 -o nonpersistent");
    assertThat(lines().getLast()).isEqualTo("iscsiadm -m node -T " + IQN
        + " -p 10.0.2.2:3260 --login");
    assertThat(recordAtLogin).contains("node.session.auth.password_in = tgt-secret-22\n");

    // Later calls (expansion, health) go through the session's portal, not the first one.
    IscsiAttacher attacher = attacher(Duration.ofSeconds(2));
    VolumeSource source = twoPortals("discovery", "sendtargets");
    attacher.rescan(source);
    assertThat(lines().getLast()).isEqualTo("iscsiadm -m node -T " + IQN
        + " -p 10.0.2.2:3260 --rescan");
    assertThat(attacher.problem(source)).isEmpty();
    assertThat(attacher.device(source)).isPresent();
  }

  /**
   * The condition NodeGetVolumeStats reports, from what the kernel shows of the session in sysfs
   * (what {@code iscsiadm -m session -P 1} prints as "iSCSI Session State"): healthy while the
   * session is LOGGED_IN with the LUN's disk, abnormal with the reason otherwise.
   */
  @Test
  void theConditionNamesAFailedSessionAMissingDiskAndALoggedOutSession() throws Exception {
    IscsiAttacher attacher = attacher(Duration.ofSeconds(2));
    VolumeSource source = source(false, "vol-0001");
    attacher.attach("pvc-1", source, Map.of());
    assertThat(attacher.problem(source)).isEmpty();

    Path session = sysfs.sysRoot().resolve("class/iscsi_session/session1");
    // The target stopped answering: the kernel keeps the session in recovery (FAILED).
    Files.writeString(session.resolve("state"), "FAILED");
    assertThat(attacher.problem(source)).hasValueSatisfying(p -> assertThat(p)
        .contains("session1", IQN, "FAILED"));

    // Back in: the LUN's disk was deleted (echo 1 > .../delete) while the session stays.
    Files.writeString(session.resolve("state"), "LOGGED_IN");
    deleteTree(session.resolve("device/target2:0:0/2:0:0:0"));
    assertThat(attacher.problem(source)).hasValueSatisfying(p -> assertThat(p)
        .contains("no disk for LUN 0"));

    // Logged out behind the plugin's back: the session is gone from sysfs.
    deleteTree(session);
    assertThat(attacher.problem(source)).hasValue("no iSCSI session to " + IQN);
  }

  private static void deleteTree(Path dir) throws java.io.IOException {
    try (var paths = Files.walk(dir)) {
      for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  @Test
  void aWrongSecretIsNotTriedOnTheNextPortal() {
    script = c -> String.join(" ", c.argv()).endsWith("--login")
        ? new CommandResult(24, "", "iscsiadm: initiator reported error (24 - iSCSI login"
            + " failed due to authorization failure)")
        : target(c);
    VolumeSource src = VolumeSource.fromPublishContext(Map.of("targetIqn", IQN,
        "portals", "10.0.2.2:3260,10.0.2.9:3260", "chap", "true"));
    assertThatThrownBy(() -> attacher(Duration.ofSeconds(2)).attach("pvc-1", src, MUTUAL))
        .isInstanceOfSatisfying(CsiException.class,
            e -> assertThat(e.code()).isEqualTo(Status.Code.PERMISSION_DENIED));
    assertThat(lines()).noneMatch(l -> l.contains("10.0.2.9"));
    assertThat(lines().getLast()).endsWith("-p 10.0.2.2:3260 -o delete");
  }

  @Test
  void discoveryNoneLogsInDirectly() throws Exception {
    attacher(Duration.ofSeconds(2)).attach("pvc-1", VolumeSource.fromPublishContext(Map.of(
        "targetIqn", IQN, "portals", "10.0.2.2:3260", "discovery", "none")), Map.of());
    assertThat(lines()).noneMatch(l -> l.contains("discovery"));
    assertThat(lines().getLast()).endsWith("--login");
  }

  @Test
  void anUnknownDiscoveryModeIsRefused() {
    assertThatThrownBy(() -> VolumeSource.fromPublishContext(Map.of("targetIqn", IQN,
        "portals", "10.0.2.2:3260", "discovery", "isns")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("sendtargets");
  }
}
