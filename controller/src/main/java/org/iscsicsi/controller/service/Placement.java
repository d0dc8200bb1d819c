package org.iscsicsi.controller.service;

import csi.v1.Csi;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.engine.EngineState;
import org.iscsicsi.controller.volume.ByteQuantity;
import org.iscsicsi.controller.volume.CsiErrors;
import org.iscsicsi.controller.volume.PlacementPolicy;
import org.iscsicsi.controller.volume.PoolLimits;
import org.iscsicsi.target.v1.PoolCapacity;

/**
 * Chooses the engine for a new volume (CSI spec, CreateVolume: accessibility_requirements). An
 * engine without topology segments is reachable from everywhere.
 *
 * <p>Fixed engines (the embedded default, static {@code --engine}s, {@link #choose}): among
 * engines reachable from a requisite topology, the first that a preferred topology names, else
 * the one with the most free bytes; the pool limits are checked on the chosen one.
 *
 * <p>A pool ({@link #order}, docs/pools.md section 4): only schedulable engines with room for
 * the volume are eligible; of those reachable from a requisite segment, the engines of the first
 * preferred segment that has any come first, ordered by the StorageClass's
 * {@link PlacementPolicy}, then the other eligible ones in the same order (so a lost race for the
 * last room falls through to the next). A refusal names every engine and why it was skipped.
 */
final class Placement {

  /** The topology key whose value is an engine's zone for {@link PlacementPolicy#SPREAD_ZONES}. */
  static final String ZONE_KEY = "topology.kubernetes.io/zone";

  private Placement() {}

  /**
   * What a new volume needs.
   *
   * @param name the CSI name, for messages
   * @param sizeBytes its size
   * @param thick whether its bytes are written out (preallocated) at creation
   * @param limits how much of a pool volumes may promise
   * @param topology the request's accessibility requirements
   * @param policy how eligible engines are ordered
   * @param backend the backend the volume's bytes come from, empty for each engine's default
   */
  record Demand(String name, long sizeBytes, boolean thick, PoolLimits limits,
      Csi.TopologyRequirement topology, PlacementPolicy policy, String backend) {

    /** On each engine's default backend. */
    Demand(String name, long sizeBytes, boolean thick, PoolLimits limits,
        Csi.TopologyRequirement topology, PlacementPolicy policy) {
      this(name, sizeBytes, thick, limits, topology, policy, "");
    }
  }

  /**
   * What placement reads about engines: the pool capacity (asked only of schedulable engines in
   * reach of the request) and the volume counts by engine name (from the controller's index, no
   * engine call).
   *
   * @param capacity asks an engine for its pool's capacity
   * @param volumes volumes on each engine
   * @param classVolumes volumes on each engine made with the new volume's parameters (its class)
   */
  record Survey(Function<Engine, PoolCapacity> capacity, Map<String, Integer> volumes,
      Map<String, Integer> classVolumes) {

    int volumes(String engine) {
      return volumes.getOrDefault(engine, 0);
    }

    int classVolumes(String engine) {
      return classVolumes.getOrDefault(engine, 0);
    }
  }

  static boolean reachable(Engine engine, Csi.Topology wanted) {
    if (engine.topology().isEmpty()) {
      return true;
    }
    for (Map.Entry<String, String> e : wanted.getSegmentsMap().entrySet()) {
      String have = engine.topology().get(e.getKey());
      if (have != null && !have.equals(e.getValue())) {
        return false;
      }
    }
    return true;
  }

  static boolean satisfies(Engine engine, Csi.TopologyRequirement req) {
    if (req.getRequisiteCount() == 0) {
      return true;
    }
    return req.getRequisiteList().stream().anyMatch(t -> reachable(engine, t));
  }

  /** The engine for a new volume among fixed engines (always ready). */
  static Engine choose(List<Engine> engines, Csi.TopologyRequirement req) {
    List<Engine> candidates = engines.stream().filter(e -> satisfies(e, req)).toList();
    if (candidates.isEmpty()) {
      throw CsiErrors.exhausted("no target engine is reachable from the requisite topology "
          + req.getRequisiteList());
    }
    if (candidates.size() == 1) {
      return candidates.getFirst();
    }
    List<Engine> preferred = firstPreferred(candidates, req);
    if (!preferred.isEmpty()) {
      return preferred.getFirst();
    }
    return candidates.stream()
        .max(Comparator.comparingLong(e -> e.client().capacity().getAvailableBytes()))
        .orElseThrow();
  }

