package org.iscsicsi.controller.service;

import com.google.protobuf.Timestamp;
import csi.v1.Csi;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.engine.EngineClient.SnapshotMember;
import org.iscsicsi.controller.volume.CsiErrors;
import org.iscsicsi.controller.volume.VolumeId;
import org.iscsicsi.controller.volume.VolumeLabels;
import org.iscsicsi.controller.volume.VolumeParameters;
import org.iscsicsi.csi.OperationLocks;
import org.iscsicsi.target.v1.Snapshot;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Group snapshots (CSI spec, GroupController service): one snapshot per source volume, all at one
 * instant, because the engine holds the writes of every member before it copies the first. That
 * needs every member on one engine; a group across engines is FAILED_PRECONDITION. The group has
 * no record of its own: its id ({@code <engine>.<local>}, {@code pool.<local>} in a pool, from the
 * CSI name like snapshot ids) is a label on each member snapshot, which are ordinary snapshots
 * (restorable, listed, deletable one by one).
 */
final class GroupSnapshotter {

  private static final Logger log = LoggerFactory.getLogger(GroupSnapshotter.class);

  private final ControllerConfig config;
  private final VolumeFinder finder;
  private final OperationLocks locks;
  private final Snapshotter snapshots;
  private final Drainer drainer;

  GroupSnapshotter(ControllerConfig config, VolumeFinder finder, OperationLocks locks,
      Snapshotter snapshots, Drainer drainer) {
    this.config = config;
    this.finder = finder;
    this.locks = locks;
    this.snapshots = snapshots;
    this.drainer = drainer;
  }

  Csi.VolumeGroupSnapshot create(Csi.CreateVolumeGroupSnapshotRequest req) {
    String name = req.getName();
    if (name.isEmpty()) {
      throw CsiErrors.invalid("name is required");
    }
    if (req.getSourceVolumeIdsCount() == 0) {
      throw CsiErrors.invalid("source_volume_ids is required");
    }
    Set<String> sources = new LinkedHashSet<>(req.getSourceVolumeIdsList());
    if (sources.size() != req.getSourceVolumeIdsCount()) {
      throw CsiErrors.invalid("source_volume_ids names a volume twice");
    }
    for (String key : req.getParametersMap().keySet()) {
      if (!key.startsWith(VolumeParameters.KUBERNETES_PREFIX)) {
        throw CsiErrors.invalid("unknown group snapshot parameter \"" + key + "\"");
      }
    }
    List<Located> members = new ArrayList<>();
    for (String id : sources) {
      // a member on its way off a draining engine is snapshotted where it is
      drainer.cancelMove(id, "CreateVolumeGroupSnapshot");
      Located member = finder.require(id);
      ReplicaMembers.refuseSnapshot(member.volume());
      members.add(member);
    }
    Set<String> engines = members.stream().map(l -> l.engine().name())
        .collect(Collectors.toCollection(TreeSet::new));
    if (engines.size() > 1) {
      throw CsiErrors.failedPrecondition("the volumes of group snapshot \"" + name + "\" live on"
          + " engines " + engines + "; a group is taken at one instant by one engine, so its"
          + " volumes must share one");
    }
    Engine engine = members.getFirst().engine();
    String groupId = finder.idFor(engine, name).toString();
    try (OperationLocks.Held held = locks.acquire("group snapshot " + groupId,
        "CreateVolumeGroupSnapshot")) {
      List<VolumeFinder.FoundSnapshot> existing = members(groupId);
      if (!existing.isEmpty()) {
        Set<String> had = existing.stream().map(f -> f.snapshot()
            .getLabelsOrDefault(VolumeLabels.SOURCE_VOLUME, "")).collect(Collectors.toSet());
        if (!had.equals(sources)) {
          throw CsiErrors.alreadyExists("group snapshot \"" + name + "\" exists with source"
              + " volumes " + new TreeSet<>(had) + ", not " + new TreeSet<>(sources));
        }
        return toCsi(groupId, existing);
      }
      List<SnapshotMember> request = new ArrayList<>();
      List<String> sourceIds = List.copyOf(sources);
      for (int i = 0; i < members.size(); i++) {
        Located source = members.get(i);
        String sourceId = sourceIds.get(i);
        String memberName = name + "/" + sourceId;
        Map<String, String> labels = new TreeMap<>();
        labels.put(VolumeLabels.MANAGED_BY, config.driverName());
        labels.put(VolumeLabels.NAME, memberName);
        labels.put(VolumeLabels.SOURCE_VOLUME, sourceId);
        labels.put(VolumeLabels.BLOCK_SIZE,
            Integer.toString(source.volume().parameters().blockSize()));
        labels.put(VolumeLabels.GROUP_SNAPSHOT, groupId);
        labels.put(VolumeLabels.GROUP_NAME, name);
        request.add(new SnapshotMember(finder.idFor(engine, memberName).local(), source.iqn(),
            labels));
      }
      List<Snapshot> taken = engine.client().createSnapshotGroup(request);
      List<VolumeFinder.FoundSnapshot> found = new ArrayList<>();
      for (Snapshot s : taken) {
        finder.snapshotAdded(engine, s);
        found.add(new VolumeFinder.FoundSnapshot(engine, s));
      }
      log.info("created group snapshot {} of volumes {}", groupId, sources);
      return toCsi(groupId, found);
    }
  }

