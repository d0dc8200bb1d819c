package org.iscsicsi.target.registry;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.iscsicsi.target.acl.AccessLevel;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.qos.QosLimits;
import org.iscsicsi.target.registry.RegistryException.Reason;
import org.iscsicsi.target.scsi.ScsiTargetDevice;
import org.iscsicsi.target.state.LunRecord;
import org.iscsicsi.target.state.StateStore;
import org.iscsicsi.target.state.TargetRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Pins the registry on real LUN files in a temporary directory: every validation rule with its
 * status reason, idempotent creates, unique serials/NAAs (new ones for clones and restored
 * snapshots), LUNs attached to the target's SCSI port, grants and CHAP as the iSCSI layer sees
 * them, snapshots and clones that copy the data, that configuration changes never touch LUN data,
 * that a restart brings everything back, and that concurrent changes and lock-free reads mix.
 */
class TargetRegistryTest {

  static final String T1 = "iqn.2026-11.org.example:t1";
  static final String T2 = "iqn.2026-11.org.example:t2";
  static final String INI = "iqn.1993-08.org.debian:01:aaaa";

  @TempDir
  Path dir;

  StateStore store;
  TargetRegistry reg;

  @BeforeEach
  void open() throws IOException {
    store = StateStore.open(dir.resolve("state"));
    reg = TargetRegistry.open(store, dir.resolve("state/luns"), dir.resolve("state/snapshots"),
        Duration.ofMinutes(1));
  }

  @AfterEach
  void close() throws IOException {
    reg.close();
    store.close();
  }

  void restart() throws IOException {
    close();
    open();
  }

  static LunSpec lun(String target, int n, long size) {
    return new LunSpec(target, n, size, 0, false, false, new LunSpec.Empty());
  }

  static void expect(Reason reason, String message, ThrowingCallable call) {
    assertThatThrownBy(call).isInstanceOfSatisfying(RegistryException.class,
        e -> assertThat(e.reason()).isEqualTo(reason)).hasMessageContaining(message);
  }

  LogicalUnit unit(String target, int lun) {
    var port = (ScsiTargetDevice) reg.target(target).orElseThrow().scsi();
    return port.luns().get((long) lun);
  }