  /**
   * The pool's engines that can take the volume, best first.
   *
   * @param engines every engine of the pool, whatever its state
   * @throws StatusRuntimeException RESOURCE_EXHAUSTED naming each engine's reason when none can
   */
  static List<Engine> order(List<Engine> engines, Demand demand, Survey survey) {
    Ranking r = rank(engines, demand, survey);
    if (r.eligible().isEmpty()) {
      throw refusal(demand, r.skipped());
    }
    return r.eligible();
  }

  /**
   * The pool's engines that can take the volume, best first, and why each other one cannot.
   *
   * @param eligible engines with room, in the order of {@link #order}
   * @param skipped engine name to reason, for the others
   */
  record Ranking(List<Engine> eligible, Map<String, String> skipped) {}

  /** As {@link #order}, without throwing when none is eligible. */
  static Ranking rank(List<Engine> engines, Demand demand, Survey survey) {
    Map<String, String> skipped = new LinkedHashMap<>();
    Map<String, PoolCapacity> pools = new HashMap<>();
    List<Engine> eligible = new ArrayList<>();
    for (Engine e : engines) {
      Optional<String> why = skipReason(e, demand, survey, pools);
      if (why.isPresent()) {
        skipped.put(e.name(), why.get());
      } else {
        eligible.add(e);
      }
    }
    Comparator<Engine> policy = policy(demand.policy(), engines, pools, survey);
    List<Engine> first = firstPreferred(eligible, demand.topology());
    List<Engine> out = new ArrayList<>(first.stream().sorted(policy).toList());
    eligible.stream().filter(e -> !first.contains(e)).sorted(policy).forEach(out::add);
    return new Ranking(out, skipped);
  }

  /**
   * The engines for a replicated volume's {@code replicas} members (docs/replication.md section
   * 11), best first: of the eligible engines that {@code replicating} accepts (empty: it has a
   * replication listener), first one per topology zone in placement order, then the rest in
   * that order; those after the first {@code replicas} stand in when one is refused at
   * admission. Engines are nodes (one IscsiEngine per storage node), so distinct engines are
   * distinct nodes.
   *
   * @param replicating why an engine cannot hold a member, empty when it can
   * @throws StatusRuntimeException RESOURCE_EXHAUSTED naming each engine's reason when fewer
   *     than {@code replicas} engines can
   */
  static List<Engine> members(Ranking ranking, Demand demand, int replicas,
      Function<Engine, Optional<String>> replicating) {
    Map<String, String> skipped = new LinkedHashMap<>(ranking.skipped());
    List<Engine> able = new ArrayList<>();
    for (Engine e : ranking.eligible()) {
      Optional<String> why = replicating.apply(e);
      if (why.isPresent()) {
        skipped.put(e.name(), why.get());
      } else {
        able.add(e);
      }
    }
    if (able.size() < replicas) {
      StringBuilder why = new StringBuilder();
      skipped.forEach((engine, reason) ->
          why.append(why.isEmpty() ? "" : "; ").append(engine).append(": ").append(reason));
      throw CsiErrors.exhausted("volume \"" + demand.name() + "\" ("
          + ByteQuantity.format(demand.sizeBytes()) + ") needs " + replicas + " engines on "
          + "distinct nodes, " + able.size() + " can take a member"
          + (able.isEmpty() ? "" : " (" + String.join(", ", able.stream().map(Engine::name)
              .toList()) + ")")
          + (skipped.isEmpty() ? "" : "; " + why));
    }
    List<Engine> out = new ArrayList<>();
    java.util.Set<String> zones = new java.util.HashSet<>();
    for (Engine e : able) {
      String zone = e.topology().get(ZONE_KEY);
      if (zone != null && zones.add(zone)) {
        out.add(e);
      }
    }
    if (out.size() > replicas) {
      out = new ArrayList<>(out.subList(0, replicas));
    }
    for (Engine e : able) {
      if (!out.contains(e)) {
        out.add(e);
      }
    }
    return out;
  }

  /**
   * Why {@code e} cannot take the volume, checked from the cheapest to the one that calls the
   * engine; empty when it can ({@code pools} then holds its capacity).
   */
  private static Optional<String> skipReason(Engine e, Demand demand, Survey survey,
      Map<String, PoolCapacity> pools) {
    Optional<String> state = unschedulable(e);
    if (state.isPresent()) {
      return state;
    }
    if (!satisfies(e, demand.topology())) {
      return Optional.of("outside the requisite topology");
    }
    PoolCapacity reported;
    try {
      reported = survey.capacity().apply(e);
    } catch (StatusRuntimeException failed) {
      return Optional.of("did not report its capacity (" + failed.getStatus().getCode() + ": "
          + failed.getStatus().getDescription() + ")");
    }
    Optional<PoolCapacity> backend = BackendShare.of(reported, demand.backend());
    if (backend.isEmpty()) {
      return Optional.of(BackendShare.missing(reported, demand.backend()));
    }
    PoolCapacity pool = backend.get();
    pools.put(e.name(), pool);
    return shortfall(pool, demand.sizeBytes(), demand.limits(), demand.thick());
  }

