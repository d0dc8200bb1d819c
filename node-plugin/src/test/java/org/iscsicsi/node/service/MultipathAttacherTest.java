package org.iscsicsi.node.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.iscsicsi.csi.exec.Command;
import org.iscsicsi.csi.exec.CommandResult;
import org.iscsicsi.csi.exec.CommandRunner;
import org.iscsicsi.node.device.DeviceIdentityTest;
import org.iscsicsi.node.device.Sysfs;
import org.iscsicsi.node.iscsi.Iscsiadm;
import org.iscsicsi.node.iscsi.NodeDatabase;
import org.iscsicsi.node.multipath.Multipath;
import org.iscsicsi.node.multipath.MultipathConfig;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pins the multipath attach and detach sequences of a replicated volume: a node record per
 * portal with node.startup manual, replacement timeout 5 and NOP-Outs every 2 s, login to each,
 * the VPD check of each path, {@code multipath -a} on the first path and {@code multipathd add
 * path} for each (again for one multipathd did not take), the map {@code /dev/dm-N} handed on
 * once its dm uuid is {@code mpath-3<naa>}, a path is usable and every path is in it; a member
 * unreachable at stage time left out; a blacklist of the driver's vendor, or a multipathd that
 * does not answer, answered FAILED_PRECONDITION with the device stanza before any login; a disk
 * that is not the volume refused with nothing left behind;
 * queueing disabled before the unmount when no path is usable; detach in the order WWID removal,
 * flush (retried while in use), del path, logout and record deletion of every portal; the volume
 * condition listing path states when none is usable.
 *
 * <p>iscsiadm, multipath and multipathd are scripted here and sysfs is a temporary tree the
 * script fills, because this host's kernel has no SCSI layer and no device-mapper: neither
 * open-iscsi nor multipathd can run on it. The real tools run this sequence in the VM tier
 * ({@code MultipathNodeVmIT}).
 */
class MultipathAttacherTest {

  static final String IQN = "iqn.2026-11.org.iscsicsi:pvc-r1";
  static final String NAA = "600140500000000000000000000000a1";
  static final String WWID = "3" + NAA;
  static final String P1 = "10.0.2.2:3260";
  static final String P2 = "10.0.2.3:3260";

  @TempDir Path root;
  private Path iscsiDir;
  private Sysfs sysfs;
  private final List<Command> calls = new CopyOnWriteArrayList<>();
  private final Map<String, String> recordsAtLogin = new LinkedHashMap<>();
  private final Map<String, String> pathStates = new LinkedHashMap<>();
  private final List<String> unreachable = new ArrayList<>();
  private String config = "";
  private String diskSerial = "vol-r1";
  private int inUse;
  private boolean multipathdDown;
  /** Adds of sdc multipathd takes no notice of (it looked before udev had the disk). */
  private int sdcAddsIgnored;

  @BeforeEach
  void setUp() throws Exception {
    sysfs = new Sysfs(root.resolve("sys"), Files.createDirectories(root.resolve("dev")));
    iscsiDir = root.resolve("etc/iscsi");
    Files.createDirectories(sysfs.sysRoot().resolve("block"));
  }

