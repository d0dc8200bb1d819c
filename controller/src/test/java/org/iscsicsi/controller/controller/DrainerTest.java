package org.iscsicsi.controller.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.iscsicsi.controller.controller.ControllerFixture.NODE_A;
import static org.iscsicsi.controller.controller.ControllerFixture.createRequest;
import static org.iscsicsi.controller.controller.ControllerFixture.mount;

import csi.v1.ControllerGrpc;
import csi.v1.Csi;
import csi.v1.Csi.VolumeCapability.AccessMode.Mode;
import java.nio.file.Path;
import java.util.List;
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
  private ReplicatingPool fixture;
  private TestPool pool;
  private ControllerService service;
  private ControllerGrpc.ControllerBlockingStub csi;

  @BeforeEach
  void start() throws Exception {
    assumeThat(TestPki.available()).as("openssl installed").isTrue();
    fixture = new ReplicatingPool(dir);
    pool = fixture.pool;
    service = fixture.service;
    csi = fixture.csi;
  }

  @AfterEach
  void stop() throws InterruptedException {
    if (fixture != null) {
      fixture.close();
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
    Lun before = fixture.lun("e1", detached);
    ReplicatingPool.write(Path.of(before.getPath()), 5 * MIB, 3 * MIB);
    String bytes = ReplicatingPool.sha256(Path.of(before.getPath()));
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
    Lun after = fixture.lun("e2", detached);
    assertThat(after.getNaa()).isEqualTo(before.getNaa());
    assertThat(after.getSerial()).isEqualTo(before.getSerial());
    assertThat(ReplicatingPool.sha256(Path.of(after.getPath()))).isEqualTo(bytes);
    assertThat(pool.get("e1").client().findTarget(ReplicatingPool.iqn(detached))).isEmpty();
    assertThat(pool.get("e1").client().findTarget(ReplicatingPool.iqn(attached))).isPresent();
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
    assertThat(pool.get("e2").client().findTarget(ReplicatingPool.iqn(detached)).orElseThrow()
        .getGrantsCount()).isEqualTo(1);
    // a second pass has nothing to move
    assertThat(service.drainer().pass()).extracting(Drainer.Result::outcome)
        .containsExactly(Drainer.Outcome.ATTACHED);
  }
}
