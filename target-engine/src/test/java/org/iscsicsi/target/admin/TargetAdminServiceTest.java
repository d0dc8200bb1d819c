package org.iscsicsi.target.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.engine.EngineConfig;
import org.iscsicsi.target.engine.TargetEngine;
import org.iscsicsi.target.testing.Exec;
import org.iscsicsi.target.v1.CloseSessionsRequest;
import org.iscsicsi.target.v1.CreateLunRequest;
import org.iscsicsi.target.v1.CreateSnapshotRequest;
import org.iscsicsi.target.v1.CreateTargetRequest;
import org.iscsicsi.target.v1.DeleteLunRequest;
import org.iscsicsi.target.v1.DeleteSnapshotRequest;
import org.iscsicsi.target.v1.DeleteTargetRequest;
import org.iscsicsi.target.v1.GetEngineInfoRequest;
import org.iscsicsi.target.v1.GetPoolCapacityRequest;
import org.iscsicsi.target.v1.GetTargetRequest;
import org.iscsicsi.target.v1.GrantInitiatorRequest;
import org.iscsicsi.target.v1.ListSessionsRequest;
import org.iscsicsi.target.v1.ListSnapshotsRequest;
import org.iscsicsi.target.v1.ListTargetsRequest;
import org.iscsicsi.target.v1.Lun;
import org.iscsicsi.target.v1.LunQos;
import org.iscsicsi.target.v1.LunRef;
import org.iscsicsi.target.v1.ResizeLunRequest;
import org.iscsicsi.target.v1.RevokeInitiatorRequest;
import org.iscsicsi.target.v1.SetChapRequest;
import org.iscsicsi.target.v1.SetLunQosRequest;
import org.iscsicsi.target.v1.SetTargetLabelsRequest;
import org.iscsicsi.target.v1.Target;
import org.iscsicsi.target.v1.TargetAdminGrpc;
import org.iscsicsi.target.v1.TargetAdminGrpc.TargetAdminBlockingStub;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pins the target.v1 admin API as the controller sees it, over the engine's in-process channel:
 * every RPC, the status code of every refusal listed in target.proto's header, that no response
 * and no log line (at any level) carries a CHAP secret, and (with qemu-io as a real initiator
 * holding a session) that ListSessions/CloseSessions/DeleteTarget/RevokeInitiator and a changed
 * grant act on live sessions.
 */
class TargetAdminServiceTest {

  static final String T1 = "iqn.2026-11.org.example:admin1";
  static final String T2 = "iqn.2026-11.org.example:admin2";
  static final String INI = "iqn.2026-11.org.example:qemu-initiator";
  static final String SECRET = "initiator-secret-0123";
  static final String MUTUAL = "target-secret-456789";

  @TempDir
  Path dir;

  TargetEngine engine;
  TargetAdminBlockingStub admin;

  @BeforeEach
  void start() throws Exception {
    engine = TargetEngine.start(EngineConfig.of(dir.resolve("state"))
        .withPortal(new HostPort("127.0.0.1", 0)));
    admin = TargetAdminGrpc.newBlockingStub(engine.adminChannel());
  }

  @AfterEach
  void stop() {
    engine.close();
  }

  static void expect(Status.Code code, String message, ThrowingCallable call) {
    assertThatThrownBy(call).isInstanceOfSatisfying(StatusRuntimeException.class,
        e -> assertThat(e.getStatus().getCode()).isEqualTo(code))
        .hasMessageContaining(message);
  }

  Target create(String name) {
    return admin.createTarget(CreateTargetRequest.newBuilder().setName(name).build());
  }

  Lun lun(String target, int n, long size) {
    return admin.createLun(CreateLunRequest.newBuilder().setTarget(target).setLun(n)
        .setSizeBytes(size).build());
  }

