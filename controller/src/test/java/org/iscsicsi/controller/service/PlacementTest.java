package org.iscsicsi.controller.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import csi.v1.Csi;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.engine.EngineState;
import org.iscsicsi.controller.engine.EngineStatus;
import org.iscsicsi.controller.volume.PlacementPolicy;
import org.iscsicsi.controller.volume.PoolLimits;
import org.iscsicsi.target.v1.PoolCapacity;
import org.junit.jupiter.api.Test;

/**
 * The pool's placement policy over engines given as records (capacity, state, topology, volume
 * counts; no engine is called): least allocated first with ties by fewer volumes then name;
 * preferred segments before the rest of the requisite ones; zone spread by the class's volumes;
 * cordoned, draining, unreachable and removing engines skipped without a capacity call; thick
 * room from free bytes, thin room from the overcommit ratio; a StorageClass backend read from
 * each engine's backends (engines without it skipped, naming what they have); a refusal that
 * names every engine with its reason; and a replicated volume's members: one per zone first, in
 * placement order, then the rest, engines without a replication listener skipped, fewer able
 * engines than replicas refused naming each one's reason.
 */
class PlacementTest {

  static final long GI = 1L << 30;
  static final PoolLimits RATIO_1 = new PoolLimits(1, 0);

  private final Map<String, PoolCapacity> pools = new HashMap<>();
  private final Map<String, Integer> volumes = new HashMap<>();
  private final Map<String, Integer> classVolumes = new HashMap<>();
  private final List<String> asked = new ArrayList<>();

  private Engine engine(String name, String zone, long totalGi, long freeGi, long provisionedGi) {
    pools.put(name, PoolCapacity.newBuilder().setTotalBytes(totalGi * GI)
        .setAvailableBytes(freeGi * GI).setProvisionedBytes(provisionedGi * GI).build());
    return new Engine(name, null, zone == null ? Map.of() : Map.of(Placement.ZONE_KEY, zone),
        List.of());
  }

  private static Engine in(Engine e, EngineState state) {
    return e.withStatus(new EngineStatus(state, Instant.EPOCH, ""));
  }

  private Placement.Survey survey() {
    return new Placement.Survey(e -> {
      asked.add(e.name());
      PoolCapacity p = pools.get(e.name());
      if (p == null) {
        throw Status.UNAVAILABLE.withDescription("connection refused").asRuntimeException();
      }
      return p;
    }, volumes, classVolumes);
  }

  private static Placement.Demand demand(long sizeGi, boolean thick, PoolLimits limits,
      Csi.TopologyRequirement topology, PlacementPolicy policy) {
    return new Placement.Demand("pvc-x", sizeGi * GI, thick, limits, topology, policy);
  }

  private static Placement.Demand thin(long sizeGi) {
    return demand(sizeGi, false, RATIO_1, Csi.TopologyRequirement.getDefaultInstance(),
        PlacementPolicy.LEAST_ALLOCATED);
  }

  private List<String> order(List<Engine> engines, Placement.Demand d) {
    return Placement.order(engines, d, survey()).stream().map(Engine::name).toList();
  }

  static Csi.Topology zone(String z) {
    return Csi.Topology.newBuilder().putSegments(Placement.ZONE_KEY, z).build();
  }

  /** The least promised pool first; equal shares go to fewer volumes, then by name. */
  @Test
  void leastAllocatedFirstTiesByFewerVolumesThenName() {
    Engine a = engine("node-a", null, 100, 90, 50);
    Engine b = engine("node-b", null, 100, 90, 10);
    Engine c = engine("node-c", null, 200, 190, 60);
    assertThat(order(List.of(a, b, c), thin(1))).containsExactly("node-b", "node-c", "node-a");

    Engine d = engine("node-d", null, 100, 90, 10);
    Engine e = engine("node-e", null, 100, 90, 10);
    volumes.put("node-b", 3);
    volumes.put("node-d", 1);
    volumes.put("node-e", 1);
    assertThat(order(List.of(b, e, d), thin(1))).containsExactly("node-d", "node-e", "node-b");
  }

  /**
   * The engines of the first preferred segment that has eligible ones come first, even when
   * more allocated; the other requisite engines follow; engines outside every requisite segment
   * are not candidates.
   */
  @Test
  void preferredSegmentsComeBeforeTheRestOfTheRequisiteOnes() {
    Engine a = engine("node-a", "a", 100, 90, 80);
    Engine b = engine("node-b", "b", 100, 90, 5);
    Engine c = in(engine("node-c", "c", 100, 90, 0), EngineState.CORDONED);
    Engine d = engine("node-d", "d", 100, 90, 0);
    Csi.TopologyRequirement req = Csi.TopologyRequirement.newBuilder()
        .addRequisite(zone("a")).addRequisite(zone("b")).addRequisite(zone("c"))
        .addPreferred(zone("c")).addPreferred(zone("a")).addPreferred(zone("b")).build();
    assertThat(order(List.of(a, b, c, d), demand(1, false, RATIO_1, req,
        PlacementPolicy.LEAST_ALLOCATED))).containsExactly("node-a", "node-b");
    assertThat(asked).doesNotContain("node-c", "node-d");
  }