  static String sha(Path file) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
        .digest(Files.readAllBytes(file)));
  }

  // ---- targets ----

  @Test
  void createTargetIsIdempotentAndValidated() {
    TargetRecord t = reg.createTarget(T1, "one", Map.of("a", "b"), Map.of());
    assertThat(reg.createTarget(T1, "one", Map.of("a", "b"), Map.of())).isEqualTo(t);
    expect(Reason.ALREADY_EXISTS, "already exists",
        () -> reg.createTarget(T1, "two", Map.of("a", "b"), Map.of()));
    expect(Reason.INVALID_ARGUMENT, "target name: invalid iSCSI name 'iqn.bad'",
        () -> reg.createTarget("iqn.bad", "", Map.of(), Map.of()));
    expect(Reason.INVALID_ARGUMENT, "label key '-x'",
        () -> reg.createTarget(T2, "", Map.of("-x", "y"), Map.of()));
    expect(Reason.INVALID_ARGUMENT, "MaxBurstLength=100 is outside 512..16777215",
        () -> reg.createTarget(T2, "", Map.of(), Map.of("MaxBurstLength", "100")));
    expect(Reason.INVALID_ARGUMENT, "unknown or not per-target login parameter 'AuthMethod'",
        () -> reg.createTarget(T2, "", Map.of(), Map.of("AuthMethod", "None")));
    expect(Reason.INVALID_ARGUMENT, "HeaderDigest must be a list of None and CRC32C",
        () -> reg.createTarget(T2, "", Map.of(), Map.of("HeaderDigest", "MD5")));
    expect(Reason.INVALID_ARGUMENT, "exceeds MaxBurstLength",
        () -> reg.createTarget(T2, "", Map.of(),
            Map.of("FirstBurstLength", "65536", "MaxBurstLength", "8192")));
    expect(Reason.INVALID_ARGUMENT, "alias contains control characters",
        () -> reg.createTarget(T2, "a\nb", Map.of(), Map.of()));
    expect(Reason.NOT_FOUND, "target " + T2 + " does not exist", () -> reg.getTarget(T2));
    assertThat(reg.targets()).extracting(ExportedTarget::name).containsExactly(T1);
  }

  @Test
  void namesAreNormalizedForLookup() {
    reg.createTarget("IQN.2026-11.ORG.Example:T1", "", Map.of(), Map.of());
    assertThat(reg.getTarget(T1).name()).isEqualTo(T1);
    assertThat(reg.target("iqn.2026-11.org.EXAMPLE:t1")).isPresent();
  }

  @Test
  void labelsSelectTargets() {
    reg.createTarget(T1, "", Map.of("pv", "a", "ns", "x"), Map.of());
    reg.createTarget(T2, "", Map.of("pv", "b", "ns", "x"), Map.of());
    assertThat(reg.listTargets(Map.of("ns", "x"))).hasSize(2);
    assertThat(reg.listTargets(Map.of("pv", "b"))).extracting(TargetRecord::name)
        .containsExactly(T2);
    reg.setLabels(T2, Map.of("pv", "c"));
    assertThat(reg.listTargets(Map.of("pv", "b"))).isEmpty();
  }

  // ---- LUNs ----

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "-1|1048576|0|LUN -1 is outside 0..16383",
      "16384|1048576|0|LUN 16384 is outside 0..16383",
      "0|0|0|size 0 must be greater than 0",
      "0|-4096|0|size -4096 must be greater than 0",
      "0|1000|0|size 1000 is not a multiple of the block size 512",
      "0|1048064|4096|not a multiple of the block size 4096",
      "0|1048576|1024|block size 1024 is not 512 or 4096",
  })
  void lunValidation(int lun, long size, int blockSize, String message) {
    reg.createTarget(T1, "", Map.of(), Map.of());
    expect(Reason.INVALID_ARGUMENT, message, () -> reg.createLun(
        new LunSpec(T1, lun, size, blockSize, false, false, new LunSpec.Empty())));
    assertThat(reg.getTarget(T1).luns()).isEmpty();
  }

  @Test
  void createLunMakesSparseFileAttachedToThePort() throws Exception {
    reg.createTarget(T1, "", Map.of(), Map.of());
    LunRecord l = reg.createLun(lun(T1, 0, 64 << 20));
    Path file = Path.of(l.file());
    assertThat(file).exists().hasParent(reg.lunDir());
    assertThat(Files.size(file)).isEqualTo(64 << 20);
    assertThat(reg.lunStatus(T1, 0).allocatedBytes()).isLessThan(1 << 20);
    assertThat(l.thin()).isTrue();
    assertThat(unit(T1, 0)).isNotNull();
    assertThat(unit(T1, 0).sizeBytes()).isEqualTo(64 << 20);
    assertThat(reg.createLun(lun(T1, 0, 64 << 20))).isEqualTo(l);
    expect(Reason.ALREADY_EXISTS, "LUN 0 of " + T1 + " already exists",
        () -> reg.createLun(lun(T1, 0, 128 << 20)));
    expect(Reason.NOT_FOUND, "target " + T2 + " does not exist",
        () -> reg.createLun(lun(T2, 0, 1 << 20)));
  }

  @Test
  void thickLunIsPreallocatedAndFourKBlocksWork() {
    reg.createTarget(T1, "", Map.of(), Map.of());
    LunRecord l = reg.createLun(new LunSpec(T1, 1, 8 << 20, 4096, true, false,
        new LunSpec.Empty()));
    assertThat(l.thin()).isFalse();
    assertThat(l.blockSize()).isEqualTo(4096);
    assertThat(reg.lunStatus(T1, 1).allocatedBytes()).isGreaterThanOrEqualTo(8 << 20);
  }

  @Test
  void serialsAndNaasAreUniqueAndWellFormed() {
    reg.createTarget(T1, "", Map.of(), Map.of());
    reg.createTarget(T2, "", Map.of(), Map.of());
    Set<String> serials = new HashSet<>();
    Set<String> naas = new HashSet<>();
    for (int i = 0; i < 10; i++) {
      for (String t : List.of(T1, T2)) {
        LunRecord l = reg.createLun(lun(t, i, 1 << 20));
        serials.add(l.serial());
        naas.add(l.naa());
        assertThat(l.serial()).matches("[0-9A-F]{16}");
        // NAA 6, company id 0x0A4953
        assertThat(l.naa()).matches("60a4953[0-9a-f]{25}");
      }
    }
    assertThat(serials).hasSize(20);
    assertThat(naas).hasSize(20);
  }

  @Test
  void resizeGrowsOnlineAndRefusesBadSizes() {
    reg.createTarget(T1, "", Map.of(), Map.of());
    reg.createLun(lun(T1, 0, 1 << 20));
    assertThat(reg.resizeLun(T1, 0, 2 << 20).sizeBytes()).isEqualTo(2 << 20);
    assertThat(unit(T1, 0).sizeBytes()).isEqualTo(2 << 20);
    assertThat(reg.getTarget(T1).lun(0).orElseThrow().sizeBytes()).isEqualTo(2 << 20);
    assertThat(reg.resizeLun(T1, 0, 2 << 20).sizeBytes()).isEqualTo(2 << 20);
    expect(Reason.INVALID_ARGUMENT, "cannot shrink", () -> reg.resizeLun(T1, 0, 1 << 20));
    expect(Reason.INVALID_ARGUMENT, "not a multiple", () -> reg.resizeLun(T1, 0, (2 << 20) + 1));
    expect(Reason.NOT_FOUND, "LUN 5 of " + T1 + " does not exist",
        () -> reg.resizeLun(T1, 5, 4 << 20));
    reg.createLun(new LunSpec(T1, 1, 1 << 20, 0, false, true, new LunSpec.Empty()));
    expect(Reason.FAILED_PRECONDITION, "read-only", () -> reg.resizeLun(T1, 1, 2 << 20));
  }

  @Test
  void deleteLunAndTargetRemoveFiles() {
    reg.createTarget(T1, "", Map.of(), Map.of());
    Path f0 = Path.of(reg.createLun(lun(T1, 0, 1 << 20)).file());
    Path f1 = Path.of(reg.createLun(lun(T1, 1, 1 << 20)).file());
    reg.deleteLun(T1, 0);
    assertThat(f0).doesNotExist();
    assertThat(unit(T1, 0)).isNull();
    expect(Reason.NOT_FOUND, "LUN 0 of", () -> reg.deleteLun(T1, 0));
    reg.deleteTarget(T1, false);
    assertThat(f1).doesNotExist();
    assertThat(reg.target(T1)).isEmpty();
    expect(Reason.NOT_FOUND, "does not exist", () -> reg.deleteTarget(T1, false));
  }

  // ---- ACL and CHAP ----

  @Test
  void grantsDecideAccessAsTheIscsiLayerSeesIt() {
    reg.createTarget(T1, "", Map.of(), Map.of());
    assertThat(reg.target(T1).orElseThrow().access(INI)).isEqualTo(AccessLevel.NONE);
    reg.grant(T1, INI, true);
    assertThat(reg.target(T1).orElseThrow().access(INI)).isEqualTo(AccessLevel.READ_ONLY);
    reg.grant(T1, INI, false);
    assertThat(reg.getTarget(T1).grants()).hasSize(1);
    assertThat(reg.target(T1).orElseThrow().access(INI)).isEqualTo(AccessLevel.READ_WRITE);
    reg.grant(T1, "all", true);
    assertThat(reg.target(T1).orElseThrow().access("iqn.2000-01.com.other:x"))
        .isEqualTo(AccessLevel.READ_ONLY);
    reg.revoke(T1, INI);
    reg.revoke(T1, INI); // idempotent
    assertThat(reg.target(T1).orElseThrow().access(INI)).isEqualTo(AccessLevel.READ_ONLY);
    reg.revoke(T1, "ALL");
    assertThat(reg.target(T1).orElseThrow().access(INI)).isEqualTo(AccessLevel.NONE);
    expect(Reason.INVALID_ARGUMENT, "initiator: invalid iSCSI name 'bogus'",
        () -> reg.grant(T1, "bogus", false));
    expect(Reason.NOT_FOUND, "does not exist", () -> reg.grant(T2, INI, false));
  }

  @Test
  void chapIsValidatedAndPublished() {
    reg.createTarget(T1, "", Map.of(), Map.of());
    byte[] pw = "initiator-secret".getBytes(UTF_8);
    byte[] mpw = "target-secret-xy".getBytes(UTF_8);
    reg.setChap(T1, "alice", pw, "tgt", mpw);
    var t = reg.target(T1).orElseThrow();
    assertThat(t.incomingChap().orElseThrow().secret()).isEqualTo(pw);
    assertThat(t.outgoingChap().orElseThrow().user()).isEqualTo("tgt");
    expect(Reason.INVALID_ARGUMENT, "12 to 255 bytes",
        () -> reg.setChap(T1, "alice", "short".getBytes(UTF_8), "", new byte[0]));
    expect(Reason.INVALID_ARGUMENT, "must differ",
        () -> reg.setChap(T1, "alice", pw, "tgt", pw));
    expect(Reason.INVALID_ARGUMENT, "mutual CHAP needs incoming CHAP",
        () -> reg.setChap(T1, "", new byte[0], "tgt", mpw));
    expect(Reason.INVALID_ARGUMENT, "mutual CHAP password given without a mutual user",
        () -> reg.setChap(T1, "alice", pw, "", mpw));
    // failed changes left the old settings in place
    assertThat(reg.target(T1).orElseThrow().outgoingChap()).isPresent();
    reg.setChap(T1, "", new byte[0], "", new byte[0]);
    assertThat(reg.target(T1).orElseThrow().incomingChap()).isEmpty();
    assertThat(reg.target(T1).orElseThrow().outgoingChap()).isEmpty();
  }

  @Test
  void configurationChangesNeverTouchLunData() throws Exception {
    reg.createTarget(T1, "", Map.of(), Map.of());
    Path f = Path.of(reg.createLun(lun(T1, 0, 1 << 20)).file());
    unit(T1, 0).write(4096, ByteBuffer.wrap("payload".getBytes(UTF_8)), true);
    String before = sha(f);
    var mtime = Files.getLastModifiedTime(f);
    reg.grant(T1, INI, false);
    reg.setChap(T1, "alice", "initiator-secret".getBytes(UTF_8), "", new byte[0]);
    reg.setLabels(T1, Map.of("x", "y"));
    reg.revoke(T1, INI);
    reg.createLun(lun(T1, 1, 1 << 20));
    reg.deleteLun(T1, 1);
    restart();
    assertThat(sha(f)).isEqualTo(before);
    assertThat(Files.getLastModifiedTime(f)).isEqualTo(mtime);
  }

  // ---- restart ----

  @Test
  void restartRestoresEverything() throws Exception {
    reg.createTarget(T1, "alias", Map.of("k", "v"), Map.of("MaxRecvDataSegmentLength", "65536"));
    LunRecord l0 = reg.createLun(lun(T1, 0, 4 << 20));
    LunRecord l7 = reg.createLun(new LunSpec(T1, 7, 8 << 20, 4096, false, true,
        new LunSpec.Empty()));
    reg.grant(T1, INI, true);
    reg.grant(T1, "ALL", false);
    reg.setChap(T1, "alice", "initiator-secret".getBytes(UTF_8), "tgt",
        "target-secret-xy".getBytes(UTF_8));
    unit(T1, 0).write(0, ByteBuffer.wrap("hello".getBytes(UTF_8)), true);
    TargetRecord before = reg.getTarget(T1);

    restart();

    TargetRecord after = reg.getTarget(T1);
    assertThat(after).isEqualTo(before);
    assertThat(after.lun(0)).contains(l0);
    assertThat(after.lun(7)).contains(l7);
    var t = reg.target(T1).orElseThrow();
    assertThat(t.access(INI)).isEqualTo(AccessLevel.READ_ONLY);
    assertThat(t.access("iqn.2000-01.com.other:x")).isEqualTo(AccessLevel.READ_WRITE);
    assertThat(t.incomingChap().orElseThrow().secret())
        .isEqualTo("initiator-secret".getBytes(UTF_8));
    assertThat(t.outgoingChap().orElseThrow().secret())
        .isEqualTo("target-secret-xy".getBytes(UTF_8));
    assertThat(t.loginParameters()).containsEntry("MaxRecvDataSegmentLength", "65536");
    ByteBuffer buf = ByteBuffer.allocate(5);
    unit(T1, 0).read(0, buf);
    assertThat(new String(buf.array(), UTF_8)).isEqualTo("hello");
    assertThat(unit(T1, 7).blockSize()).isEqualTo(4096);
    assertThat(reg.lunStatus(T1, 7).condition()).isEmpty();
  }

  /**
   * I/O limits given at creation or set later reach the open unit, are saved (only when set) and
   * come back after a restart; setting the same limits again changes nothing.
   */
  @Test
  void qosLimitsApplyLiveAndSurviveRestart() throws Exception {
    reg.createTarget(T1, "", Map.of(), Map.of());
    QosLimits gold = new QosLimits(500, 400, 64 << 20, 32 << 20, 1000);
    reg.createLun(new LunSpec(T1, 0, 4 << 20, 0, false, false, new LunSpec.Empty(), gold));
    reg.createLun(lun(T1, 1, 4 << 20));
    assertThat(unit(T1, 0).throttle().limits()).isEqualTo(gold);
    assertThat(unit(T1, 1).throttle().limited()).isFalse();
    assertThat(new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(
        StateStore.peek(store.dir()))).containsOnlyOnce("\"qos\"");

    QosLimits silver = new QosLimits(100, 100, 0, 0, 0);
    LunRecord changed = reg.setLunQos(T1, 1, silver);
    assertThat(changed.qosLimits()).isEqualTo(silver);
    assertThat(unit(T1, 1).throttle().limits()).isEqualTo(silver);
    long saved = store.journalBytes();
    assertThat(reg.setLunQos(T1, 1, silver)).isEqualTo(changed);
    assertThat(store.journalBytes()).as("nothing written").isEqualTo(saved);

    restart();

    assertThat(unit(T1, 0).throttle().limits()).isEqualTo(gold);
    assertThat(unit(T1, 1).throttle().limits()).isEqualTo(silver);
    reg.setLunQos(T1, 0, QosLimits.NONE);
    assertThat(unit(T1, 0).throttle().limited()).isFalse();
    assertThat(reg.getTarget(T1).lun(0).orElseThrow().qos()).isNull();
    expect(Reason.NOT_FOUND, "LUN 5", () -> reg.setLunQos(T1, 5, silver));
  }

  @Test
  void missingLunFileIsReportedNotForgotten() throws Exception {
    reg.createTarget(T1, "", Map.of(), Map.of());
    LunRecord l = reg.createLun(lun(T1, 0, 1 << 20));
    close();
    Files.delete(Path.of(l.file()));
    open();
    assertThat(reg.getTarget(T1).lun(0)).contains(l);
    assertThat(reg.lunStatus(T1, 0).condition()).contains(l.file()).contains("unusable");
  }

  // ---- snapshots and clones ----

  @Test
  void snapshotFreezesDataAndRestoresIntoNewLun() throws Exception {
    reg.createTarget(T1, "", Map.of(), Map.of());
    LunRecord src = reg.createLun(lun(T1, 0, 4 << 20));
    unit(T1, 0).write(1 << 20, ByteBuffer.wrap("original".getBytes(UTF_8)), true);
    var snap = reg.createSnapshot("snap-1", T1, 0, Map.of("csi", "x"));
    assertThat(Path.of(snap.file())).exists().hasParent(reg.snapshotDir());
    assertThat(snap.sizeBytes()).isEqualTo(4 << 20);
    assertThat(reg.snapshotAllocatedBytes(snap)).isLessThan(1 << 20); // stayed sparse
    assertThat(reg.createSnapshot("snap-1", T1, 0, Map.of())).isEqualTo(snap);
    unit(T1, 0).write(1 << 20, ByteBuffer.wrap("modified".getBytes(UTF_8)), true);

    LunRecord restored = reg.createLun(new LunSpec(T1, 1, 8 << 20, 0, false, false,
        new LunSpec.FromSnapshot("snap-1")));
    assertThat(restored.serial()).isNotEqualTo(src.serial());
    assertThat(restored.naa()).isNotEqualTo(src.naa());
    assertThat(unit(T1, 1).sizeBytes()).isEqualTo(8 << 20);
    ByteBuffer b = ByteBuffer.allocate(8);
    unit(T1, 1).read(1 << 20, b);
    assertThat(new String(b.array(), UTF_8)).isEqualTo("original");

    expect(Reason.INVALID_ARGUMENT, "smaller than the source's", () -> reg.createLun(
        new LunSpec(T1, 2, 2 << 20, 0, false, false, new LunSpec.FromSnapshot("snap-1"))));
    expect(Reason.INVALID_ARGUMENT, "differs from the source's", () -> reg.createLun(
        new LunSpec(T1, 2, 4 << 20, 4096, false, false, new LunSpec.FromSnapshot("snap-1"))));
    expect(Reason.NOT_FOUND, "snapshot nope does not exist", () -> reg.createLun(
        new LunSpec(T1, 2, 4 << 20, 0, false, false, new LunSpec.FromSnapshot("nope"))));
    expect(Reason.ALREADY_EXISTS, "already exists for another LUN",
        () -> reg.createSnapshot("snap-1", T1, 1, Map.of()));
    expect(Reason.INVALID_ARGUMENT, "snapshot id 'a/b'",
        () -> reg.createSnapshot("a/b", T1, 0, Map.of()));

    assertThat(reg.listSnapshots("", T1, 0)).containsExactly(snap);
    assertThat(reg.listSnapshots("", T1, 1)).isEmpty();
    restart();
    assertThat(reg.listSnapshots("snap-1", null, 0)).containsExactly(snap);
    reg.deleteSnapshot("snap-1");
    assertThat(Path.of(snap.file())).doesNotExist();
    expect(Reason.NOT_FOUND, "snapshot snap-1 does not exist",
        () -> reg.deleteSnapshot("snap-1"));
  }

  @Test
  void cloneCopiesAnotherLun() throws Exception {
    reg.createTarget(T1, "", Map.of(), Map.of());
    reg.createTarget(T2, "", Map.of(), Map.of());
    LunRecord src = reg.createLun(lun(T1, 0, 2 << 20));
    unit(T1, 0).write(512, ByteBuffer.wrap("clone me".getBytes(UTF_8)), false);
    LunRecord c = reg.createLun(new LunSpec(T2, 3, 2 << 20, 0, false, false,
        new LunSpec.CloneOf(T1, 0)));
    assertThat(c.naa()).isNotEqualTo(src.naa());
    ByteBuffer b = ByteBuffer.allocate(8);
    unit(T2, 3).read(512, b);
    assertThat(new String(b.array(), UTF_8)).isEqualTo("clone me");
    expect(Reason.NOT_FOUND, "LUN 9 of", () -> reg.createLun(new LunSpec(T2, 4, 2 << 20, 0,
        false, false, new LunSpec.CloneOf(T1, 9))));
  }

  @Test
  void poolReportsProvisionedAndFilesystemSpace() {
    reg.createTarget(T1, "", Map.of(), Map.of());
    reg.createLun(lun(T1, 0, 4 << 20));
    reg.createLun(new LunSpec(T1, 1, 2 << 20, 0, true, false, new LunSpec.Empty()));
    PoolStatus p = reg.pool();
    assertThat(p.provisionedBytes()).isEqualTo(6 << 20);
    assertThat(p.allocatedBytes()).isGreaterThanOrEqualTo(2 << 20);
    assertThat(p.totalBytes()).isGreaterThan(p.availableBytes()).isPositive();
    expect(Reason.RESOURCE_EXHAUSTED, "bytes free", () -> reg.createLun(
        new LunSpec(T1, 2, p.totalBytes() + 4096 - p.totalBytes() % 4096, 0, true, false,
            new LunSpec.Empty())));
  }

  // ---- failures ----

  @Test
  void failedStateWriteChangesNothing() throws Exception {
    reg.createTarget(T1, "", Map.of(), Map.of());
    reg.createLun(lun(T1, 0, 1 << 20));
    // A closed state store makes every save fail, as a journal that cannot be written would.
    store.close();
    long filesBefore;
    try (var files = Files.list(reg.lunDir())) {
      filesBefore = files.count();
    }
    expect(Reason.INTERNAL, "cannot write the state file",
        () -> reg.createTarget(T2, "", Map.of(), Map.of()));
    expect(Reason.INTERNAL, "cannot write the state file",
        () -> reg.createLun(lun(T1, 1, 1 << 20)));
    expect(Reason.INTERNAL, "cannot write the state file", () -> reg.grant(T1, INI, false));
    expect(Reason.INTERNAL, "cannot write the state file", () -> reg.deleteLun(T1, 0));
    expect(Reason.INTERNAL, "cannot write the state file", () -> reg.deleteTarget(T1, true));
    assertThat(reg.target(T2)).isEmpty();
    assertThat(reg.getTarget(T1).luns()).extracting(LunRecord::lun).containsExactly(0);
    assertThat(reg.target(T1).orElseThrow().access(INI)).isEqualTo(AccessLevel.NONE);
    assertThat(unit(T1, 0)).isNotNull();
    try (var files = Files.list(reg.lunDir())) {
      assertThat(files.count()).as("the new LUN's file was removed again").isEqualTo(filesBefore);
    }
    restart();
    assertThat(reg.getTarget(T1).luns()).hasSize(1);
    assertThat(reg.target(T2)).isEmpty();
  }

  /** Prints how long restoring a state with many targets and LUNs takes (a figure, no limit). */
  @Test
  void restoreTimeFigure() throws Exception {
    int n = 100;
    for (int i = 0; i < n; i++) {
      String name = "iqn.2026-11.org.example:many-" + i;
      reg.createTarget(name, "", Map.of("i", Integer.toString(i)), Map.of());
      reg.grant(name, INI, false);
      reg.createLun(lun(name, 0, 1 << 20));
    }
    close();
    long t0 = System.nanoTime();
    open();
    long ms = (System.nanoTime() - t0) / 1_000_000;
    System.out.printf("TargetRegistry: restored %d targets with %d LUNs in %d ms%n", n, n, ms);
    assertThat(reg.targets()).hasSize(n);
  }

  // ---- concurrency ----

  @Test
  void copiesRunOutsideTheLockAndPinTheirSource() throws Exception {
    reg.createTarget(T1, "", Map.of(), Map.of());
    reg.createLun(lun(T1, 0, 1 << 20));
    // Holding the LUN's writes ourselves makes the snapshot wait inside its copy phase.
    LogicalUnit.Quiesce held = unit(T1, 0).quiesce();
    var result = new java.util.concurrent.CompletableFuture<Object>();
    Thread snap = Thread.ofPlatform().start(() -> {
      try {
        result.complete(reg.createSnapshot("pinned", T1, 0, Map.of()));
      } catch (RuntimeException e) {
        result.complete(e);
      }
    });
    try {
      await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5))
          .until(snap::getState, state -> state == Thread.State.WAITING);
      // Other calls go on while the copy waits ...
      reg.createTarget(T2, "", Map.of(), Map.of());
      assertThat(reg.getTarget(T1).luns()).hasSize(1);
      // ... but nothing may remove or change what it copies.
      expect(Reason.FAILED_PRECONDITION, "is being copied", () -> reg.deleteLun(T1, 0));
      expect(Reason.FAILED_PRECONDITION, "is being copied", () -> reg.resizeLun(T1, 0, 2 << 20));
      expect(Reason.FAILED_PRECONDITION, "is being copied", () -> reg.deleteTarget(T1, true));
      assertThat(result).isNotDone();
    } finally {
      held.close();
    }
    snap.join(10_000);
    assertThat(result.get()).isInstanceOf(org.iscsicsi.target.state.SnapshotRecord.class);
    reg.deleteLun(T1, 0);
    reg.deleteSnapshot("pinned");
  }

  @Test
  void repeatedCopiesWhileTheFirstRunsGiveOneResult() throws Exception {
    reg.createTarget(T1, "", Map.of(), Map.of());
    reg.createLun(lun(T1, 0, 16 << 20));
    byte[] data = new byte[4 << 20];
    java.util.Arrays.fill(data, (byte) 0x5a);
    unit(T1, 0).write(0, ByteBuffer.wrap(data), true);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<org.iscsicsi.target.state.SnapshotRecord>> snaps = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        snaps.add(pool.submit(() -> reg.createSnapshot("same", T1, 0, Map.of())));
      }
      Set<Object> distinct = new HashSet<>();
      for (var f : snaps) {
        distinct.add(f.get());
      }
      assertThat(distinct).hasSize(1);
      List<Future<LunRecord>> luns = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        luns.add(pool.submit(() -> reg.createLun(new LunSpec(T1, 1, 16 << 20, 0, false, false,
            new LunSpec.FromSnapshot("same")))));
      }
      Set<Object> lunResults = new HashSet<>();
      for (var f : luns) {
        lunResults.add(f.get());
      }
      assertThat(lunResults).hasSize(1);
    } finally {
      pool.shutdownNow();
    }
    try (var files = Files.list(reg.snapshotDir())) {
      assertThat(files.count()).isEqualTo(1);
    }
    try (var files = Files.list(reg.lunDir())) {
      assertThat(files.count()).isEqualTo(2);
    }
    ByteBuffer b = ByteBuffer.allocate(4);
    unit(T1, 1).read((4 << 20) - 4, b);
    assertThat(b.array()).containsOnly((byte) 0x5a);
  }

  @Test
  void concurrentChangesAndLockFreeReads() throws Exception {
    AtomicBoolean stop = new AtomicBoolean();
    ExecutorService pool = Executors.newFixedThreadPool(5);
    try {
      Future<Integer> reader = pool.submit(() -> {
        int reads = 0;
        while (!stop.get()) {
          for (ExportedTarget t : reg.targets()) {
            t.access(INI);
            reads++;
          }
        }
        return reads;
      });
      List<Future<?>> writers = new ArrayList<>();
      for (int w = 0; w < 4; w++) {
        int id = w;
        writers.add(pool.submit(() -> {
          for (int i = 0; i < 10; i++) {
            String name = "iqn.2026-11.org.example:w" + id + "-" + i;
            reg.createTarget(name, "", Map.of(), Map.of());
            reg.grant(name, INI, i % 2 == 0);
            reg.createLun(lun(name, 0, 1 << 20));
          }
          return null;
        }));
      }
      for (Future<?> f : writers) {
        f.get();
      }
      stop.set(true);
      assertThat(reader.get()).isPositive();
    } finally {
      pool.shutdownNow();
    }
    assertThat(reg.targets()).hasSize(40);
    restart();
    assertThat(reg.targets()).hasSize(40);
    assertThat(reg.listTargets(Map.of())).allSatisfy(t -> assertThat(t.luns()).hasSize(1));
  }
}