  /** RESOURCE_EXHAUSTED for a volume no engine took, with each engine's reason. */
  static StatusRuntimeException refusal(Demand demand, Map<String, String> reasons) {
    StringBuilder why = new StringBuilder();
    reasons.forEach((engine, reason) ->
        why.append(why.isEmpty() ? "" : "; ").append(engine).append(": ").append(reason));
    return CsiErrors.exhausted("no engine can take volume \"" + demand.name() + "\" ("
        + ByteQuantity.format(demand.sizeBytes()) + "): "
        + (reasons.isEmpty() ? "the pool has no engines" : why));
  }

  /** Why an engine in this state takes no new volume; empty when it does. */
  static Optional<String> unschedulable(Engine e) {
    EngineState state = e.state();
    if (state.schedulable()) {
      return Optional.empty();
    }
    String name = state.name().toLowerCase(Locale.ROOT);
    String message = e.status().message();
    return Optional.of(message.isEmpty() ? name : name + " (" + message + ")");
  }

  /**
   * What a new volume may still take of a pool: without an overcommit ratio the free bytes (as
   * the engine reports them); with one, what the ratio leaves of the promised bytes, and for a
   * thick volume no more than the free bytes either (its file is written out in full). A pool
   * without free bytes takes no volume at all.
   */
  static long room(PoolCapacity pool, PoolLimits limits, boolean thick) {
    if (pool.getAvailableBytes() <= 0) {
      return 0;
    }
    if (limits.overcommitRatio() == 0) {
      return pool.getAvailableBytes();
    }
    long headroom = limits.headroom(pool.getTotalBytes(), pool.getProvisionedBytes());
    return thick ? Math.min(headroom, pool.getAvailableBytes()) : headroom;
  }

  /**
   * Why {@code size} bytes do not fit {@code pool}; empty when they do. Thick needs the free
   * bytes; thin needs some free bytes and, under an overcommit ratio, the promise to stay within
   * it (without a ratio a thin volume promises what it likes).
   */
  static Optional<String> shortfall(PoolCapacity pool, long size, PoolLimits limits,
      boolean thick) {
    long free = pool.getAvailableBytes();
    if (free <= 0) {
      return Optional.of("no free bytes");
    }
    if (thick && free < size) {
      return Optional.of(ByteQuantity.format(free) + " free < " + ByteQuantity.format(size));
    }
    if (limits.overcommitRatio() > 0) {
      long headroom = limits.headroom(pool.getTotalBytes(), pool.getProvisionedBytes());
      if (headroom < size) {
        return Optional.of(ByteQuantity.format(headroom) + " left under overcommit ratio "
            + limits.overcommitRatio() + " < " + ByteQuantity.format(size));
      }
    }
    return Optional.empty();
  }

  /** The engines of the first preferred segment that names any of {@code candidates}. */
  private static List<Engine> firstPreferred(List<Engine> candidates,
      Csi.TopologyRequirement req) {
    for (Csi.Topology preferred : req.getPreferredList()) {
      List<Engine> in = candidates.stream()
          .filter(e -> !e.topology().isEmpty() && reachable(e, preferred)).toList();
      if (!in.isEmpty()) {
        return in;
      }
    }
    return List.of();
  }

  private static Comparator<Engine> policy(PlacementPolicy policy, List<Engine> all,
      Map<String, PoolCapacity> pools, Survey survey) {
    Comparator<Engine> leastAllocated = Comparator
        .comparingDouble((Engine e) -> allocated(pools.get(e.name())))
        .thenComparingInt(e -> survey.volumes(e.name()))
        .thenComparing(Engine::name);
    return switch (policy) {
      case LEAST_ALLOCATED -> leastAllocated;
      case SPREAD_ZONES -> {
        Map<String, Integer> byZone = new HashMap<>();
        for (Engine e : all) {
          byZone.merge(zone(e), survey.classVolumes(e.name()), Integer::sum);
        }
        yield Comparator.comparingInt((Engine e) -> byZone.get(zone(e)))
            .thenComparing(leastAllocated);
      }
    };
  }

  /** The share of a pool its volumes promise; a pool of no bytes counts as full. */
  private static double allocated(PoolCapacity pool) {
    return pool.getTotalBytes() <= 0 ? Double.MAX_VALUE
        : (double) pool.getProvisionedBytes() / pool.getTotalBytes();
  }

  private static String zone(Engine e) {
    return e.topology().getOrDefault(ZONE_KEY, "");
  }
}