  /** Two members, portal P1 (session1, sdb) and P2 (session2, sdc), and multipath-tools. */
  private CommandResult script(Command c) throws Exception {
    List<String> a = c.argv();
    String line = String.join(" ", a);
    if (a.getFirst().equals("iscsiadm")) {
      String portal = a.get(a.indexOf("-p") + 1);
      int n = portal.equals(P1) ? 1 : 2;
      String disk = n == 1 ? "sdb" : "sdc";
      String addr = portal.split(":")[0];
      Path rec = iscsiDir.resolve("nodes/" + IQN + "/" + addr + ",3260,-1/default");
      if (line.endsWith("-o new")) {
        Files.createDirectories(rec.getParent());
        Files.writeString(rec, "# BEGIN RECORD 2.1.8\nnode.name = " + IQN
            + "\nnode.startup = automatic\n# END RECORD\n");
      } else if (line.endsWith("--login")) {
        if (unreachable.contains(portal)) {
          return new CommandResult(8, "", "iscsiadm: connection login retries (reopen_max) 5"
              + " exceeded");
        }
        recordsAtLogin.put(portal, Files.readString(rec));
        Path s = Files.createDirectories(sysfs.sysRoot().resolve("class/iscsi_session/session"
            + n));
        Files.writeString(s.resolve("targetname"), IQN);
        Files.writeString(s.resolve("state"), "LOGGED_IN");
        Path conn = Files.createDirectories(
            sysfs.sysRoot().resolve("class/iscsi_connection/connection" + n + ":0"));
        Files.writeString(conn.resolve("persistent_address"), addr);
        Files.writeString(conn.resolve("persistent_port"), "3260");
        Files.createDirectories(s.resolve("device/target" + n + ":0:0/" + n + ":0:0:0/block/"
            + disk));
        Path dev = Files.createDirectories(sysfs.block(disk).resolve("device"));
        Files.write(dev.resolve("vpd_pg80"), DeviceIdentityTest.pg80(diskSerial));
        Files.writeString(dev.resolve("wwid"), "naa." + NAA);
        Files.writeString(sysfs.block(disk).resolve("dev"), n == 1 ? "8:16" : "8:32");
      } else if (line.endsWith("--logout")) {
        deleteTree(sysfs.sysRoot().resolve("class/iscsi_session/session" + n));
        deleteTree(sysfs.block(disk));
      } else if (line.endsWith("-o delete")) {
        Files.deleteIfExists(rec);
      }
      return new CommandResult(0, "", "");
    }
    if (line.startsWith("multipathd add path ")) {
      String disk = a.getLast();
      if (disk.equals("sdc") && sdcAddsIgnored > 0) {
        sdcAddsIgnored--;
        return new CommandResult(0, "ok\n", "");
      }
      pathStates.put(disk, "active ready");
      Path dm = Files.createDirectories(sysfs.block("dm-0").resolve("dm"));
      Files.writeString(dm.resolve("uuid"), "mpath-" + WWID);
      Files.writeString(sysfs.block("dm-0").resolve("dev"), "253:0");
      Files.createDirectories(sysfs.block("dm-0").resolve("slaves/" + disk));
    } else if (line.startsWith("multipathd show paths")) {
      if (multipathdDown) {
        return new CommandResult(1, "", "error -111 receiving packet");
      }
      StringBuilder out = new StringBuilder();
      pathStates.forEach((d, st) -> out.append(WWID).append(' ').append(d).append(' ')
          .append(st).append('\n'));
      out.append("36001405ffffffffffffffffffffffff sdz active ready\n");
      return new CommandResult(0, out.toString(), "");
    } else if (line.startsWith("multipath -f ")) {
      if (inUse > 0) {
        inUse--;
        return new CommandResult(1, "", WWID + ": map in use");
      }
      deleteTree(sysfs.block("dm-0"));
      pathStates.clear();
    }
    return new CommandResult(0, "", "");
  }

  private static void deleteTree(Path p) throws Exception {
    if (Files.exists(p)) {
      try (var s = Files.walk(p)) {
        for (Path f : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.delete(f);
        }
      }
    }
  }

