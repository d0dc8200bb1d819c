package org.iscsicsi.controller.service;

import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.engine.Engines;
import org.iscsicsi.controller.engine.PoolMember;
import org.iscsicsi.controller.volume.VolumeId;
import org.iscsicsi.controller.volume.VolumeLabels;
import org.iscsicsi.controller.volume.VolumeParameters;
import org.iscsicsi.controller.volume.VolumeRecord;
import org.iscsicsi.target.v1.ListSnapshotsRequest;
import org.iscsicsi.target.v1.Snapshot;
import org.iscsicsi.target.v1.Target;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the volumes and snapshots of a pool are (docs/pools.md, section 3): volume id to the
 * engines holding it, with the target as last read; snapshot id to its engine, with the
 * snapshot as last read. The engines stay the source of truth: the index is read from
 * ListTargets/ListSnapshots of every reachable engine when it is first used and again whenever
 * an engine joins or becomes reachable again, and every change the controller makes is written
 * into it. What it remembers of an unreachable engine is what ListVolumes and
 * ControllerGetVolume answer with while the engine is away.
 *
 * <p>In a pool fed by the engine directory, {@link #engineChanged} hears every change: an engine
 * that joins, becomes reachable again or answers as a new incarnation is read again, and one
 * that was reachable and is not any more gets a Warning {@link VolumeEvents#ENGINE_UNREACHABLE}
 * on the PVC of each of its volumes, once per transition. Both run on the index's own threads
 * (one reads engines, one records events), never on the directory's or a CSI call's. Without a
 * directory ({@link #refresh} alone) the same transitions are noticed at the next call.
 */
final class VolumeIndex {

  private static final Logger log = LoggerFactory.getLogger(VolumeIndex.class);
  /** How long the index's threads wait for work before they end. */
  private static final long IDLE_SECONDS = 30;

  /** A snapshot and the engine holding it. */
  record IndexedSnapshot(String engine, Snapshot snapshot) {}

  private final Engines engines;
  private final ControllerConfig config;
  private final VolumeEvents events;
  /** Volume id → engine name → target as last read. */
  private final ConcurrentMap<String, ConcurrentMap<String, Target>> volumes =
      new ConcurrentHashMap<>();
  /** Snapshot id → where it is. */
  private final ConcurrentMap<String, IndexedSnapshot> snapshots = new ConcurrentHashMap<>();
  /** Engines read into the index, as they were when last looked at (its lock). */
  private final Map<String, Seen> seen = new HashMap<>();
  /** Reads engines the directory announced; one at a time, each call with its deadline. */
  private final ExecutorService reader = daemon("volume-index-reader");
  /** Records the PVC events of engines that became unreachable. */
  private final ExecutorService announcer = daemon("volume-index-events");

  /** An engine's reachability and incarnation (null: not known to the caller) when looked at. */
  private record Seen(boolean reachable, String incarnation) {}

  /** What a look at an engine found changed since the last. */
  private enum Transition { NONE, READ, LOST }

  VolumeIndex(Engines engines, ControllerConfig config, VolumeEvents events) {
    this.engines = engines;
    this.config = config;
    this.events = events;
  }

  /** One daemon thread, in order, that ends when idle (an index has no close). */
  private static ExecutorService daemon(String name) {
    ThreadPoolExecutor pool = new ThreadPoolExecutor(1, 1, IDLE_SECONDS, TimeUnit.SECONDS,
        new LinkedBlockingQueue<>(), r -> {
          Thread t = new Thread(r, name);
          t.setDaemon(true);
          return t;
        });
    pool.allowCoreThreadTimeOut(true);
    return pool;
  }

  /**
   * A change the engine directory announced ({@code before} or {@code after} null at join or
   * leave). Returns at once: reading the engine and recording events happen on the index's
   * threads.
   */
  void engineChanged(PoolMember before, PoolMember after) {
    if (after == null) {
      return; // left the pool: what the index holds of it stays until a volume call resolves it
    }
    Engine e = after.engine();
    switch (look(e, after.incarnation())) {
      case READ -> reader.execute(() -> read(e));
      case LOST -> announcer.execute(() -> warnUnreachable(e));
      case NONE -> { }
    }
  }

  /**
   * Compares the engine with the last look and remembers this one: READ when it is reachable
   * and was not (or never looked at, or answers as another incarnation), LOST when it was
   * reachable and is not.
   */
  private Transition look(Engine e, String incarnation) {
    synchronized (seen) {
      Seen before = seen.get(e.name());
      boolean reachable = e.state().reachable();
      String known = incarnation != null ? incarnation
          : before != null ? before.incarnation() : null;
      Transition t;
      if (reachable && (before == null || !before.reachable()
          || (incarnation != null && !incarnation.equals(before.incarnation())))) {
        t = Transition.READ;
      } else if (!reachable && before != null && before.reachable()) {
        t = Transition.LOST;
      } else {
        t = Transition.NONE;
      }
      if (before != null || reachable) {
        seen.put(e.name(), new Seen(reachable, known));
      }
      return t;
    }
  }

  /**
   * Reads every reachable engine that the index has not read yet or that was unreachable when
   * last looked at, and notes engines that became unreachable. Cheap when nothing changed. The
   * engines are read outside the index's lock, so a slow engine delays only the call that reads
   * it (others meanwhile miss and ask the engines themselves); one that fails to answer is read
   * again at the next call.
   */
  void refresh() {
    List<Engine> toRead = new ArrayList<>();
    for (Engine e : engines.all()) {
      switch (look(e, null)) {
        case READ -> toRead.add(e);
        case LOST -> announcer.execute(() -> warnUnreachable(e));
        case NONE -> { }
      }
    }
    toRead.forEach(this::read);
  }

  /** Reads one engine into the index; one that fails is read again at the next look. */
  private void read(Engine e) {
    try {
      load(e);
    } catch (StatusRuntimeException failed) {
      synchronized (seen) {
        seen.remove(e.name());
      }
      log.warn("engine {}: could not read its volumes into the index ({}: {}); trying again "
          + "at the next call", e.name(), failed.getStatus().getCode(),
          failed.getStatus().getDescription());
    }
  }

  /** Replaces what the index holds of {@code engine} with its targets and snapshots. */
  private void load(Engine engine) {
    List<Target> targets = engine.client().listTargets(VolumeLabels.selector(config.driverName()));
    List<Snapshot> snaps = engine.client().listSnapshots(ListSnapshotsRequest.getDefaultInstance());
    replaceVolumes(engine.name(), targets);
    snapshots.values().removeIf(s -> s.engine().equals(engine.name()));
    for (Snapshot s : snaps) {
      if (config.driverName().equals(s.getLabelsOrDefault(VolumeLabels.MANAGED_BY, ""))) {
        putSnapshot(engine.name(), s);
      }
    }
    log.info("engine {}: {} volume target(s) and {} snapshot(s) in the index", engine.name(),
        targets.size(), snaps.size());
  }

  /** Makes {@code targets} (a full listing) what the index holds of {@code engine}. */
  void replaceVolumes(String engine, List<Target> targets) {
    Map<String, Target> listed = new HashMap<>();
    for (Target t : targets) {
      volumeId(t).ifPresent(id -> listed.put(id.toString(), t));
    }
    for (String id : List.copyOf(volumes.keySet())) {
      if (!listed.containsKey(id)) {
        removeVolume(engine, id);
      }
    }
    listed.forEach((id, t) -> putVolume(engine, id, t));
  }

  /** The pool id of a target of ours, if it is one. */
  Optional<VolumeId> volumeId(Target t) {
    String prefix = config.iqnPrefix() + ":";
    if (!t.getName().startsWith(prefix)
        || !config.driverName().equals(t.getLabelsOrDefault(VolumeLabels.MANAGED_BY, ""))) {
      return Optional.empty();
    }
    return VolumeId.parse(t.getName().substring(prefix.length())).filter(VolumeId::pooled);
  }

  void putVolume(String engine, String volumeId, Target target) {
    volumes.compute(volumeId, (k, on) -> {
      ConcurrentMap<String, Target> holders = on == null ? new ConcurrentHashMap<>() : on;
      holders.put(engine, target);
      return holders;
    });
  }

  void removeVolume(String engine, String volumeId) {
    volumes.computeIfPresent(volumeId, (k, on) -> {
      on.remove(engine);
      return on.isEmpty() ? null : on;
    });
  }

  /** The engines the index places the volume on. */
  List<String> enginesOf(String volumeId) {
    Map<String, Target> on = volumes.get(volumeId);
    return on == null ? List.of() : List.copyOf(on.keySet());
  }

  /** Every volume the index holds: id → engine name → target as last read. */
  Map<String, Map<String, Target>> placements() {
    Map<String, Map<String, Target>> out = new java.util.TreeMap<>();
    volumes.forEach((id, on) -> out.put(id, Map.copyOf(on)));
    return out;
  }

  /** The volume's target as last read from {@code engine}. */
  Optional<Target> lastRead(String volumeId, String engine) {
    Map<String, Target> on = volumes.get(volumeId);
    return on == null ? Optional.empty() : Optional.ofNullable(on.get(engine));
  }

  /** The volumes the index places on {@code engine}, as last read. */
  List<VolumeRecord> volumesOn(String engine) {
    List<VolumeRecord> out = new ArrayList<>();
    volumes.forEach((id, on) -> {
      Target t = on.get(engine);
      if (t != null) {
        VolumeId.parse(id).ifPresent(v -> out.add(new VolumeRecord(v, t)));
      }
    });
    return out;
  }

  /** How many complete volumes match {@code which}, by engine name. */
  Map<String, Integer> counts(Predicate<VolumeRecord> which) {
    Map<String, Integer> out = new HashMap<>();
    volumes.forEach((id, on) -> on.forEach((engine, t) -> VolumeId.parse(id)
        .map(v -> new VolumeRecord(v, t)).filter(VolumeRecord::complete).filter(which)
        .ifPresent(v -> out.merge(engine, 1, Integer::sum))));
    return out;
  }

  /**
   * Drops everything the index places on {@code engine} (an engine removed by force: its
   * volumes and snapshots are gone for the pool). It stays seen, so it is not read again
   * unless it joins anew (a new incarnation).
   */
  void forgetEngine(String engine) {
    for (String id : List.copyOf(volumes.keySet())) {
      removeVolume(engine, id);
    }
    snapshots.values().removeIf(s -> s.engine().equals(engine));
  }

  void putSnapshot(String engine, Snapshot s) {
    snapshots.put(VolumeId.POOL + "." + s.getId(), new IndexedSnapshot(engine, s));
  }

  void removeSnapshot(String snapshotId) {
    snapshots.remove(snapshotId);
  }

  Optional<IndexedSnapshot> snapshot(String snapshotId) {
    return Optional.ofNullable(snapshots.get(snapshotId));
  }

  /** The snapshots the index places on {@code engine}, as last read. */
  List<Snapshot> snapshotsOn(String engine) {
    return snapshots.values().stream().filter(s -> s.engine().equals(engine))
        .map(IndexedSnapshot::snapshot).toList();
  }

  private void warnUnreachable(Engine e) {
    String message = Located.unreachable(e);
    log.warn("{}; its volumes are abnormal until it is back", message);
    for (VolumeRecord v : volumesOn(e.name())) {
      VolumeParameters p = v.parameters();
      String pvc = p.kubernetes().get("pvc/name");
      String namespace = p.kubernetes().get("pvc/namespace");
      if (pvc != null && namespace != null) {
        events.warn(namespace, pvc, VolumeEvents.ENGINE_UNREACHABLE,
            "volume " + v.id() + ": " + message);
      }
    }
  }
}
