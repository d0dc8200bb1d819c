package org.iscsicsi.target.registry;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.names.IscsiNames;
import org.iscsicsi.target.registry.RegistryException.Reason;
import org.iscsicsi.target.state.LunRecord;
import org.iscsicsi.target.state.SnapshotRecord;
import org.iscsicsi.target.state.TargetRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Snapshots of LUNs: taken as a sparse copy of the LUN's file while its writes are held (outside
 * the registry lock, registered with the {@link CopyTracker}), listed, and deleted unless a restore
 * reads them. The snapshot's file exists before the state names it and goes after it forgets it.
 */
final class SnapshotLifecycle {

  private static final Logger log = LoggerFactory.getLogger(SnapshotLifecycle.class);

  private final RegistryState state;
  private final PoolAccounting pool;
  private final Backends backends;

  SnapshotLifecycle(RegistryState state, PoolAccounting pool, Backends backends) {
    this.state = state;
    this.pool = pool;
    this.backends = backends;
  }

  /** See {@link TargetRegistry#createSnapshot}. */
  SnapshotRecord create(String id, String target, int lun, Map<String, String> labels) {
    Validation.snapshotId(id);
    Map<String, String> l = Validation.labels(labels);
    String key = CopyTracker.snapshot(id);
    String busyKey;
    LogicalUnit unit;
    LunRecord src;
    Backend backend;
    String targetName;
    while (true) {
      CompletableFuture<Void> running;
      synchronized (state.lock) {
        TargetRecord t = state.require(target);
        src = RegistryState.requireLun(t, lun);
        running = state.copies.running(key);
        if (running == null) {
          SnapshotRecord existing = state.snapshot(id);
          if (existing != null) {
            if (existing.sourceTarget().equals(t.name()) && existing.sourceLun() == lun) {
              return existing;
            }
            throw new RegistryException(Reason.ALREADY_EXISTS, "snapshot " + id
                + " already exists for another LUN");
          }
          unit = state.units.require(t.name(), src);
          backend = backends.of(Path.of(src.file()));
          backend.requireSnapshots();
          // a thin volume's snapshot shares its blocks; a copy needs the LUN's
          long need = backend instanceof LvmBackend lv && lv.thin() ? 0
              : PoolAccounting.allocated(unit);
          pool.requireRoom(backend, need, "the snapshot needs " + need);
          targetName = t.name();
          busyKey = CopyTracker.lun(t.name(), lun);
          state.copies.start(key, busyKey);
          break;
        }
      }
      CopyTracker.awaitEnd(running);
    }
    try {
      Path file = backend.snapshotPath(id);
      if (Files.exists(file)) {
        backend.delete(file); // an orphan of a crash between copy and state write
      }
      long size;
      try {
        size = backend.snapshot(unit, Path.of(src.file()), file);
      } catch (IOException e) {
        if (Files.exists(file)) {
          backend.delete(file);
        }
        throw new RegistryException(Reason.INTERNAL, "snapshot of LUN " + lun + " of "
            + targetName + " failed: " + e.getMessage(), e);
      }
      SnapshotRecord rec = new SnapshotRecord(id, targetName, lun, size, src.blockSize(),
          System.currentTimeMillis() * 1_000_000L, file.toString(), l);
      synchronized (state.lock) {
        try {
          state.commitSnapshot(rec);
        } catch (RuntimeException e) {
          backend.delete(file);
          throw e;
        }
      }
      log.info("snapshot {} of LUN {} of {} taken", id, lun, targetName);
      return rec;
    } finally {
      synchronized (state.lock) {
        state.copies.end(key, busyKey, null);
      }
    }
  }

  void delete(String id) {
    synchronized (state.lock) {
      SnapshotRecord s = state.snapshot(id);
      if (s == null) {
        throw RegistryException.notFound("snapshot " + id + " does not exist");
      }
      state.copies.requireIdle(CopyTracker.snapshotFile(id), "snapshot " + id);
      state.commitSnapshotRemoval(id);
      backends.of(Path.of(s.file())).delete(Path.of(s.file()));
      log.info("deleted snapshot {}", id);
    }
  }

  /** See {@link TargetRegistry#listSnapshots}. */
  List<SnapshotRecord> list(String id, String sourceTarget, int sourceLun) {
    String st = sourceTarget == null || sourceTarget.isEmpty() ? null
        : IscsiNames.normalize(sourceTarget);
    synchronized (state.lock) {
      return state.snapshots().stream()
          .filter(s -> id == null || id.isEmpty() || s.id().equals(id))
          .filter(s -> st == null || (s.sourceTarget().equals(st) && s.sourceLun() == sourceLun))
          .toList();
    }
  }
}
