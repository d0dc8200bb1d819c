package org.iscsicsi.controller.service;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.engine.EngineState;
import org.iscsicsi.controller.engine.EngineStatus;
import org.iscsicsi.controller.engine.Engines;
import org.iscsicsi.controller.volume.CsiErrors;
import org.iscsicsi.controller.volume.VolumeId;
import org.iscsicsi.controller.volume.VolumeLabels;
import org.iscsicsi.controller.volume.VolumeRecord;
import org.iscsicsi.target.v1.ListSnapshotsRequest;
import org.iscsicsi.target.v1.LunRef;
import org.iscsicsi.target.v1.Snapshot;
import org.iscsicsi.target.v1.Target;

/**
 * Reads volumes and snapshots back from the engines (their targets are the only record of
 * them). With fixed engines an id names its engine. In a pool ({@link Engines#pooled()}) ids
 * start with {@code pool.} and the {@link VolumeIndex} says where they are; a miss asks every
 * reachable engine before it counts as gone. A volume whose engine is unreachable is answered
 * from the index by the queries ({@link #view}, {@link #all}) with an abnormal condition, and is
 * UNAVAILABLE, naming the engine, to everything that would change it ({@link #find}). A
 * replicated volume is found, by everything that would change it, on its current primary
 * ({@link ReplicaRecords#settle}).
 */
final class VolumeFinder {

  /** A snapshot and the engine that holds it. */
  record FoundSnapshot(Engine engine, Snapshot snapshot) {}

  private final Engines engines;
  private final ControllerConfig config;
  private final VolumeIndex index;
  private final ReplicaRecords records;

  VolumeFinder(Engines engines, ControllerConfig config, VolumeEvents events) {
    this(engines, config, events, Memberships.NONE, ChapSecretStore.ENGINE_ONLY);
  }

  VolumeFinder(Engines engines, ControllerConfig config, VolumeEvents events,
      Memberships memberships, ChapSecretStore chapSecrets) {
    this.engines = engines;
    this.config = config;
    this.index = new VolumeIndex(engines, config, events);
    this.records = new ReplicaRecords(engines, config.driverName(), memberships,
        new GeneratedChap(chapSecrets), this);
  }

  /** Replicated volumes' records on their primaries, and their members' grants. */
  ReplicaRecords records() {
    return records;
  }

  boolean pooled() {
    return engines.pooled();
  }

  VolumeIndex index() {
    return index;
  }

  /** The id a CSI name gets on {@code engine}: {@code pool.<local>} in a pool. */
  VolumeId idFor(Engine engine, String csiName) {
    return VolumeId.forName(pooled() ? VolumeId.POOL : engine.name(), csiName);
  }

  /**
   * The volume with this id, complete or not; empty when the id is not ours or it is gone.
   *
   * @throws StatusRuntimeException UNAVAILABLE when its engine is unreachable
   */
  Optional<Located> find(String volumeId) {
    Optional<Located> l = view(volumeId).map(records::settle);
    l.ifPresent(VolumeFinder::requireReachable);
    return l;
  }

  /**
   * As {@link #find}, but a volume on an unreachable engine is what the index last read of it
   * (for queries, whose answer then carries an abnormal condition).
   */
  Optional<Located> view(String volumeId) {
    Optional<VolumeId> id = VolumeId.parse(volumeId);
    if (id.isEmpty()) {
      return Optional.empty();
    }
    if (!pooled()) {
      return engines.byName(id.get().engine()).flatMap(e -> read(e, id.get()));
    }
    if (!id.get().pooled()) {
      return Optional.empty();
    }
    index.refresh();
    for (String name : index.enginesOf(volumeId)) {
      Optional<Engine> engine = engines.byName(name);
      if (engine.isEmpty()) {
        throw CsiErrors.unavailable("volume " + volumeId + " is on engine " + name
            + ", which is not in the pool");
      }
      Engine e = engine.get();
      if (!e.state().reachable()) {
        return index.lastRead(volumeId, name).map(t -> new Located(e, new VolumeRecord(id.get(),
            t)));
      }
      try {
        Optional<Located> live = read(e, id.get());
        if (live.isPresent()) {
          return live;
        }
        index.removeVolume(name, volumeId);
      } catch (StatusRuntimeException failed) {
        if (!unanswered(failed)) {
          throw failed;
        }
        Engine away = silent(e, failed);
        return index.lastRead(volumeId, name).map(t -> new Located(away,
            new VolumeRecord(id.get(), t)));
      }
    }
    return askEveryEngine(e -> read(e, id.get()));
  }

  /**
   * The first answer of the reachable engines, for what the index does not know. An engine
   * that does not answer is passed over, as an unreachable one is.
   */
  private <T> Optional<T> askEveryEngine(Function<Engine, Optional<T>> read) {
    for (Engine e : engines.all()) {
      if (!e.state().reachable()) {
        continue;
      }
      try {
        Optional<T> found = read.apply(e);
        if (found.isPresent()) {
          return found;
        }
      } catch (StatusRuntimeException failed) {
        if (!unanswered(failed)) {
          throw failed;
        }
      }
    }
    return Optional.empty();
  }