  /**
   * spreadZones takes the zone holding the fewest volumes of the class first (all of its
   * engines counted, whatever their state), least allocated inside it; other volumes do not
   * count.
   */
  @Test
  void spreadZonesFillsTheZoneWithFewestVolumesOfTheClass() {
    Engine a1 = engine("a1", "a", 100, 90, 30);
    Engine a2 = engine("a2", "a", 100, 90, 10);
    Engine b1 = engine("b1", "b", 100, 90, 50);
    Engine b2 = in(engine("b2", "b", 100, 90, 0), EngineState.CORDONED);
    Engine c1 = engine("c1", "c", 100, 90, 20);
    classVolumes.putAll(Map.of("a1", 1, "a2", 1, "b1", 0, "b2", 1, "c1", 0));
    volumes.putAll(Map.of("a1", 1, "a2", 1, "b1", 40, "b2", 1, "c1", 30));
    Placement.Demand spread = demand(1, false, RATIO_1,
        Csi.TopologyRequirement.getDefaultInstance(), PlacementPolicy.SPREAD_ZONES);
    // zone c: 0 of the class, zone b: 1 (the cordoned engine's), zone a: 2
    assertThat(order(List.of(a1, a2, b1, b2, c1), spread))
        .containsExactly("c1", "b1", "a2", "a1");
    assertThat(order(List.of(a1, a2, b1, b2, c1), thin(1)))
        .containsExactly("a2", "c1", "a1", "b1");
  }

  /** Engines that take no new volumes are skipped without asking them for their capacity. */
  @Test
  void cordonedDrainingUnreachableAndRemovingEnginesAreSkipped() {
    Engine ready = engine("ready", null, 100, 90, 90);
    List<Engine> engines = new ArrayList<>(List.of(ready));
    for (EngineState s : List.of(EngineState.CORDONED, EngineState.DRAINING,
        EngineState.UNREACHABLE, EngineState.REMOVING)) {
      engines.add(in(engine(s.name().toLowerCase(), null, 100, 100, 0), s));
    }
    assertThat(order(engines, demand(1, true, PoolLimits.NONE,
        Csi.TopologyRequirement.getDefaultInstance(), PlacementPolicy.LEAST_ALLOCATED)))
        .containsExactly("ready");
    assertThat(asked).containsExactly("ready");
  }

  /**
   * Thick needs the free bytes; thin needs some free bytes and, under a ratio, room in the
   * promise (not in the free bytes); without a ratio a thin volume fits any pool with free bytes.
   */
  @Test
  void thickRoomIsFreeBytesThinRoomIsTheOvercommitRatio() {
    Engine full = engine("full", null, 100, 12, 10);
    Engine promised = engine("promised", null, 100, 80, 90);
    Engine empty = engine("empty", null, 100, 0, 0);
    Csi.TopologyRequirement any = Csi.TopologyRequirement.getDefaultInstance();
    List<Engine> all = List.of(full, promised, empty);
    assertThat(order(all, demand(20, false, RATIO_1, any, PlacementPolicy.LEAST_ALLOCATED)))
        .containsExactly("full");
    assertThat(order(all, demand(10, true, RATIO_1, any, PlacementPolicy.LEAST_ALLOCATED)))
        .containsExactly("full", "promised");
    assertThat(order(all, demand(500, false, PoolLimits.NONE, any,
        PlacementPolicy.LEAST_ALLOCATED))).containsExactly("full", "promised");
    assertThat(Placement.room(pools.get("full"), RATIO_1, true)).isEqualTo(12 * GI);
    assertThat(Placement.room(pools.get("full"), RATIO_1, false)).isEqualTo(90 * GI);
    assertThat(Placement.room(pools.get("empty"), RATIO_1, false)).isZero();
  }