  @Test
  void engineInfoAndPool() {
    create(T1);
    lun(T1, 0, 4 << 20);
    var info = admin.getEngineInfo(GetEngineInfoRequest.getDefaultInstance());
    assertThat(info.getServing()).isTrue();
    assertThat(info.getTargetCount()).isEqualTo(1);
    assertThat(info.getPortalsList()).containsExactly("127.0.0.1:" + engine.iscsiAddress().port());
    var pool = admin.getPoolCapacity(GetPoolCapacityRequest.getDefaultInstance());
    assertThat(pool.getProvisionedBytes()).isEqualTo(4 << 20);
    assertThat(pool.getTotalBytes()).isGreaterThanOrEqualTo(pool.getAvailableBytes());
    assertThat(pool.getAvailableBytes()).isPositive();
  }

  @Test
  void targetLifecycleAndCodes() {
    Target t = admin.createTarget(CreateTargetRequest.newBuilder().setName(T1).setAlias("a")
        .putLabels("pvc", "x").putParameters("MaxRecvDataSegmentLength", "131072").build());
    assertThat(t.getPortalGroupTag()).isEqualTo(1);
    assertThat(admin.createTarget(CreateTargetRequest.newBuilder().setName(T1).setAlias("a")
        .putLabels("pvc", "x").putParameters("MaxRecvDataSegmentLength", "131072").build()))
        .isEqualTo(t);
    expect(Status.Code.ALREADY_EXISTS, "already exists", () -> create(T1));
    expect(Status.Code.INVALID_ARGUMENT, "invalid iSCSI name", () -> create("not-a-name"));
    expect(Status.Code.INVALID_ARGUMENT, "is empty", () -> create(""));
    expect(Status.Code.NOT_FOUND, "does not exist",
        () -> admin.getTarget(GetTargetRequest.newBuilder().setName(T2).build()));
    assertThat(admin.getTarget(GetTargetRequest.newBuilder().setName(T1).build())).isEqualTo(t);
    create(T2);
    assertThat(admin.listTargets(ListTargetsRequest.getDefaultInstance()).getTargetsCount())
        .isEqualTo(2);
    assertThat(admin.listTargets(ListTargetsRequest.newBuilder().putLabelSelector("pvc", "x")
        .build()).getTargetsList()).extracting(Target::getName).containsExactly(T1);
    Target relabeled = admin.setTargetLabels(SetTargetLabelsRequest.newBuilder().setName(T1)
        .putLabels("pvc", "y").build());
    assertThat(relabeled.getLabelsMap()).containsExactly(java.util.Map.entry("pvc", "y"));
    expect(Status.Code.NOT_FOUND, "does not exist", () -> admin.setTargetLabels(
        SetTargetLabelsRequest.newBuilder().setName("iqn.2026-11.org.example:none").build()));
    admin.deleteTarget(DeleteTargetRequest.newBuilder().setName(T1).build());
    expect(Status.Code.NOT_FOUND, "does not exist",
        () -> admin.deleteTarget(DeleteTargetRequest.newBuilder().setName(T1).build()));
  }

