package org.iscsicsi.controller.service;

import com.google.protobuf.Timestamp;
import csi.v1.Csi;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.engine.Engines;
import org.iscsicsi.controller.volume.CsiErrors;
import org.iscsicsi.controller.volume.VolumeId;
import org.iscsicsi.controller.volume.VolumeLabels;
import org.iscsicsi.controller.volume.VolumeParameters;
import org.iscsicsi.csi.OperationLocks;
import org.iscsicsi.target.v1.Snapshot;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Snapshots (CSI spec, CreateSnapshot, DeleteSnapshot, ListSnapshots, GetSnapshot): engine
 * snapshots of a volume's LUN 0, point-in-time and consistent with writes in flight (the engine's
 * promise), with ids {@code <engine>.<local>} ({@code pool.<local>} in a pool, found through
 * the {@link VolumeIndex}) derived from the CSI name like volume ids. A snapshot stays on its
 * volume's engine; while that engine is unreachable, creating or deleting it is UNAVAILABLE and
 * the queries answer from the index. A snapshot is a file of its own: it outlives its source
 * volume and restores into new volumes of equal or larger size.
 */
final class Snapshotter {

  private static final Logger log = LoggerFactory.getLogger(Snapshotter.class);

  private final Engines engines;
  private final ControllerConfig config;
  private final VolumeFinder finder;
  private final OperationLocks locks;
  private final Drainer drainer;

  Snapshotter(Engines engines, ControllerConfig config, VolumeFinder finder,
      OperationLocks locks, Drainer drainer) {
    this.drainer = drainer;
    this.engines = engines;
    this.config = config;
    this.finder = finder;
    this.locks = locks;
  }

  Csi.Snapshot create(Csi.CreateSnapshotRequest req) {
    String name = req.getName();
    String sourceId = req.getSourceVolumeId();
    if (name.isEmpty()) {
      throw CsiErrors.invalid("name is required");
    }
    if (sourceId.isEmpty()) {
      throw CsiErrors.invalid("source_volume_id is required");
    }
    for (String key : req.getParametersMap().keySet()) {
      if (!key.startsWith(VolumeParameters.KUBERNETES_PREFIX)) {
        throw CsiErrors.invalid("unknown snapshot parameter \"" + key + "\"");
      }
    }
    Optional<VolumeFinder.FoundSnapshot> same = sameName(name);
    if (same.isPresent()) {
      return existing(same.get().engine(), same.get().snapshot(), sourceId, name);
    }
    // a snapshot of a volume on its way off a draining engine is taken where it is
    drainer.cancelMove(sourceId, "CreateSnapshot");
    Located source = finder.require(sourceId);
    ReplicaMembers.refuseSnapshot(source.volume());
    VolumeId id = finder.idFor(source.engine(), name);
    try (OperationLocks.Held held = locks.acquire("snapshot " + id, "CreateSnapshot")) {
      Optional<Snapshot> raced = source.engine().client().findSnapshot(id.local());
      if (raced.isPresent()) {
        return existing(source.engine(), raced.get(), sourceId, name);
      }
      Map<String, String> labels = new TreeMap<>();
      labels.put(VolumeLabels.MANAGED_BY, config.driverName());
      labels.put(VolumeLabels.NAME, name);
      labels.put(VolumeLabels.SOURCE_VOLUME, sourceId);
      labels.put(VolumeLabels.BLOCK_SIZE,
          Integer.toString(source.volume().parameters().blockSize()));
      Snapshot snap = source.engine().client().createSnapshot(id.local(), source.iqn(), labels);
      finder.snapshotAdded(source.engine(), snap);
      log.info("created snapshot {} of volume {}", id, sourceId);
      return toCsi(source.engine(), snap);
    }
  }

  /** A snapshot made earlier with this CSI name (a retried CreateSnapshot). */
  private Optional<VolumeFinder.FoundSnapshot> sameName(String name) {
    if (finder.pooled()) {
      return finder.findSnapshot(VolumeId.forName(VolumeId.POOL, name).toString())
          .filter(f -> name.equals(f.snapshot().getLabelsOrDefault(VolumeLabels.NAME, "")));
    }
    for (Engine e : engines.all()) {
      Optional<Snapshot> same = e.client().findSnapshot(VolumeId.forName(e.name(), name).local())
          .filter(s -> name.equals(s.getLabelsOrDefault(VolumeLabels.NAME, "")));
      if (same.isPresent()) {
        return Optional.of(new VolumeFinder.FoundSnapshot(e, same.get()));
      }
    }
    return Optional.empty();
  }

