package org.iscsicsi.controller.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.iscsicsi.controller.controller.ControllerFixture.NODE_A;
import static org.iscsicsi.controller.controller.ControllerFixture.createRequest;
import static org.iscsicsi.controller.controller.ControllerFixture.mount;

import csi.v1.ControllerGrpc;
import csi.v1.Csi;
import csi.v1.Csi.VolumeCapability.AccessMode.Mode;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.controller.engine.EngineState;
import org.iscsicsi.target.testing.TestPki;
import org.iscsicsi.target.v1.ListSnapshotsRequest;
import org.iscsicsi.target.v1.Lun;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The drainer over two real engines with replication ports behind {@link TestPool}: a detached
 * volume of a draining engine moves with its snapshot to the other engine with its id, IQN, NAA,
 * serial and bytes unchanged, the CSI calls find it and its snapshot there, and the source holds
 * neither any more; a published (attached) volume stays and is reported.
 */
class DrainerTest {

  private static final long MIB = 1 << 20;

  @TempDir Path dir;
  private TestPool pool;
  private Server server;
  private ManagedChannel channel;
  private ControllerService service;
  private ControllerGrpc.ControllerBlockingStub csi;

  @BeforeEach
  void start() throws Exception {
    assumeThat(TestPki.available()).as("openssl installed").isTrue();
    TestPki ca = TestPki.create(dir, "engines");
    pool = new TestPool(dir, TestPki.tls(ca.issue("engine"), ca));
    pool.start("e1", Map.of());
    pool.start("e2", Map.of());
    String name = "drain-" + UUID.randomUUID();
    service = new ControllerService(pool, ControllerConfig.defaults());
    server = InProcessServerBuilder.forName(name).directExecutor().addService(service)
        .build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    csi = ControllerGrpc.newBlockingStub(channel);
  }

  @AfterEach
  void stop() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow();
      server.shutdownNow();
      server.awaitTermination(5, TimeUnit.SECONDS);
    }
    if (pool != null) {
      pool.close();
    }
  }

  /** The detached volume moves with its snapshot, the attached one is listed and stays. */
  @Test
  void movesDetachedVolumesAndReportsAttachedOnes() throws Exception {
    pool.status("e2", EngineState.CORDONED, "so both volumes land on e1");
    String detached = csi.createVolume(createRequest("pvc-free", 12 * MIB).build()).getVolume()
        .getVolumeId();
    String attached = csi.createVolume(createRequest("pvc-used", 4 * MIB).build()).getVolume()
        .getVolumeId();
    Lun before = lun("e1", detached);
    write(Path.of(before.getPath()), 5 * MIB, 3 * MIB);
    String bytes = sha256(Path.of(before.getPath()));
    Csi.Snapshot snap = csi.createSnapshot(Csi.CreateSnapshotRequest.newBuilder()
        .setName("snap-free").setSourceVolumeId(detached).build()).getSnapshot();
    csi.controllerPublishVolume(Csi.ControllerPublishVolumeRequest.newBuilder()
        .setVolumeId(attached).setNodeId(NODE_A)
        .setVolumeCapability(mount(Mode.SINGLE_NODE_WRITER)).build());
    pool.status("e2", EngineState.READY, "");
    pool.status("e1", EngineState.DRAINING, "drained by the test");

    List<Drainer.Result> results = service.drainer().pass();

    assertThat(results).containsExactlyInAnyOrder(
        new Drainer.Result("e1", detached, Drainer.Outcome.MOVED, "e2"),
        new Drainer.Result("e1", attached, Drainer.Outcome.ATTACHED, "1 grant(s), 0 session(s)"));
    Lun after = lun("e2", detached);
    assertThat(after.getNaa()).isEqualTo(before.getNaa());
    assertThat(after.getSerial()).isEqualTo(before.getSerial());
    assertThat(sha256(Path.of(after.getPath()))).isEqualTo(bytes);
    assertThat(pool.get("e1").client().findTarget(iqn(detached))).isEmpty();
    assertThat(pool.get("e1").client().findTarget(iqn(attached))).isPresent();
    assertThat(pool.get("e1").client().listSnapshots(ListSnapshotsRequest.getDefaultInstance()))
        .isEmpty();
    assertThat(csi.getSnapshot(Csi.GetSnapshotRequest.newBuilder()
        .setSnapshotId(snap.getSnapshotId()).build()).getSnapshot().getSourceVolumeId())
        .isEqualTo(detached);
    assertThat(pool.get("e2").client().findSnapshot(snap.getSnapshotId()
        .substring("pool.".length()))).isPresent();
    assertThat(csi.controllerGetVolume(Csi.ControllerGetVolumeRequest.newBuilder()
        .setVolumeId(detached).build()).getVolume().getCapacityBytes()).isEqualTo(12 * MIB);
    // the moved volume is published from its new engine
    assertThat(csi.controllerPublishVolume(Csi.ControllerPublishVolumeRequest.newBuilder()
        .setVolumeId(detached).setNodeId(NODE_A)
        .setVolumeCapability(mount(Mode.SINGLE_NODE_WRITER)).build()).getPublishContextMap())
        .isNotEmpty();
    assertThat(pool.get("e2").client().findTarget(iqn(detached)).orElseThrow()
        .getGrantsCount()).isEqualTo(1);
    // a second pass has nothing to move
    assertThat(service.drainer().pass()).extracting(Drainer.Result::outcome)
        .containsExactly(Drainer.Outcome.ATTACHED);
  }

  private static String iqn(String volumeId) {
    return "iqn.2026-11.org.iscsicsi:" + volumeId;
  }

  private Lun lun(String engine, String volumeId) {
    return pool.get(engine).client().findTarget(iqn(volumeId)).orElseThrow().getLuns(0);
  }

  private static void write(Path file, long offset, long length) throws Exception {
    byte[] b = new byte[(int) length];
    new Random(offset).nextBytes(b);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(b), offset);
      ch.force(true);
    }
  }

  private static String sha256(Path file) throws Exception {
    MessageDigest d = MessageDigest.getInstance("SHA-256");
    try (FileChannel ch = FileChannel.open(file)) {
      ByteBuffer buf = ByteBuffer.allocate(1 << 20);
      while (ch.read(buf.clear()) > 0) {
        d.update(buf.flip());
      }
    }
    return HexFormat.of().formatHex(d.digest());
  }
}