  /** A refusal is RESOURCE_EXHAUSTED and says, engine by engine, why each was skipped. */
  @Test
  void theRefusalNamesEachEngineAndWhy() {
    Engine a = in(engine("node-a", "a", 100, 90, 0), EngineState.CORDONED);
    Engine b = engine("node-b", "a", 100, 12, 10);
    Engine c = engine("node-c", "a", 100, 80, 90);
    Engine d = engine("node-d", "b", 100, 90, 0);
    Engine e = new Engine("node-e", null, Map.of(Placement.ZONE_KEY, "a"), List.of())
        .withStatus(new EngineStatus(EngineState.UNREACHABLE, Instant.EPOCH, "lease expired"));
    Engine f = new Engine("node-f", null, Map.of(), List.of()); // no capacity: its call fails
    Csi.TopologyRequirement req = Csi.TopologyRequirement.newBuilder().addRequisite(zone("a"))
        .build();
    assertThatThrownBy(() -> order(List.of(a, b, c, d, e, f), demand(20, true, RATIO_1, req,
        PlacementPolicy.LEAST_ALLOCATED)))
        .isInstanceOf(StatusRuntimeException.class)
        .satisfies(x -> {
          Status s = ((StatusRuntimeException) x).getStatus();
          assertThat(s.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
          assertThat(s.getDescription()).isEqualTo("no engine can take volume \"pvc-x\" (20Gi): "
              + "node-a: cordoned; node-b: 12Gi free < 20Gi; "
              + "node-c: 10Gi left under overcommit ratio 1.0 < 20Gi; "
              + "node-d: outside the requisite topology; node-e: unreachable (lease expired); "
              + "node-f: did not report its capacity (UNAVAILABLE: connection refused)");
        });
    assertThatThrownBy(() -> order(List.of(), thin(1)))
        .hasMessageContaining("the pool has no engines");
  }

  /**
   * A volume of backend {@code lvm-thin} goes by that backend's room and allocation, not the
   * engine's files; an engine without it (or listing no backends: fileio only) is skipped with
   * the backends it has; no backend asked is each engine's first.
   */
  @Test
  void aBackendIsPlacedByItsOwnCapacityAndEnginesWithoutItAreNamed() {
    Engine a = engine("node-a", null, 100, 90, 0);
    pools.put("node-a", pools.get("node-a").toBuilder()
        .addBackends(backend("fileio", "fileio", 100, 90, 0))
        .addBackends(backend("lvm-thin", "lvm-thin", 500, 400, 300)).build());
    Engine b = engine("node-b", null, 100, 90, 50);
    pools.put("node-b", pools.get("node-b").toBuilder()
        .addBackends(backend("lvm-thin", "lvm-thin", 500, 450, 10))
        .addBackends(backend("fileio", "fileio", 100, 90, 50)).build());
    Engine c = engine("node-c", null, 100, 90, 0); // an engine that lists no backends
    Placement.Demand onThin = new Placement.Demand("pvc-x", GI, false, RATIO_1,
        Csi.TopologyRequirement.getDefaultInstance(), PlacementPolicy.LEAST_ALLOCATED,
        "lvm-thin");
    assertThat(order(List.of(a, b, c), onThin)).containsExactly("node-b", "node-a");
    // node-a's thin pool promises 300 of 500 Gi: under ratio 1 a 250 Gi volume does not fit
    Placement.Demand big = new Placement.Demand("pvc-x", 250 * GI, false, RATIO_1,
        Csi.TopologyRequirement.getDefaultInstance(), PlacementPolicy.LEAST_ALLOCATED,
        "lvm-thin");
    assertThatThrownBy(() -> order(List.of(a, c), big))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(
            e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED))
        .hasMessageContaining("node-a: 200Gi left under overcommit ratio")
        .hasMessageContaining("node-c: has no backend \"lvm-thin\" (it has fileio)");
    // no backend asked: node-b's default is its thin pool (2 % promised), node-a's its files
    assertThat(order(List.of(a, b, c), thin(1))).containsExactly("node-a", "node-c", "node-b");
  }

  private static org.iscsicsi.target.v1.BackendCapacity backend(String name, String type,
      long totalGi, long freeGi, long provisionedGi) {
    return org.iscsicsi.target.v1.BackendCapacity.newBuilder().setName(name).setType(type)
        .setTotalBytes(totalGi * GI).setAvailableBytes(freeGi * GI)
        .setProvisionedBytes(provisionedGi * GI).build();
  }

  @Test
  void membersSpreadOverZonesFirstAndTooFewAreRefusedWithReasons() {
    Engine a1 = engine("a1", "a", 100, 90, 10);
    Engine a2 = engine("a2", "a", 100, 95, 5);
    Engine b1 = engine("b1", "b", 100, 50, 50);
    Engine c1 = in(engine("c1", "c", 100, 99, 1), EngineState.CORDONED);
    List<Engine> all = List.of(a1, a2, b1, c1);
    Placement.Ranking r = Placement.rank(all, thin(1), survey());
    assertThat(r.eligible().stream().map(Engine::name)).containsExactly("a2", "a1", "b1");
    assertThat(Placement.members(r, thin(1), 2, e -> java.util.Optional.empty()).stream()
        .map(Engine::name)).containsExactly("a2", "b1", "a1");
    assertThatThrownBy(() -> Placement.members(r, thin(1), 3,
        e -> e.name().equals("a1") ? java.util.Optional.of("has no replication listener")
            : java.util.Optional.empty()))
        .isInstanceOf(StatusRuntimeException.class)
        .satisfies(e -> {
          Status st = ((StatusRuntimeException) e).getStatus();
          assertThat(st.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
          assertThat(st.getDescription()).contains("needs 3 engines on distinct nodes, 2 can")
              .contains("a1: has no replication listener").contains("c1: cordoned");
        });
  }
}