  private Csi.Snapshot existing(Engine engine, Snapshot snap, String sourceId, String name) {
    String had = snap.getLabelsOrDefault(VolumeLabels.SOURCE_VOLUME, "");
    if (!had.equals(sourceId)) {
      throw CsiErrors.alreadyExists("snapshot \"" + name + "\" exists with source volume "
          + had + ", not " + sourceId);
    }
    return toCsi(engine, snap);
  }

  void delete(Csi.DeleteSnapshotRequest req) {
    String snapshotId = req.getSnapshotId();
    if (snapshotId.isEmpty()) {
      throw CsiErrors.invalid("snapshot_id is required");
    }
    if (VolumeId.parse(snapshotId).isEmpty()) {
      return;
    }
    try (OperationLocks.Held held = locks.acquire("snapshot " + snapshotId, "DeleteSnapshot")) {
      Optional<VolumeFinder.FoundSnapshot> snap = finder.findSnapshot(snapshotId);
      if (snap.isPresent()) {
        snap.get().engine().client().deleteSnapshot(snap.get().snapshot().getId());
        finder.snapshotRemoved(snapshotId);
        log.info("deleted snapshot {}", snapshotId);
      }
    }
  }

  Csi.ListSnapshotsResponse list(Csi.ListSnapshotsRequest req) {
    List<Csi.Snapshot> all = new ArrayList<>();
    if (!req.getSnapshotId().isEmpty()) {
      find(req.getSnapshotId())
          .filter(s -> req.getSourceVolumeId().isEmpty()
              || s.getSourceVolumeId().equals(req.getSourceVolumeId()))
          .ifPresent(all::add);
    } else {
      List<VolumeFinder.FoundSnapshot> found = req.getSourceVolumeId().isEmpty()
          ? finder.allSnapshots() : finder.snapshotsOf(req.getSourceVolumeId());
      found.forEach(f -> all.add(toCsi(f.engine(), f.snapshot())));
    }
    all.sort(Comparator.comparing(Csi.Snapshot::getSnapshotId));
    Paging<Csi.Snapshot> page = Paging.of(all, req.getMaxEntries(), req.getStartingToken());
    Csi.ListSnapshotsResponse.Builder b = Csi.ListSnapshotsResponse.newBuilder()
        .setNextToken(page.nextToken());
    page.page().forEach(s -> b.addEntries(
        Csi.ListSnapshotsResponse.Entry.newBuilder().setSnapshot(s)));
    return b.build();
  }

  Csi.Snapshot get(Csi.GetSnapshotRequest req) {
    if (req.getSnapshotId().isEmpty()) {
      throw CsiErrors.invalid("snapshot_id is required");
    }
    return find(req.getSnapshotId()).orElseThrow(
        () -> CsiErrors.notFound("snapshot " + req.getSnapshotId() + " does not exist"));
  }

  private Optional<Csi.Snapshot> find(String snapshotId) {
    return finder.viewSnapshot(snapshotId).map(f -> toCsi(f.engine(), f.snapshot()));
  }

  /** The CSI view of an engine snapshot (with its group's id when a group snapshot took it). */
  Csi.Snapshot toCsi(Engine engine, Snapshot s) {
    long nanos = s.getCreatedUnixNanos();
    return Csi.Snapshot.newBuilder()
        .setGroupSnapshotId(s.getLabelsOrDefault(VolumeLabels.GROUP_SNAPSHOT, ""))
        .setSnapshotId(finder.snapshotId(engine, s))
        .setSourceVolumeId(s.getLabelsOrDefault(VolumeLabels.SOURCE_VOLUME, ""))
        .setSizeBytes(s.getSizeBytes())
        .setCreationTime(Timestamp.newBuilder().setSeconds(Math.floorDiv(nanos, 1_000_000_000L))
            .setNanos((int) Math.floorMod(nanos, 1_000_000_000L)))
        .setReadyToUse(true)
        .build();
  }
}