  @Test
  void lunLifecycleAndCodes() {
    create(T1);
    Lun l = lun(T1, 0, 8 << 20);
    assertThat(l.getBlockSize()).isEqualTo(512);
    assertThat(l.getThin()).isTrue();
    assertThat(l.getNaa()).hasSize(32);
    assertThat(l.getSerial()).isNotEmpty();
    assertThat(l.getCondition()).isEmpty();
    assertThat(Path.of(l.getPath())).exists();
    assertThat(lun(T1, 0, 8 << 20)).isEqualTo(l);
    expect(Status.Code.ALREADY_EXISTS, "already exists", () -> lun(T1, 0, 16 << 20));
    expect(Status.Code.INVALID_ARGUMENT, "not a multiple", () -> lun(T1, 1, 1000));
    expect(Status.Code.INVALID_ARGUMENT, "block size 2048", () -> admin.createLun(
        CreateLunRequest.newBuilder().setTarget(T1).setLun(1).setSizeBytes(1 << 20)
            .setBlockSize(2048).build()));
    expect(Status.Code.NOT_FOUND, "does not exist", () -> lun(T2, 0, 1 << 20));
    expect(Status.Code.RESOURCE_EXHAUSTED, "bytes free", () -> admin.createLun(
        CreateLunRequest.newBuilder().setTarget(T1).setLun(2).setThick(true)
            .setSizeBytes(1L << 50).build()));
    Lun grown = admin.resizeLun(ResizeLunRequest.newBuilder().setTarget(T1).setLun(0)
        .setSizeBytes(16 << 20).build());
    assertThat(grown.getSizeBytes()).isEqualTo(16 << 20);
    assertThat(grown.getNaa()).isEqualTo(l.getNaa());
    expect(Status.Code.INVALID_ARGUMENT, "cannot shrink", () -> admin.resizeLun(
        ResizeLunRequest.newBuilder().setTarget(T1).setLun(0).setSizeBytes(8 << 20).build()));
    admin.deleteLun(DeleteLunRequest.newBuilder().setTarget(T1).setLun(0).build());
    assertThat(Path.of(l.getPath())).doesNotExist();
    expect(Status.Code.NOT_FOUND, "does not exist", () -> admin.deleteLun(
        DeleteLunRequest.newBuilder().setTarget(T1).setLun(0).build()));
  }

  /**
   * CreateLun takes I/O limits and SetLunQos replaces them; both show in the Lun message (with
   * the throttling statistics), out-of-range figures are INVALID_ARGUMENT naming the figure, an
   * unknown LUN NOT_FOUND, and a repeated CreateLun keeps the limits the LUN has.
   */
  @Test
  void lunQosCalls() {
    create(T1);
    LunQos gold = LunQos.newBuilder().setReadIops(2000).setWriteIops(1000)
        .setReadBytesPerSecond(100 << 20).setBurstMillis(500).build();
    Lun l = admin.createLun(CreateLunRequest.newBuilder().setTarget(T1).setLun(0)
        .setSizeBytes(4 << 20).setQos(gold).build());
    assertThat(l.getQos()).isEqualTo(gold);
    assertThat(l.getQosStatistics().getRefusedCommands()).isZero();
    assertThat(admin.createLun(CreateLunRequest.newBuilder().setTarget(T1).setLun(0)
        .setSizeBytes(4 << 20).build()).getQos()).isEqualTo(gold);

    LunQos silver = LunQos.newBuilder().setWriteIops(300).build();
    Lun changed = admin.setLunQos(SetLunQosRequest.newBuilder().setTarget(T1).setLun(0)
        .setQos(silver).build());
    assertThat(changed.getQos()).isEqualTo(silver);
    assertThat(admin.setLunQos(SetLunQosRequest.newBuilder().setTarget(T1).setLun(0)
        .setQos(silver).build())).isEqualTo(changed);
    assertThat(admin.getTarget(GetTargetRequest.newBuilder().setName(T1).build()).getLuns(0)
        .getQos()).isEqualTo(silver);
    assertThat(admin.setLunQos(SetLunQosRequest.newBuilder().setTarget(T1).setLun(0).build())
        .hasQos()).isFalse();

    expect(Status.Code.INVALID_ARGUMENT, "write bytes per second must be 0 (no limit) or 65536",
        () -> admin.setLunQos(SetLunQosRequest.newBuilder().setTarget(T1).setLun(0)
            .setQos(LunQos.newBuilder().setWriteBytesPerSecond(1000)).build()));
    expect(Status.Code.INVALID_ARGUMENT, "read IOPS", () -> admin.createLun(
        CreateLunRequest.newBuilder().setTarget(T1).setLun(1).setSizeBytes(1 << 20)
            .setQos(LunQos.newBuilder().setReadIops(-1)).build()));
    expect(Status.Code.NOT_FOUND, "LUN 3", () -> admin.setLunQos(SetLunQosRequest.newBuilder()
        .setTarget(T1).setLun(3).setQos(silver).build()));
  }

