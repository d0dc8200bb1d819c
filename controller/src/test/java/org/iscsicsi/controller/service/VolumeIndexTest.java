package org.iscsicsi.controller.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.iscsicsi.controller.service.GrpcAssert.assertCode;

import io.grpc.Status;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.engine.EngineObject;
import org.iscsicsi.controller.engine.EngineState;
import org.iscsicsi.controller.engine.PoolMember;
import org.iscsicsi.controller.engine.Reachability;
import org.iscsicsi.controller.volume.VolumeLabels;
import org.iscsicsi.controller.volume.VolumeParameters;
import org.iscsicsi.controller.volume.VolumeRecord;
import org.iscsicsi.target.v1.CreateLunRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pool's volume index over real engines ({@link TestPool}: real embedded engines, a
 * stand-in directory): read from ListTargets/ListSnapshots of every reachable engine on first
 * use (only this driver's pool targets), again when an engine joins or is reachable again; kept
 * across an engine's absence; a miss asks every reachable engine and a target gone behind its
 * back is forgotten; a volume on an unreachable engine is the index's copy to queries and
 * UNAVAILABLE, naming the engine, to changes; one PVC event per engine transition.
 */
class VolumeIndexTest {

  static final ControllerConfig CONFIG = ControllerConfig.defaults();
  static final long MIB = 1 << 20;

  @TempDir Path dir;
  TestPool pool;
  Engine e1;
  Engine e2;

  record Warning(String namespace, String name, String reason, String message) {}

  final List<Warning> warnings = new java.util.concurrent.CopyOnWriteArrayList<>();
  final VolumeEvents events = new VolumeEvents() {
    @Override
    public void warn(String ns, String name, String reason, String message) {
      warnings.add(new Warning(ns, name, reason, message));
    }

    @Override
    public void note(String ns, String name, String reason, String message) {
      throw new AssertionError("the index records warnings only: " + reason);
    }
  };

  @BeforeEach
  void start() throws Exception {
    pool = new TestPool(dir);
    e1 = pool.start("e1", Map.of());
    e2 = pool.start("e2", Map.of());
  }

  @AfterEach
  void stop() {
    pool.close();
  }

  /** A complete volume target made behind the controller's back. */
  static String make(Engine e, String id, VolumeParameters params, String driver) {
    String iqn = CONFIG.iqnPrefix() + ":" + id;
    e.client().createTarget(iqn, id, VolumeLabels.forVolume(driver, id, params, "", "mount"));
    e.client().createLun(CreateLunRequest.newBuilder().setTarget(iqn).setLun(0)
        .setSizeBytes(MIB).setBlockSize(512).build());
    return iqn;
  }

  static String make(Engine e, String id) {
    return make(e, id, VolumeParameters.defaults(), CONFIG.driverName());
  }

  /** On first use the index holds this driver's pool volumes and snapshots of every engine. */
  @Test
  void readsEveryReachableEngineOnFirstUse() {
    String v1 = make(e1, "pool.v1");
    make(e2, "pool.v2");
    make(e1, "pool.foreign", VolumeParameters.defaults(), "other.csi.example.org");
    make(e2, "local.fixed");
    e1.client().createSnapshot("s1", v1, Map.of(VolumeLabels.MANAGED_BY, CONFIG.driverName(),
        VolumeLabels.SOURCE_VOLUME, "pool.v1"));
    VolumeIndex index = new VolumeIndex(pool, CONFIG, events);
    assertThat(index.enginesOf("pool.v1")).isEmpty();
    index.refresh();
    assertThat(index.enginesOf("pool.v1")).containsExactly("e1");
    assertThat(index.enginesOf("pool.v2")).containsExactly("e2");
    assertThat(index.enginesOf("pool.foreign")).isEmpty();
    assertThat(index.enginesOf("local.fixed")).isEmpty();
    assertThat(index.snapshot("pool.s1")).hasValueSatisfying(s ->
        assertThat(s.engine()).isEqualTo("e1"));
    assertThat(index.counts(v -> true)).isEqualTo(Map.of("e1", 1, "e2", 1));
  }

  /**
   * A new engine is read at the next use; an unreachable one keeps its volumes in the index and
   * is read again, with what changed meanwhile, when it is reachable again.
   */
  @Test
  void readsEnginesThatJoinOrComeBack() throws Exception {
    make(e1, "pool.v1");
    make(e2, "pool.v2");
    VolumeIndex index = new VolumeIndex(pool, CONFIG, events);
    index.refresh();
    Engine e3 = pool.start("e3", Map.of());
    make(e3, "pool.v3");
    index.refresh();
    assertThat(index.enginesOf("pool.v3")).containsExactly("e3");

    pool.status("e2", EngineState.UNREACHABLE, "lease expired");
    make(e2, "pool.v4");
    index.refresh();
    assertThat(index.enginesOf("pool.v4")).isEmpty();
    assertThat(index.volumesOn("e2")).extracting(v -> v.id().toString())
        .containsExactly("pool.v2");
    pool.status("e2", EngineState.READY, "");
    index.refresh();
    assertThat(index.enginesOf("pool.v4")).containsExactly("e2");
  }

  /**
   * The finder asks every reachable engine when the index misses, remembers what it found, and
   * forgets a target deleted behind its back.
   */
  @Test
  void aMissAsksEveryEngineBeforeNotFound() {
    VolumeFinder finder = new VolumeFinder(pool, CONFIG, events);
    assertThat(finder.find("pool.late")).isEmpty();
    String iqn = make(e2, "pool.late");
    assertThat(finder.find("pool.late")).hasValueSatisfying(l ->
        assertThat(l.engine().name()).isEqualTo("e2"));
    assertThat(finder.index().enginesOf("pool.late")).containsExactly("e2");
    e2.client().deleteTarget(iqn, true);
    assertThat(finder.find("pool.late")).isEmpty();
    assertThat(finder.index().enginesOf("pool.late")).isEmpty();
  }

  /**
   * While its engine is unreachable a volume is the index's last copy to queries, with the
   * condition naming the engine, and UNAVAILABLE to calls that would change it.
   */
  @Test
  void anUnreachableEnginesVolumesAreAnsweredFromTheIndex() {
    make(e1, "pool.v1");
    VolumeFinder finder = new VolumeFinder(pool, CONFIG, events);
    assertThat(finder.all()).hasSize(1);
    pool.status("e1", EngineState.UNREACHABLE, "lease expired");
    pool.stop("e1");
    Located l = finder.requireView("pool.v1");
    assertThat(l.volume().sizeBytes()).isEqualTo(MIB);
    assertThat(l.condition().getAbnormal()).isTrue();
    assertThat(l.condition().getMessage()).matches(
        "engine e1 unreachable since \\d{4}-\\d\\d-\\d\\dT.*Z: lease expired");
    assertThat(finder.all()).extracting(x -> x.condition().getAbnormal()).containsExactly(true);
    assertCode(() -> finder.find("pool.v1"), Status.Code.UNAVAILABLE, "engine e1 unreachable");
  }

  /** One Warning on the PVC of each volume per transition to unreachable, not per call. */
  @Test
  void warnsOnThePvcOncePerTransition() {
    make(e1, "pool.v1", VolumeParameters.parse(Map.of("csi.storage.k8s.io/pvc/name", "data",
        "csi.storage.k8s.io/pvc/namespace", "ns")), CONFIG.driverName());
    make(e2, "pool.v2");
    VolumeIndex index = new VolumeIndex(pool, CONFIG, events);
    index.refresh();
    pool.status("e1", EngineState.UNREACHABLE, "3 probes failed");
    index.refresh();
    index.refresh();
    await().atMost(WAIT).until(() -> warnings.size() == 1);
    Warning w = warnings.getFirst();
    assertThat(List.of(w.namespace(), w.name(), w.reason()))
        .containsExactly("ns", "data", VolumeEvents.ENGINE_UNREACHABLE);
    assertThat(w.message()).startsWith("volume pool.v1: engine e1 unreachable since ")
        .endsWith(": 3 probes failed");
    pool.status("e1", EngineState.READY, "");
    index.refresh();
    pool.status("e1", EngineState.UNREACHABLE, "lease expired");
    index.refresh();
    await().atMost(WAIT).until(() -> warnings.size() == 2);
    assertThat(index.volumesOn("e1")).extracting(VolumeRecord::name).containsExactly("pool.v1");
  }

  /**
   * Fed by the directory's changes, with no CSI call: a join is read into the index, a loss
   * warns on the PVC once (a repeated change of the same loss does not), a return is read
   * again, and a new incarnation while reachable is read again too. The listener returns at
   * once even while the engine it announces does not answer.
   */
  @Test
  void directoryChangesReadEnginesAndWarnAtTheTransition() throws Exception {
    make(e1, "pool.v1", VolumeParameters.parse(Map.of("csi.storage.k8s.io/pvc/name", "data",
        "csi.storage.k8s.io/pvc/namespace", "ns")), CONFIG.driverName());
    VolumeIndex index = new VolumeIndex(pool, CONFIG, events);
    index.engineChanged(null, member(e1, "i1"));
    await().atMost(WAIT).until(() -> index.enginesOf("pool.v1").equals(List.of("e1")));

    pool.status("e1", EngineState.UNREACHABLE, "lease expired");
    pool.stop("e1");
    long start = System.nanoTime();
    index.engineChanged(member(e1, "i1"), member(pool.get("e1"), "i1"));
    index.engineChanged(member(e1, "i1"), member(pool.get("e1"), "i1"));
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(1));
    await().atMost(WAIT).until(() -> warnings.size() == 1);
    assertThat(warnings.getFirst().reason()).isEqualTo(VolumeEvents.ENGINE_UNREACHABLE);
    assertThat(index.volumesOn("e1")).hasSize(1); // kept while away

    Engine back = pool.restart("e1");
    make(back, "pool.v2");
    index.engineChanged(member(pool.get("e1"), "i1"), member(back, "i2"));
    await().atMost(WAIT).until(() -> index.enginesOf("pool.v2").equals(List.of("e1")));
    make(back, "pool.v3");
    index.engineChanged(member(back, "i2"), member(back, "i3"));
    await().atMost(WAIT).until(() -> index.enginesOf("pool.v3").equals(List.of("e1")));
    await("no second warning").during(Duration.ofMillis(200)).atMost(Duration.ofSeconds(2))
        .until(() -> warnings.size() == 1);
  }

  static final Duration WAIT = Duration.ofSeconds(10);

  /** The directory's view of an engine, as its listener gets it. */
  static PoolMember member(Engine e, String incarnation) {
    Reachability r = e.state().reachable() ? Reachability.ANSWERING : Reachability.LEASE_EXPIRED;
    return new PoolMember(e, new EngineObject(e.name(), "127.0.0.1:1", incarnation, List.of(),
        Map.of(), false, false, false), null, r, incarnation);
  }
}