  private MultipathAttacher attacher() {
    CommandRunner runner = c -> {
      calls.add(c);
      try {
        return script(c);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    };
    Iscsiadm iscsiadm = new Iscsiadm(runner, "iscsiadm", new NodeDatabase(iscsiDir),
        Duration.ofSeconds(5), Duration.ofSeconds(5));
    IscsiAttacher paths = new IscsiAttacher(iscsiadm, sysfs,
        new IscsiAttacher.Settings(true, Duration.ofSeconds(2), 120, 0));
    return new MultipathAttacher(paths, iscsiadm, sysfs,
        new Multipath(runner, "multipath", "multipathd", Duration.ofSeconds(5)),
        () -> new MultipathConfig(config), Duration.ofSeconds(2), Duration.ofSeconds(2));
  }

  private static VolumeSource source() {
    return VolumeSource.fromPublishContext(Map.of("targetIqn", IQN, "portals", P1 + "," + P2,
        "lun", "0", "serial", "vol-r1", "naa", NAA, "multipath", "true", "wwid", WWID));
  }

  private List<String> lines() {
    return calls.stream().map(Command::redacted).toList();
  }

  @Test
  void logsInToEveryPortalAndHandsOnTheMap() throws Exception {
    Path dev = attacher().attach("pvc-r1", source(), Map.of());
    assertThat(dev).isEqualTo(sysfs.devRoot().resolve("dm-0"));
    String n1 = "iscsiadm -m node -T " + IQN + " -p " + P1 + " ";
    String n2 = "iscsiadm -m node -T " + IQN + " -p " + P2 + " ";
    assertThat(lines()).containsSubsequence(n1 + "-o new", n1 + "--login", n2 + "-o new",
        n2 + "--login", "multipath -a " + sysfs.devRoot().resolve("sdb"),
        "multipathd add path sdb", "multipathd add path sdc",
        "multipathd show paths raw format %w %d %t %T");
    assertThat(lines()).noneMatch(l -> l.contains("discovery"));
    assertThat(recordsAtLogin).hasSize(2).allSatisfy((p, r) -> assertThat(r).contains(
        "node.startup = manual\n", "node.session.timeo.replacement_timeout = 5\n",
        "node.conn[0].timeo.noop_out_interval = 2\n",
        "node.conn[0].timeo.noop_out_timeout = 2\n").doesNotContain("startup = automatic"));
    assertThat(attacher().device(source())).contains(dev);
    assertThat(attacher().problem(source())).isEmpty();
  }

  @Test
  void aPathMultipathdDidNotTakeIsOfferedAgainUntilItJoinsTheMap() throws Exception {
    sdcAddsIgnored = 1;
    assertThat(attacher().attach("pvc-r1", source(), Map.of()))
        .isEqualTo(sysfs.devRoot().resolve("dm-0"));
    assertThat(lines()).containsSubsequence("multipathd add path sdc", "multipathd del path sdc",
        "multipathd add path sdc");
    assertThat(sysfs.slaves("dm-0")).containsExactly("sdb", "sdc");
  }

  @Test
  void aMemberUnreachableAtStageTimeIsLeftOut() throws Exception {
    unreachable.add(P2);
    Path dev = attacher().attach("pvc-r1", source(), Map.of());
    assertThat(dev).isEqualTo(sysfs.devRoot().resolve("dm-0"));
    assertThat(lines()).contains("multipathd add path sdb").doesNotContain(
        "multipathd add path sdc");
    assertThat(iscsiDir.resolve("nodes/" + IQN + "/10.0.2.3,3260,-1/default")).doesNotExist();
  }

  @Test
  void aBlacklistIsFailedPreconditionWithTheStanzaBeforeAnyLogin() {
    config = "blacklist {\n  device {\n    vendor \"ISCSICSI\"\n    product \".*\"\n  }\n}\n";
    assertThatThrownBy(() -> attacher().attach("pvc-r1", source(), Map.of()))
        .isInstanceOfSatisfying(CsiException.class, e -> {
          assertThat(e.code()).isEqualTo(Status.Code.FAILED_PRECONDITION);
          assertThat(e.getMessage()).contains("blacklists vendor ISCSICSI")
              .contains("path_grouping_policy group_by_prio").contains("no_path_retry queue");
        });
    assertThat(calls).isEmpty();
  }

  @Test
  void noMultipathdIsFailedPreconditionBeforeAnyLogin() {
    multipathdDown = true;
    assertThatThrownBy(() -> attacher().attach("pvc-r1", source(), Map.of()))
        .isInstanceOfSatisfying(CsiException.class, e -> {
          assertThat(e.code()).isEqualTo(Status.Code.FAILED_PRECONDITION);
          assertThat(e.getMessage()).contains("multipathd does not answer")
              .contains("vendor \"ISCSICSI\"");
        });
    assertThat(lines()).noneMatch(l -> l.startsWith("iscsiadm"));
  }

  @Test
  void aDiskThatIsNotTheVolumeIsRefusedAndNothingIsLeft() throws Exception {
    diskSerial = "someone-else";
    assertThatThrownBy(() -> attacher().attach("pvc-r1", source(), Map.of()))
        .isInstanceOfSatisfying(CsiException.class,
            e -> assertThat(e.code()).isEqualTo(Status.Code.FAILED_PRECONDITION));
    assertThat(lines()).noneMatch(l -> l.startsWith("multipath -") || l.contains("add path"));
    assertThat(lines()).contains("iscsiadm -m node -T " + IQN + " -p " + P1 + " --logout",
        "iscsiadm -m node -T " + IQN + " -p " + P2 + " --logout");
    assertThat(sysfs.sysRoot().resolve("class/iscsi_session/session1")).doesNotExist();
  }

  @Test
  void detachDropsTheWwidFlushesTheMapWhileInUseThenLogsOutOfEveryPortal() throws Exception {
    MultipathAttacher a = attacher();
    a.attach("pvc-r1", source(), Map.of());
    calls.clear();
    inUse = 2;
    a.detach("pvc-r1", source());
    String n1 = "iscsiadm -m node -T " + IQN + " -p " + P1 + " ";
    String n2 = "iscsiadm -m node -T " + IQN + " -p " + P2 + " ";
    assertThat(lines()).containsSubsequence("multipath -w " + sysfs.devRoot().resolve("sdb"),
        "multipath -f " + WWID, "multipath -f " + WWID, "multipath -f " + WWID,
        "multipathd del path sdb", "multipathd del path sdc", n1 + "--logout",
        n1 + "-o delete", n2 + "--logout", n2 + "-o delete");
    assertThat(lines()).noneMatch(l -> l.contains("disablequeueing"));
    assertThat(a.device(source())).isEmpty();
    // Idempotent: nothing left, still success.
    a.detach("pvc-r1", source());
  }

  @Test
  void withoutAUsablePathTheConditionListsThePathsAndUnstageFailsQueuedIoFirst()
      throws Exception {
    MultipathAttacher a = attacher();
    a.attach("pvc-r1", source(), Map.of());
    pathStates.replaceAll((d, s) -> "failed faulty");
    assertThat(a.problem(source())).hasValueSatisfying(p -> assertThat(p)
        .contains("no usable path").contains("sdb failed/faulty").contains("sdc failed/faulty"));
    pathStates.put("sdc", "active ghost");
    assertThat(a.problem(source())).as("a standby path alone carries no I/O").isPresent();
    calls.clear();
    a.beforeUnmount("pvc-r1", source());
    assertThat(lines()).containsSubsequence("multipathd show paths raw format %w %d %t %T",
        "multipathd disablequeueing map " + WWID);
    calls.clear();
    a.detach("pvc-r1", source());
    assertThat(lines()).containsSubsequence("multipathd disablequeueing map " + WWID,
        "multipath -f " + WWID);
  }

  @Test
  void aMapStillInUseAfterTheWaitFailsTheDetachBeforeAnyLogout() throws Exception {
    MultipathAttacher a = attacher();
    a.attach("pvc-r1", source(), Map.of());
    calls.clear();
    inUse = Integer.MAX_VALUE;
    assertThatThrownBy(() -> a.detach("pvc-r1", source()))
        .isInstanceOfSatisfying(CsiException.class, e -> {
          assertThat(e.code()).isEqualTo(Status.Code.INTERNAL);
          assertThat(e.getMessage()).contains("in use");
        });
    assertThat(lines()).noneMatch(l -> l.endsWith("--logout"));
  }
}
