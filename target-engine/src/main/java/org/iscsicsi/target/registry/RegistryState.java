package org.iscsicsi.target.registry;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;
import org.iscsicsi.target.names.IscsiNames;
import org.iscsicsi.target.registry.RegistryException.Reason;
import org.iscsicsi.target.state.EngineState;
import org.iscsicsi.target.state.LunRecord;
import org.iscsicsi.target.state.SnapshotRecord;
import org.iscsicsi.target.state.StateChange;
import org.iscsicsi.target.state.StateStore;
import org.iscsicsi.target.state.TargetRecord;

/**
 * The registry's one lock and what it guards: the targets and snapshots as last saved (a change is
 * written to the {@link StateStore} first and adopted only when that succeeded), the open LUNs,
 * the running copies, and the publishing of the live map.
 *
 * <p>Every method but the constructor expects the caller to hold {@link #lock}.
 */
final class RegistryState {

  final Object lock = new Object();
  final OpenUnits units = new OpenUnits();
  final CopyTracker copies = new CopyTracker();
  final LiveTargets live = new LiveTargets();

  private final StateStore store;
  // Replaced as a whole by each commit; the maps themselves are not changed after adoption.
  private TreeMap<String, TargetRecord> targets = new TreeMap<>();
  private TreeMap<String, SnapshotRecord> snapshots = new TreeMap<>();

  RegistryState(StateStore store) {
    this.store = store;
  }

  /** Adopts a loaded state (at start): records, ports, and every LUN file it can open. */
  void load(EngineState state) {
    for (SnapshotRecord s : state.snapshots()) {
      snapshots.put(s.id(), s);
    }
    for (TargetRecord t : state.targets()) {
      targets.put(t.name(), t);
      units.addPort(t.name());
      for (LunRecord l : t.luns()) {
        units.open(t.name(), l);
      }
    }
  }

  Collection<TargetRecord> targets() {
    return targets.values();
  }

  /** The target under its exact (normalized) name, or null. */
  TargetRecord target(String normalizedName) {
    return targets.get(normalizedName);
  }

  /** The target; NOT_FOUND, or INVALID_ARGUMENT for a malformed name. */
  TargetRecord require(String name) {
    String n = name == null ? "" : IscsiNames.normalize(name);
    TargetRecord t = targets.get(n);
    if (t == null) {
      if (!IscsiNames.isValid(n)) {
        Validation.targetName(name); // throws INVALID_ARGUMENT with the reason
      }
      throw RegistryException.notFound("target " + n + " does not exist");
    }
    return t;
  }

  static LunRecord requireLun(TargetRecord t, int lun) {
    Validation.lun(lun);
    return t.lun(lun).orElseThrow(() -> RegistryException.notFound("LUN " + lun + " of "
        + t.name() + " does not exist"));
  }

  Collection<SnapshotRecord> snapshots() {
    return snapshots.values();
  }

  /** The snapshot, or null. */
  SnapshotRecord snapshot(String id) {
    return snapshots.get(id);
  }

  /** Saves the state with {@code t} in place of its old version, then adopts it. */
  void commitTarget(TargetRecord t) {
    adopt(with(targets, t.name(), t), snapshots, List.of(new StateChange.PutTarget(t)));
  }

  /** Saves the state without the target, then forgets it. */
  void commitTargetRemoval(String name) {
    adopt(with(targets, name, null), snapshots, List.of(new StateChange.RemoveTarget(name)));
  }

  /** Saves the state with the snapshot, then adopts it. */
  void commitSnapshot(SnapshotRecord s) {
    adopt(targets, with(snapshots, s.id(), s), List.of(new StateChange.PutSnapshot(s)));
  }

  /** Saves the state with all of {@code ss} in one write, then adopts them. */
  void commitSnapshots(List<SnapshotRecord> ss) {
    TreeMap<String, SnapshotRecord> next = new TreeMap<>(snapshots);
    ss.forEach(s -> next.put(s.id(), s));
    adopt(targets, next, ss.stream().<StateChange>map(StateChange.PutSnapshot::new).toList());
  }

  /** Saves the state with a received target and its snapshots in one write, then adopts them. */
  void commitReceived(TargetRecord t, List<SnapshotRecord> received) {
    TreeMap<String, SnapshotRecord> ss = new TreeMap<>(snapshots);
    received.forEach(s -> ss.put(s.id(), s));
    List<StateChange> changes = new ArrayList<>();
    changes.add(new StateChange.PutTarget(t));
    received.forEach(s -> changes.add(new StateChange.PutSnapshot(s)));
    adopt(with(targets, t.name(), t), ss, changes);
  }

  /** Saves the state without the snapshot, then forgets it. */
  void commitSnapshotRemoval(String id) {
    adopt(targets, with(snapshots, id, null), List.of(new StateChange.RemoveSnapshot(id)));
  }

  /** A copy of {@code m} with {@code key} mapped to {@code value}, or removed when it is null. */
  private static <V> TreeMap<String, V> with(TreeMap<String, V> m, String key, V value) {
    TreeMap<String, V> next = new TreeMap<>(m);
    if (value == null) {
      next.remove(key);
    } else {
      next.put(key, value);
    }
    return next;
  }

  /**
   * Records {@code changes} (which turn the saved state into {@code ts} and {@code ss}) and, only
   * when that worked, adopts them.
   */
  private void adopt(TreeMap<String, TargetRecord> ts, TreeMap<String, SnapshotRecord> ss,
      List<StateChange> changes) {
    try {
      store.apply(changes);
    } catch (IOException e) {
      throw new RegistryException(Reason.INTERNAL, "cannot write the state file: "
          + e.getMessage(), e);
    }
    targets = ts;
    snapshots = ss;
  }

  /** Shows the current targets to the event loops. */
  void publish() {
    live.publish(targets.values(), units);
  }

  /** Serials in use or reserved by a running copy. */
  Set<String> serials() {
    return identities(LunRecord::serial);
  }

  /** NAAs in use or reserved by a running copy. */
  Set<String> naas() {
    return identities(LunRecord::naa);
  }

  private Set<String> identities(Function<LunRecord, String> field) {
    Set<String> s = new HashSet<>(copies.reservedIdentities());
    targets.values().forEach(t -> t.luns().forEach(l -> s.add(field.apply(l))));
    return s;
  }

  /** Every file the state names (LUNs and snapshots). */
  Set<Path> knownFiles() {
    Set<Path> known = new HashSet<>();
    targets.values().forEach(t -> t.luns().forEach(l -> known.add(Path.of(l.file()))));
    snapshots.values().forEach(sn -> known.add(Path.of(sn.file())));
    return known;
  }
}
