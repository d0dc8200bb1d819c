package org.iscsicsi.controller.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.iscsicsi.controller.service.ControllerFixture.NODE_A;
import static org.iscsicsi.controller.service.ControllerFixture.createRequest;
import static org.iscsicsi.controller.service.ControllerFixture.mount;

import csi.v1.ControllerGrpc;
import csi.v1.Csi;
import csi.v1.Csi.VolumeCapability.AccessMode.Mode;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
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

  record PvcEvent(String pvc, String reason, String message) {}

  private final List<PvcEvent> notes = new CopyOnWriteArrayList<>();
  private final List<PvcEvent> warnings = new CopyOnWriteArrayList<>();
  private final VolumeEvents pvcEvents = new VolumeEvents() {
    @Override
    public void warn(String namespace, String name, String reason, String message) {
      warnings.add(new PvcEvent(namespace + "/" + name, reason, message));
    }

    @Override
    public void note(String namespace, String name, String reason, String message) {
      notes.add(new PvcEvent(namespace + "/" + name, reason, message));
    }
  };

  /** What the drainer told its listener, in order. */
  private static class Heard implements DrainListener {
    final List<DrainProgress> progress = new CopyOnWriteArrayList<>();
    final List<DrainEvent> events = new CopyOnWriteArrayList<>();

    @Override
    public void progress(DrainProgress p) {
      progress.add(p);
    }

    @Override
    public void event(DrainEvent e) {
      events.add(e);
    }

    DrainProgress last() {
      return progress.getLast();
    }
  }

  @BeforeEach
  void start() throws Exception {
    assumeThat(TestPki.available()).as("openssl installed").isTrue();
    fixture = new ReplicatingPool(dir, new ClusterObjects(ChapSecretStore.ENGINE_ONLY, pvcEvents));
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

    assertThat(results).extracting(Drainer.Result::engine, Drainer.Result::volumeId,
        Drainer.Result::outcome, Drainer.Result::detail).containsExactlyInAnyOrder(
        tuple("e1", detached, Drainer.Outcome.MOVED, "e2"),
        tuple("e1", attached, Drainer.Outcome.ATTACHED, "1 grant(s), 0 session(s)"));
    assertThat(results).filteredOn(r -> r.outcome() == Drainer.Outcome.MOVED)
        .singleElement().satisfies(r -> assertThat(r.bytes())
            .as("the two 4 MiB regions holding data").isEqualTo(8 * MIB));
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

  /**
   * Progress and steps of a drain: started once, each move announced (and on the moved volume's
   * PVC), the attached volume reported as blocking once per change, the bytes of the volume on
   * its way, drained once everything left, stopped when the engine no longer drains.
   */
  @Test
  void reportsProgressAndEachStepOnce() throws Exception {
    Heard heard = new Heard();
    service.drainer().listen(heard);
    pool.status("e2", EngineState.CORDONED, "so both volumes land on e1");
    String detached = csi.createVolume(createRequest("pvc-free", 12 * MIB)
        .putParameters("csi.storage.k8s.io/pvc/name", "free")
        .putParameters("csi.storage.k8s.io/pvc/namespace", "apps").build()).getVolume()
        .getVolumeId();
    String attached = csi.createVolume(createRequest("pvc-used", 4 * MIB)
        .putParameters("csi.storage.k8s.io/pvc/name", "used")
        .putParameters("csi.storage.k8s.io/pvc/namespace", "apps").build()).getVolume()
        .getVolumeId();
    ReplicatingPool.write(Path.of(fixture.lun("e1", detached).getPath()), 0, 6 * MIB);
    Csi.ControllerPublishVolumeRequest publish = Csi.ControllerPublishVolumeRequest.newBuilder()
        .setVolumeId(attached).setNodeId(NODE_A)
        .setVolumeCapability(mount(Mode.SINGLE_NODE_WRITER)).build();
    csi.controllerPublishVolume(publish);
    pool.status("e2", EngineState.READY, "");
    pool.status("e1", EngineState.DRAINING, "drained by the test");

    service.drainer().pass();

    assertThat(heard.events).hasSize(3);
    assertThat(heard.events.get(0)).isEqualTo(new DrainEvent.Started("e1", 2, false));
    assertThat(heard.events.get(1)).isInstanceOfSatisfying(DrainEvent.Moved.class, m -> {
      assertThat(m.volumeId()).isEqualTo(detached);
      assertThat(m.destination()).isEqualTo("e2");
      assertThat(m.bytes()).isGreaterThanOrEqualTo(6 * MIB);
    });
    assertThat(heard.events.get(2)).isEqualTo(new DrainEvent.Blocked("e1", List.of(attached)));
    assertThat(heard.progress).as("the volume on its way is named")
        .anySatisfy(p -> assertThat(p.current()).isNotNull().satisfies(c -> {
          assertThat(c.volumeId()).isEqualTo(detached);
          assertThat(c.destination()).isEqualTo("e2");
        }));
    assertThat(heard.last()).isEqualTo(new DrainProgress("e1", 2, 1, 1, 0, List.of(attached),
        java.util.Map.of(), null));
    assertThat(notes).singleElement().satisfies(n -> {
      assertThat(n.pvc()).isEqualTo("apps/free");
      assertThat(n.reason()).isEqualTo(VolumeEvents.MOVED);
      assertThat(n.message()).contains("to engine e2");
    });
    assertThat(warnings).isEmpty();

    service.drainer().pass();
    assertThat(heard.events).as("nothing new to announce").hasSize(3);

    csi.controllerUnpublishVolume(Csi.ControllerUnpublishVolumeRequest.newBuilder()
        .setVolumeId(attached).setNodeId(NODE_A).build());
    service.drainer().pass();
    assertThat(heard.events.subList(3, heard.events.size())).satisfiesExactly(
        e -> assertThat(e).isInstanceOfSatisfying(DrainEvent.Moved.class,
            m -> assertThat(m.volumeId()).isEqualTo(attached)),
        e -> assertThat(e).isEqualTo(new DrainEvent.Drained("e1", 2)));
    assertThat(heard.last()).isEqualTo(new DrainProgress("e1", 2, 2, 0, 0, List.of(),
        java.util.Map.of(), null));
    assertThat(heard.last().drained()).isTrue();
    assertThat(notes).extracting(PvcEvent::pvc).containsExactly("apps/free", "apps/used");

    pool.status("e1", EngineState.READY, "");
    service.drainer().pass();
    assertThat(heard.events.getLast()).isEqualTo(new DrainEvent.Stopped("e1"));
  }

  /**
   * A publish while the bytes move cancels the move: it succeeds on the source engine, the
   * destination keeps no copy, the volume stays where it was (and its failed move is reported),
   * and a later pass leaves the now attached volume alone.
   */
  @Test
  void publishDuringTheMoveCancelsItAndWinsOnTheSource() throws Exception {
    pool.status("e2", EngineState.CORDONED, "so the volume lands on e1");
    String id = csi.createVolume(createRequest("pvc-busy", 32 * MIB).build()).getVolume()
        .getVolumeId();
    ReplicatingPool.write(Path.of(fixture.lun("e1", id).getPath()), 0, 32 * MIB);
    pool.status("e2", EngineState.READY, "");
    pool.status("e1", EngineState.DRAINING, "drained by the test");
    Csi.ControllerPublishVolumeRequest publish = Csi.ControllerPublishVolumeRequest.newBuilder()
        .setVolumeId(id).setNodeId(NODE_A).setVolumeCapability(mount(Mode.SINGLE_NODE_WRITER))
        .build();
    List<Csi.ControllerPublishVolumeResponse> published = new CopyOnWriteArrayList<>();
    Heard heard = new Heard() {
      @Override
      public void progress(DrainProgress p) {
        super.progress(p);
        // the first report of the current volume is made under its lock, the later ones while
        // the bytes move (the drainer polls the transfer), when a publish may come
        long moving = progress.stream().filter(q -> q.current() != null).count();
        if (p.current() != null && moving == 2) {
          published.add(csi.controllerPublishVolume(publish));
        }
      }
    };
    service.drainer().listen(heard);

    List<Drainer.Result> results = service.drainer().pass();

    assertThat(published).as("the publish ran while the bytes moved").hasSize(1);
    assertThat(results).singleElement().satisfies(r -> {
      assertThat(r.outcome()).isEqualTo(Drainer.Outcome.FAILED);
      assertThat(r.detail()).startsWith("cancelled by ControllerPublishVolume");
    });
    assertThat(pool.get("e2").client().findTarget(ReplicatingPool.iqn(id)))
        .as("no copy left on the destination").isEmpty();
    assertThat(pool.get("e1").client().findTarget(ReplicatingPool.iqn(id)).orElseThrow()
        .getGrantsCount()).as("granted on the source").isEqualTo(1);
    assertThat(heard.events).anySatisfy(e -> assertThat(e)
        .isInstanceOf(DrainEvent.MoveFailed.class));
    assertThat(service.drainer().pass()).extracting(Drainer.Result::outcome)
        .containsExactly(Drainer.Outcome.ATTACHED);
    assertThat(heard.last().errors()).as("a volume that stays attached is no error").isEmpty();
  }
}
