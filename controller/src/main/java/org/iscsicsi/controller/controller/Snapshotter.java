package org.iscsicsi.controller.controller;

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
import org.iscsicsi.target.v1.ListSnapshotsRequest;
import org.iscsicsi.target.v1.LunRef;
import org.iscsicsi.target.v1.Snapshot;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Snapshots (CSI spec, CreateSnapshot, DeleteSnapshot, ListSnapshots, GetSnapshot): engine
 * snapshots of a volume's LUN 0, point-in-time and consistent with writes in flight (the engine's
 * promise), with ids {@code <engine>.<local>} derived from the CSI name like volume ids. A
 * snapshot is a file of its own: it outlives its source volume and restores into new volumes of
 * equal or larger size.
 */
final class Snapshotter {

  private static final Logger log = LoggerFactory.getLogger(Snapshotter.class);

  private final Engines engines;
  private final ControllerConfig config;
  private final VolumeFinder finder;
  private final OperationLocks locks;

  Snapshotter(Engines engines, ControllerConfig config, VolumeFinder finder,
      OperationLocks locks) {
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
    for (Engine e : engines.all()) {
      Optional<Snapshot> same = e.client().findSnapshot(VolumeId.forName(e.name(), name).local())
          .filter(s -> name.equals(s.getLabelsOrDefault(VolumeLabels.NAME, "")));
      if (same.isPresent()) {
        return existing(e, same.get(), sourceId, name);
      }
    }
    Located source = finder.require(sourceId);
    VolumeId id = VolumeId.forName(source.engine().name(), name);
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
      log.info("created snapshot {} of volume {}", id, sourceId);
      return toCsi(source.engine(), snap);
    }
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
    Optional<VolumeId> id = VolumeId.parse(snapshotId);
    if (id.isEmpty()) {
      return;
    }
    Optional<Engine> engine = engines.byName(id.get().engine());
    if (engine.isEmpty()) {
      return;
    }
    try (OperationLocks.Held held = locks.acquire("snapshot " + id.get(), "DeleteSnapshot")) {
      Optional<Snapshot> snap = engine.get().client().findSnapshot(id.get().local());
      if (snap.isPresent() && ours(snap.get())) {
        engine.get().client().deleteSnapshot(id.get().local());
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
    } else if (!req.getSourceVolumeId().isEmpty()) {
      Optional<VolumeId> vid = VolumeId.parse(req.getSourceVolumeId());
      Optional<Engine> engine = vid.flatMap(v -> engines.byName(v.engine()));
      if (engine.isPresent()) {
        ListSnapshotsRequest q = ListSnapshotsRequest.newBuilder().setSource(LunRef.newBuilder()
            .setTarget(vid.get().iqn(config.iqnPrefix())).setLun(0)).build();
        for (Snapshot s : engine.get().client().listSnapshots(q)) {
          if (ours(s)) {
            all.add(toCsi(engine.get(), s));
          }
        }
      }
    } else {
      for (Engine e : engines.all()) {
        for (Snapshot s : e.client().listSnapshots(ListSnapshotsRequest.getDefaultInstance())) {
          if (ours(s)) {
            all.add(toCsi(e, s));
          }
        }
      }
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
    Optional<VolumeId> id = VolumeId.parse(snapshotId);
    Optional<Engine> engine = id.flatMap(v -> engines.byName(v.engine()));
    if (engine.isEmpty()) {
      return Optional.empty();
    }
    return engine.get().client().findSnapshot(id.get().local()).filter(this::ours)
        .map(s -> toCsi(engine.get(), s));
  }

  private boolean ours(Snapshot s) {
    return config.driverName().equals(s.getLabelsOrDefault(VolumeLabels.MANAGED_BY, ""));
  }

  private static Csi.Snapshot toCsi(Engine engine, Snapshot s) {
    long nanos = s.getCreatedUnixNanos();
    return Csi.Snapshot.newBuilder()
        .setSnapshotId(engine.name() + "." + s.getId())
        .setSourceVolumeId(s.getLabelsOrDefault(VolumeLabels.SOURCE_VOLUME, ""))
        .setSizeBytes(s.getSizeBytes())
        .setCreationTime(Timestamp.newBuilder().setSeconds(Math.floorDiv(nanos, 1_000_000_000L))
            .setNanos((int) Math.floorMod(nanos, 1_000_000_000L)))
        .setReadyToUse(true)
        .build();
  }
}
