package org.iscsicsi.target.registry;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.registry.RegistryException.Reason;
import org.iscsicsi.target.state.LunRecord;
import org.iscsicsi.target.state.SnapshotRecord;
import org.iscsicsi.target.state.TargetRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Snapshots of several LUNs at one instant (crash-consistent across them): the writes of every
 * member are held together, in one fixed order so that two groups sharing LUNs cannot deadlock,
 * before any is copied, and released after the last copy; the snapshots are recorded in one state
 * write, so a crash leaves all of them or none (only orphan files, which the next start reports).
 */
final class SnapshotGroup {

  private static final Logger log = LoggerFactory.getLogger(SnapshotGroup.class);

  private record Resolved(SnapshotRequest member, String target, LunRecord lun, LogicalUnit unit,
      Backend backend, Map<String, String> labels) {}

  private final RegistryState state;
  private final PoolAccounting pool;
  private final Backends backends;

  SnapshotGroup(RegistryState state, PoolAccounting pool, Backends backends) {
    this.state = state;
    this.pool = pool;
    this.backends = backends;
  }

  /** See {@link TargetRegistry#createSnapshotGroup}. */
  List<SnapshotRecord> create(List<SnapshotRequest> members) {
    if (members.isEmpty()) {
      throw RegistryException.invalid("a snapshot group needs at least one member");
    }
    Set<String> ids = new HashSet<>();
    for (SnapshotRequest m : members) {
      Validation.snapshotId(m.id());
      if (!ids.add(m.id())) {
        throw RegistryException.invalid("snapshot id " + m.id() + " appears twice in the group");
      }
    }
    List<Resolved> held;
    List<String> keys = new ArrayList<>();
    while (true) {
      CompletableFuture<Void> running = null;
      synchronized (state.lock) {
        List<Resolved> resolved = resolve(members);
        List<SnapshotRecord> existing = existing(resolved);
        if (existing != null) {
          return existing;
        }
        for (Resolved r : resolved) {
          running = state.copies.running(CopyTracker.snapshot(r.member().id()));
          if (running != null) {
            break;
          }
        }
        if (running == null) {
          requireRoom(resolved);
          for (Resolved r : resolved) {
            String key = CopyTracker.snapshot(r.member().id());
            state.copies.start(key, CopyTracker.lun(r.target(), r.lun().lun()));
            keys.add(key);
          }
          held = resolved;
          break;
        }
      }
      CopyTracker.awaitEnd(running);
    }
    try {
      return copyAndCommit(held);
    } finally {
      synchronized (state.lock) {
        for (int i = 0; i < held.size(); i++) {
          Resolved r = held.get(i);
          state.copies.end(keys.get(i), CopyTracker.lun(r.target(), r.lun().lun()), null);
        }
      }
    }
  }

  private List<Resolved> resolve(List<SnapshotRequest> members) {
    List<Resolved> out = new ArrayList<>();
    Set<String> luns = new HashSet<>();
    for (SnapshotRequest m : members) {
      TargetRecord t = state.require(m.target());
      LunRecord lun = RegistryState.requireLun(t, m.lun());
      if (!luns.add(CopyTracker.lun(t.name(), m.lun()))) {
        throw RegistryException.invalid("LUN " + m.lun() + " of " + t.name()
            + " appears twice in the group");
      }
      Backend backend = backends.of(Path.of(lun.file()));
      backend.requireSnapshots();
      out.add(new Resolved(m, t.name(), lun, state.units.require(t.name(), lun), backend,
          Validation.labels(m.labels())));
    }
    return out;
  }

  /** Room for every member's copy on its backend (a thin LVM snapshot shares its blocks). */
  private void requireRoom(List<Resolved> members) {
    Map<Backend, Long> need = new java.util.HashMap<>();
    for (Resolved r : members) {
      long bytes = r.backend() instanceof LvmBackend lv && lv.thin() ? 0
          : PoolAccounting.allocated(r.unit());
      need.merge(r.backend(), bytes, Long::sum);
    }
    need.forEach((backend, bytes) -> pool.requireRoom(backend, bytes, "the group's snapshots"
        + " need " + bytes));
  }

  /**
   * The group's snapshots when every member exists already with the same source (a retried
   * call); null when none exists. A group that exists only in part, or a member id that names a
   * snapshot of another LUN, is ALREADY_EXISTS.
   */
  private List<SnapshotRecord> existing(List<Resolved> resolved) {
    List<SnapshotRecord> found = new ArrayList<>();
    for (Resolved r : resolved) {
      SnapshotRecord s = state.snapshot(r.member().id());
      if (s == null) {
        continue;
      }
      if (!s.sourceTarget().equals(r.target()) || s.sourceLun() != r.lun().lun()) {
        throw new RegistryException(Reason.ALREADY_EXISTS, "snapshot " + s.id()
            + " already exists for another LUN");
      }
      found.add(s);
    }
    if (found.isEmpty()) {
      return null;
    }
    if (found.size() < resolved.size()) {
      throw new RegistryException(Reason.ALREADY_EXISTS, "snapshots " + found.stream()
          .map(SnapshotRecord::id).toList() + " exist already, the other members do not");
    }
    return found;
  }

  private List<SnapshotRecord> copyAndCommit(List<Resolved> members) {
    List<Resolved> order = members.stream()
        .sorted(Comparator.comparing(Resolved::target).thenComparingInt(r -> r.lun().lun()))
        .toList();
    List<LogicalUnit.Quiesce> holds = new ArrayList<>();
    List<Resolved> written = new ArrayList<>();
    List<SnapshotRecord> records = new ArrayList<>();
    try {
      for (Resolved r : order) {
        holds.add(r.unit().quiesce());
      }
      // Every member's writes are held now: this is the group's instant.
      long created = System.currentTimeMillis() * 1_000_000L;
      for (Resolved r : members) {
        Path file = r.backend().snapshotPath(r.member().id());
        if (Files.exists(file)) {
          r.backend().delete(file); // an orphan of a crash between copy and state write
        }
        long size = r.backend().snapshotHeld(r.unit(), Path.of(r.lun().file()), file);
        written.add(r);
        records.add(new SnapshotRecord(r.member().id(), r.target(), r.lun().lun(), size,
            r.lun().blockSize(), created, file.toString(), r.labels()));
      }
    } catch (IOException | RuntimeException e) {
      deleteSnapshots(written);
      throw new RegistryException(Reason.INTERNAL, "snapshot group of " + members.size()
          + " LUNs failed: " + e.getMessage(), e);
    } finally {
      holds.reversed().forEach(LogicalUnit.Quiesce::close);
    }
    synchronized (state.lock) {
      try {
        state.commitSnapshots(records);
      } catch (RuntimeException e) {
        deleteSnapshots(written);
        throw e;
      }
    }
    log.info("snapshot group {} taken", records.stream().map(SnapshotRecord::id).toList());
    return records;
  }

  /** Removes the snapshots taken of {@code members} so far (a group is all or nothing). */
  private static void deleteSnapshots(List<Resolved> members) {
    for (Resolved r : members) {
      Path file = r.backend().snapshotPath(r.member().id());
      if (Files.exists(file)) {
        r.backend().delete(file);
      }
    }
  }
}