  @Test
  void grantsAndChapNeverExposeSecrets() {
    // Everything logged during the test, at every level, must be free of secrets too.
    var root = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(
        org.slf4j.Logger.ROOT_LOGGER_NAME);
    var logged =
        new ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent>();
    logged.start();
    root.addAppender(logged);
    ch.qos.logback.classic.Level level = root.getLevel();
    root.setLevel(ch.qos.logback.classic.Level.ALL);
    try {
      chapCalls();
    } finally {
      root.setLevel(level);
      root.detachAppender(logged);
    }
    assertThat(logged.list).isNotEmpty().allSatisfy(e -> assertThat(e.getFormattedMessage()
        + java.util.Arrays.toString(e.getArgumentArray()))
        .doesNotContain(SECRET).doesNotContain(MUTUAL).doesNotContain("short-pw"));
  }

  void chapCalls() {
    create(T1);
    Target t = admin.grantInitiator(GrantInitiatorRequest.newBuilder().setTarget(T1)
        .setInitiator(INI).setReadOnly(true).build());
    assertThat(t.getGrantsList()).singleElement().satisfies(g -> {
      assertThat(g.getInitiator()).isEqualTo(INI);
      assertThat(g.getReadOnly()).isTrue();
    });
    expect(Status.Code.INVALID_ARGUMENT, "initiator", () -> admin.grantInitiator(
        GrantInitiatorRequest.newBuilder().setTarget(T1).setInitiator("x y").build()));
    Target chap = admin.setChap(SetChapRequest.newBuilder().setTarget(T1).setUser("alice")
        .setPassword(SECRET).setMutualUser("tgt").setMutualPassword(MUTUAL).build());
    assertThat(chap.getChap().getUser()).isEqualTo("alice");
    assertThat(chap.getChap().getMutualUser()).isEqualTo("tgt");
    for (Target seen : List.of(chap,
        admin.getTarget(GetTargetRequest.newBuilder().setName(T1).build()),
        admin.listTargets(ListTargetsRequest.getDefaultInstance()).getTargets(0))) {
      ByteString wire = seen.toByteString();
      assertThat(wire.toStringUtf8()).doesNotContain(SECRET).doesNotContain(MUTUAL);
    }
    StatusRuntimeException bad = (StatusRuntimeException) org.assertj.core.api.Assertions
        .catchThrowable(() -> admin.setChap(SetChapRequest.newBuilder().setTarget(T1)
            .setUser("alice").setPassword("short-pw").build()));
    assertThat(bad.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(bad.getMessage()).contains("12 to 255 bytes").doesNotContain("short-pw");
    Target cleared = admin.setChap(SetChapRequest.newBuilder().setTarget(T1).build());
    assertThat(cleared.getChap().getUser()).isEmpty();
    Target revoked = admin.revokeInitiator(RevokeInitiatorRequest.newBuilder().setTarget(T1)
        .setInitiator(INI).build());
    assertThat(revoked.getGrantsList()).isEmpty();
    assertThat(admin.revokeInitiator(RevokeInitiatorRequest.newBuilder().setTarget(T1)
        .setInitiator(INI).build())).isEqualTo(revoked);
    expect(Status.Code.NOT_FOUND, "does not exist", () -> admin.revokeInitiator(
        RevokeInitiatorRequest.newBuilder().setTarget(T2).setInitiator(INI).build()));
  }

  @Test
  void snapshotsAndClones() {
    create(T1);
    Lun src = lun(T1, 0, 4 << 20);
    LunRef ref = LunRef.newBuilder().setTarget(T1).setLun(0).build();
    var snap = admin.createSnapshot(CreateSnapshotRequest.newBuilder().setId("s1")
        .setSource(ref).putLabels("k", "v").build());
    assertThat(snap.getSizeBytes()).isEqualTo(4 << 20);
    assertThat(snap.getCreatedUnixNanos()).isPositive();
    assertThat(Path.of(snap.getPath())).exists();
    assertThat(admin.createSnapshot(CreateSnapshotRequest.newBuilder().setId("s1")
        .setSource(ref).build()).getId()).isEqualTo("s1");
    expect(Status.Code.NOT_FOUND, "does not exist", () -> admin.createSnapshot(
        CreateSnapshotRequest.newBuilder().setId("s2")
            .setSource(LunRef.newBuilder().setTarget(T1).setLun(5)).build()));
    expect(Status.Code.INVALID_ARGUMENT, "snapshot id", () -> admin.createSnapshot(
        CreateSnapshotRequest.newBuilder().setId("../x").setSource(ref).build()));
    Lun restored = admin.createLun(CreateLunRequest.newBuilder().setTarget(T1).setLun(1)
        .setSizeBytes(4 << 20).setSnapshotId("s1").build());
    Lun clone = admin.createLun(CreateLunRequest.newBuilder().setTarget(T1).setLun(2)
        .setSizeBytes(8 << 20).setCloneOf(ref).build());
    assertThat(List.of(restored.getNaa(), clone.getNaa())).doesNotContain(src.getNaa())
        .doesNotHaveDuplicates();
    assertThat(List.of(restored.getSerial(), clone.getSerial())).doesNotContain(src.getSerial());
    expect(Status.Code.NOT_FOUND, "snapshot nope", () -> admin.createLun(CreateLunRequest
        .newBuilder().setTarget(T1).setLun(3).setSizeBytes(4 << 20).setSnapshotId("nope")
        .build()));
    assertThat(admin.listSnapshots(ListSnapshotsRequest.newBuilder().setSource(ref).build())
        .getSnapshotsList()).extracting(s -> s.getId()).containsExactly("s1");
    assertThat(admin.listSnapshots(ListSnapshotsRequest.newBuilder().setId("zz").build())
        .getSnapshotsCount()).isZero();
    admin.deleteSnapshot(DeleteSnapshotRequest.newBuilder().setId("s1").build());
    expect(Status.Code.NOT_FOUND, "does not exist", () -> admin.deleteSnapshot(
        DeleteSnapshotRequest.newBuilder().setId("s1").build()));
  }

  /** qemu-io holding a session open for a while, as a chosen initiator. */
  Process qemuSession(String target, String initiator) throws Exception {
    int port = engine.iscsiAddress().port();
    return Exec.start(List.of("qemu-io", "--image-opts", "-c", "sleep 30000",
        "driver=iscsi,transport=tcp,portal=127.0.0.1:" + port + ",target=" + target
            + ",lun=0,initiator-name=" + initiator));
  }

  void awaitSessions(String target, int n) {
    await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100))
        .until(() -> admin.listSessions(ListSessionsRequest.newBuilder().setTarget(target)
            .build()).getSessionsList().stream().filter(s -> !s.getDiscovery()).count() == n);
  }

  @Test
  void sessionsOfARealInitiator() throws Exception {
    assumeThat(Exec.available("qemu-io")).as("qemu-io (qemu-utils) installed").isTrue();
    create(T1);
    create(T2);
    lun(T1, 0, 1 << 20);
    lun(T2, 0, 1 << 20);
    admin.grantInitiator(GrantInitiatorRequest.newBuilder().setTarget(T1).setInitiator(INI)
        .build());
    admin.grantInitiator(GrantInitiatorRequest.newBuilder().setTarget(T2).setInitiator(INI)
        .build());
    Process p1 = qemuSession(T1, INI);
    Process p2 = qemuSession(T2, INI);
    try {
      awaitSessions(T1, 1);
      awaitSessions(T2, 1);
      var s = admin.listSessions(ListSessionsRequest.newBuilder().setTarget(T1).build())
          .getSessions(0);
      assertThat(s.getInitiator()).isEqualTo(INI);
      assertThat(s.getIsid()).hasSize(12);
      assertThat(s.getConnectionsList()).singleElement()
          .satisfies(c -> assertThat(c.getRemoteAddress()).contains("127.0.0.1"));
      assertThat(admin.getTarget(GetTargetRequest.newBuilder().setName(T1).build())
          .getSessionCount()).isEqualTo(1);

      expect(Status.Code.FAILED_PRECONDITION, "session(s) logged in", () -> admin.deleteTarget(
          DeleteTargetRequest.newBuilder().setName(T1).build()));
      admin.deleteTarget(DeleteTargetRequest.newBuilder().setName(T1).setForce(true).build());
      awaitSessions(T1, 0);

      // Revoking the grant closes the session, and the initiator cannot come back.
      admin.revokeInitiator(RevokeInitiatorRequest.newBuilder().setTarget(T2)
          .setInitiator(INI).build());
      awaitSessions(T2, 0);
      await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(5))
          .pollInterval(Duration.ofMillis(100))
          .until(() -> admin.listSessions(ListSessionsRequest.newBuilder().setTarget(T2).build())
              .getSessionsList().stream().noneMatch(x -> !x.getDiscovery()));
      expect(Status.Code.NOT_FOUND, "does not exist", () -> admin.closeSessions(
          CloseSessionsRequest.newBuilder().setTarget(T1).build()));
      assertThat(admin.closeSessions(CloseSessionsRequest.newBuilder().setTarget(T2).build())
          .getClosed()).isZero();
    } finally {
      p1.destroyForcibly().waitFor();
      p2.destroyForcibly().waitFor();
    }
  }

  @Test
  void downgradingAGrantReplacesTheSession() throws Exception {
    assumeThat(Exec.available("qemu-io")).as("qemu-io (qemu-utils) installed").isTrue();
    create(T1);
    lun(T1, 0, 1 << 20);
    admin.grantInitiator(GrantInitiatorRequest.newBuilder().setTarget(T1).setInitiator("ALL")
        .build());
    Process p = qemuSession(T1, INI);
    try {
      awaitSessions(T1, 1);
      var rw = admin.listSessions(ListSessionsRequest.newBuilder().setTarget(T1).build())
          .getSessions(0);
      assertThat(rw.getReadOnly()).isFalse();
      // The initiator's own grant (read-only) now wins over ALL: its read-write session goes,
      // and the one qemu logs in again with is read-only.
      admin.grantInitiator(GrantInitiatorRequest.newBuilder().setTarget(T1).setInitiator(INI)
          .setReadOnly(true).build());
      await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100))
          .until(() -> admin.listSessions(ListSessionsRequest.newBuilder().setTarget(T1).build())
              .getSessionsList().stream().noneMatch(s -> s.getTsih() == rw.getTsih()));
      await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
          .until(() -> admin.listSessions(ListSessionsRequest.newBuilder().setTarget(T1).build())
              .getSessionsList().stream().anyMatch(s -> !s.getDiscovery() && s.getReadOnly()));
    } finally {
      p.destroyForcibly().waitFor();
    }
  }

  @Test
  void closeSessionsDropsTheSession() throws Exception {
    assumeThat(Exec.available("qemu-io")).as("qemu-io (qemu-utils) installed").isTrue();
    create(T1);
    lun(T1, 0, 1 << 20);
    admin.grantInitiator(GrantInitiatorRequest.newBuilder().setTarget(T1).setInitiator("ALL")
        .build());
    Process p = qemuSession(T1, INI);
    try {
      awaitSessions(T1, 1);
      long tsih = admin.listSessions(ListSessionsRequest.newBuilder().setTarget(T1).build())
          .getSessions(0).getTsih();
      assertThat(admin.closeSessions(CloseSessionsRequest.newBuilder().setTarget(T1)
          .setInitiator(INI).build()).getClosed()).isEqualTo(1);
      // qemu reconnects by itself; whatever is there once the old one is gone is a new session
      await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50))
          .until(() -> admin.listSessions(ListSessionsRequest.newBuilder().setTarget(T1).build())
              .getSessionsList().stream().noneMatch(s -> s.getTsih() == tsih));
    } finally {
      p.destroyForcibly().waitFor();
    }
    assertThat(Files.exists(dir.resolve("state/state.json"))).isTrue();
  }
}