  /** Reads the volume's target from one engine, noting it in the index in a pool. */
  private Optional<Located> read(Engine engine, VolumeId id) {
    Optional<Target> t = engine.client().findTarget(id.iqn(config.iqnPrefix())).filter(this::ours);
    t.ifPresent(target -> updated(engine, id, target));
    return t.map(target -> new Located(engine, new VolumeRecord(id, target)));
  }

  /**
   * A complete volume.
   *
   * @throws StatusRuntimeException NOT_FOUND when there is none with this id, UNAVAILABLE when
   *     its engine is unreachable
   */
  Located require(String volumeId) {
    Located l = records.settle(requireView(volumeId));
    requireReachable(l);
    return l;
  }

  /** As {@link #require}, answering from the index while the volume's engine is unreachable. */
  Located requireView(String volumeId) {
    return view(volumeId).filter(l -> l.volume().complete())
        .orElseThrow(() -> CsiErrors.notFound("volume " + volumeId + " does not exist"));
  }

  /** The volume with this CSI name, on whichever engine holds it. */
  Optional<Located> byName(String name) {
    if (pooled()) {
      return find(VolumeId.forName(VolumeId.POOL, name).toString())
          .filter(l -> l.volume().name().equals(name));
    }
    for (Engine engine : engines.all()) {
      Optional<Located> l = find(VolumeId.forName(engine.name(), name).toString());
      if (l.isPresent() && l.get().volume().name().equals(name)) {
        return l;
      }
    }
    return Optional.empty();
  }

  /**
   * Every complete volume on every engine, in id order. In a pool, reachable engines are
   * listed and the index follows what they list; the volumes of an unreachable engine are the
   * index's, with that engine's status.
   */
  List<Located> all() {
    Map<String, Located> out = new LinkedHashMap<>();
    if (pooled()) {
      index.refresh();
    }
    for (Engine engine : engines.all()) {
      for (Located l : volumesOn(engine)) {
        if (l.volume().complete()) {
          out.putIfAbsent(l.volume().id().toString(), l);
        }
      }
    }
    List<Located> sorted = new ArrayList<>(out.values());
    sorted.sort(Comparator.comparing(l -> l.volume().id().toString()));
    return sorted;
  }

  private List<Located> volumesOn(Engine engine) {
    if (pooled() && !engine.state().reachable()) {
      return index.volumesOn(engine.name()).stream().map(v -> new Located(engine, v)).toList();
    }
    List<Target> targets;
    try {
      targets = engine.client().listTargets(VolumeLabels.selector(config.driverName()));
    } catch (StatusRuntimeException failed) {
      if (!pooled() || !unanswered(failed)) {
        throw failed;
      }
      Engine away = silent(engine, failed);
      return index.volumesOn(engine.name()).stream().map(v -> new Located(away, v)).toList();
    }
    if (pooled()) {
      index.replaceVolumes(engine.name(), targets);
    }
    String prefix = config.iqnPrefix() + ":";
    List<Located> out = new ArrayList<>();
    for (Target t : targets) {
      if (!t.getName().startsWith(prefix)) {
        continue;
      }
      String expected = pooled() ? VolumeId.POOL : engine.name();
      VolumeId.parse(t.getName().substring(prefix.length()))
          .filter(id -> id.engine().equals(expected))
          .ifPresent(id -> out.add(new Located(engine, new VolumeRecord(id, t))));
    }
    return out;
  }

  /** Notes a volume's target as just read or changed (the index's copy, in a pool). */
  void updated(Engine engine, VolumeId id, Target target) {
    if (pooled()) {
      index.putVolume(engine.name(), id.toString(), target);
    }
  }

  /** Notes that a volume is gone from an engine. */
  void removed(Engine engine, VolumeId id) {
    if (pooled()) {
      index.removeVolume(engine.name(), id.toString());
    }
  }

  // Snapshots

  /** The snapshot id of an engine's snapshot. */
  String snapshotId(Engine engine, Snapshot s) {
    return (pooled() ? VolumeId.POOL : engine.name()) + "." + s.getId();
  }

  /**
   * The snapshot with this id, answered from the index while its engine is unreachable
   * (snapshots do not change); empty when it is not ours or gone.
   */
  Optional<FoundSnapshot> viewSnapshot(String snapshotId) {
    Optional<VolumeId> id = VolumeId.parse(snapshotId);
    if (id.isEmpty()) {
      return Optional.empty();
    }
    if (!pooled()) {
      return engines.byName(id.get().engine()).flatMap(e -> readSnapshot(e, id.get()));
    }
    if (!id.get().pooled()) {
      return Optional.empty();
    }
    index.refresh();
    Optional<VolumeIndex.IndexedSnapshot> indexed = index.snapshot(snapshotId);
    if (indexed.isPresent()) {
      String name = indexed.get().engine();
      Engine e = engines.byName(name).orElseThrow(() -> CsiErrors.unavailable("snapshot "
          + snapshotId + " is on engine " + name + ", which is not in the pool"));
      if (!e.state().reachable()) {
        return Optional.of(new FoundSnapshot(e, indexed.get().snapshot()));
      }
      Optional<FoundSnapshot> live = readSnapshot(e, id.get());
      if (live.isPresent()) {
        return live;
      }
      index.removeSnapshot(snapshotId);
    }
    return askEveryEngine(e -> readSnapshot(e, id.get()));
  }