  Csi.VolumeGroupSnapshot get(Csi.GetVolumeGroupSnapshotRequest req) {
    String groupId = req.getGroupSnapshotId();
    if (groupId.isEmpty()) {
      throw CsiErrors.invalid("group_snapshot_id is required");
    }
    List<VolumeFinder.FoundSnapshot> found = VolumeId.parse(groupId).isEmpty()
        ? List.of() : members(groupId);
    if (found.isEmpty()) {
      throw CsiErrors.notFound("group snapshot " + groupId + " does not exist");
    }
    requireSameMembers(groupId, found, req.getSnapshotIdsList());
    return toCsi(groupId, found);
  }

  void delete(Csi.DeleteVolumeGroupSnapshotRequest req) {
    String groupId = req.getGroupSnapshotId();
    if (groupId.isEmpty()) {
      throw CsiErrors.invalid("group_snapshot_id is required");
    }
    if (VolumeId.parse(groupId).isEmpty()) {
      return;
    }
    try (OperationLocks.Held held = locks.acquire("group snapshot " + groupId,
        "DeleteVolumeGroupSnapshot")) {
      List<VolumeFinder.FoundSnapshot> found = members(groupId);
      requireSameMembers(groupId, found, req.getSnapshotIdsList());
      for (VolumeFinder.FoundSnapshot f : found) {
        snapshots.delete(Csi.DeleteSnapshotRequest.newBuilder()
            .setSnapshotId(finder.snapshotId(f.engine(), f.snapshot())).build());
      }
      log.info("deleted group snapshot {} ({} snapshots)", groupId, found.size());
    }
  }

  /** The group's member snapshots. */
  private List<VolumeFinder.FoundSnapshot> members(String groupId) {
    return finder.allSnapshots().stream()
        .filter(f -> groupId.equals(f.snapshot().getLabelsOrDefault(VolumeLabels.GROUP_SNAPSHOT,
            "")))
        .toList();
  }

  /**
   * snapshot_ids, when given, must be the group's members (CSI: a mismatch is INVALID_ARGUMENT).
   * Members deleted one by one since are not required: the caller may hold the ids it was given.
   */
  private void requireSameMembers(String groupId, List<VolumeFinder.FoundSnapshot> found,
      List<String> given) {
    if (given.isEmpty()) {
      return;
    }
    Set<String> have = new HashSet<>();
    found.forEach(f -> have.add(finder.snapshotId(f.engine(), f.snapshot())));
    Set<String> stray = new TreeSet<>(have);
    stray.removeAll(given);
    if (!stray.isEmpty()) {
      throw CsiErrors.invalid("snapshot_ids " + new TreeSet<>(given) + " do not match group"
          + " snapshot " + groupId + ", whose members are " + new TreeSet<>(have));
    }
    for (String id : given) {
      if (!have.contains(id) && finder.viewSnapshot(id).isPresent()) {
        throw CsiErrors.invalid("snapshot " + id + " is not a member of group snapshot "
            + groupId);
      }
    }
  }

  private Csi.VolumeGroupSnapshot toCsi(String groupId, List<VolumeFinder.FoundSnapshot> found) {
    Csi.VolumeGroupSnapshot.Builder b = Csi.VolumeGroupSnapshot.newBuilder()
        .setGroupSnapshotId(groupId).setReadyToUse(true);
    long nanos = Long.MAX_VALUE;
    // One order (by snapshot id) for every answer, so a retried create equals the first.
    for (VolumeFinder.FoundSnapshot f : found.stream().sorted(Comparator.comparing(
        (VolumeFinder.FoundSnapshot f) -> finder.snapshotId(f.engine(), f.snapshot()))).toList()) {
      b.addSnapshots(snapshots.toCsi(f.engine(), f.snapshot()));
      nanos = Math.min(nanos, f.snapshot().getCreatedUnixNanos());
    }
    return b.setCreationTime(Timestamp.newBuilder()
        .setSeconds(Math.floorDiv(nanos, 1_000_000_000L))
        .setNanos((int) Math.floorMod(nanos, 1_000_000_000L))).build();
  }
}