  /**
   * As {@link #viewSnapshot}, for calls that use or change it.
   *
   * @throws StatusRuntimeException UNAVAILABLE when its engine is unreachable
   */
  Optional<FoundSnapshot> findSnapshot(String snapshotId) {
    Optional<FoundSnapshot> s = viewSnapshot(snapshotId);
    s.ifPresent(found -> requireReachable(found.engine(), "snapshot " + snapshotId));
    return s;
  }

  private Optional<FoundSnapshot> readSnapshot(Engine engine, VolumeId id) {
    Optional<Snapshot> s = engine.client().findSnapshot(id.local()).filter(this::ours);
    s.ifPresent(snap -> snapshotAdded(engine, snap));
    return s.map(snap -> new FoundSnapshot(engine, snap));
  }

  /** Every snapshot of ours; an unreachable pool engine's are the index's. */
  List<FoundSnapshot> allSnapshots() {
    if (pooled()) {
      index.refresh();
    }
    List<FoundSnapshot> out = new ArrayList<>();
    for (Engine e : engines.all()) {
      out.addAll(snapshotsOn(e, ListSnapshotsRequest.getDefaultInstance(),
          s -> index.snapshotsOn(e.name())));
    }
    return out;
  }

  /**
   * The snapshots of one volume (which may be gone: snapshots outlive it). In a pool they are
   * those whose source label names it, on any engine.
   */
  List<FoundSnapshot> snapshotsOf(String volumeId) {
    Optional<VolumeId> vid = VolumeId.parse(volumeId);
    if (vid.isEmpty()) {
      return List.of();
    }
    if (pooled()) {
      return allSnapshots().stream().filter(f -> volumeId.equals(
          f.snapshot().getLabelsOrDefault(VolumeLabels.SOURCE_VOLUME, ""))).toList();
    }
    ListSnapshotsRequest q = ListSnapshotsRequest.newBuilder().setSource(LunRef.newBuilder()
        .setTarget(vid.get().iqn(config.iqnPrefix())).setLun(0)).build();
    return engines.byName(vid.get().engine())
        .map(e -> snapshotsOn(e, q, unused -> List.of())).orElse(List.of());
  }

  private List<FoundSnapshot> snapshotsOn(Engine engine, ListSnapshotsRequest q,
      Function<Engine, List<Snapshot>> remembered) {
    List<Snapshot> snaps;
    Engine holder = engine;
    if (pooled() && !engine.state().reachable()) {
      snaps = remembered.apply(engine);
    } else {
      try {
        snaps = engine.client().listSnapshots(q);
      } catch (StatusRuntimeException failed) {
        if (!pooled() || !unanswered(failed)) {
          throw failed;
        }
        holder = silent(engine, failed);
        snaps = remembered.apply(engine);
      }
    }
    Engine e = holder;
    return snaps.stream().filter(this::ours).map(s -> new FoundSnapshot(e, s)).toList();
  }

  void snapshotAdded(Engine engine, Snapshot s) {
    if (pooled()) {
      index.putSnapshot(engine.name(), s);
    }
  }

  void snapshotRemoved(String snapshotId) {
    if (pooled()) {
      index.removeSnapshot(snapshotId);
    }
  }

  // Reachability

  /** UNAVAILABLE, naming the engine, unless the volume's engine is reachable. */
  static void requireReachable(Located l) {
    requireReachable(l.engine(), "volume " + l.volume().id());
  }

  static void requireReachable(Engine engine, String what) {
    if (!engine.state().reachable()) {
      throw CsiErrors.unavailable(what + " is on " + Located.unreachable(engine)
          + "; retry when it is back");
    }
  }

  /** True for an engine call that failed because the engine did not answer. */
  /** An engine that did not answer (gone, or too slow), as opposed to one that refused. */
  static boolean unanswered(StatusRuntimeException e) {
    Status.Code code = e.getStatus().getCode();
    return code == Status.Code.UNAVAILABLE || code == Status.Code.DEADLINE_EXCEEDED;
  }

  /** The engine as unreachable now, because a call to it just went unanswered. */
  private static Engine silent(Engine engine, StatusRuntimeException failed) {
    return engine.withStatus(new EngineStatus(EngineState.UNREACHABLE, Instant.now(),
        "did not answer (" + failed.getStatus().getCode() + ": "
            + failed.getStatus().getDescription() + ")"));
  }

  private boolean ours(Target t) {
    return config.driverName().equals(t.getLabelsOrDefault(VolumeLabels.MANAGED_BY, ""));
  }

  private boolean ours(Snapshot s) {
    return config.driverName().equals(s.getLabelsOrDefault(VolumeLabels.MANAGED_BY, ""));
  }
}
