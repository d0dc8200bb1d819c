package org.iscsicsi.target.registry;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.qos.QosLimits;
import org.iscsicsi.target.registry.RegistryException.Reason;
import org.iscsicsi.target.scsi.AccessState;
import org.iscsicsi.target.scsi.AluaGroups;
import org.iscsicsi.target.state.LunRecord;
import org.iscsicsi.target.state.SnapshotRecord;
import org.iscsicsi.target.state.TargetRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * LUNs from creation (empty, restored from a snapshot, cloned from another LUN) through resizing
 * to deletion, for {@link TargetRegistry}, whose Javadoc states the ordering of file and state
 * changes kept here. A copy runs outside the lock, registered with the {@link CopyTracker}.
 */
final class LunLifecycle {

  private static final Logger log = LoggerFactory.getLogger(LunLifecycle.class);

  private final RegistryState state;
  private final PoolAccounting pool;
  private final LunFiles files;
  private final Backends backends;

  LunLifecycle(RegistryState state, PoolAccounting pool, LunFiles files, Backends backends) {
    this.state = state;
    this.pool = pool;
    this.files = files;
    this.backends = backends;
  }

  /** A new LUN's initial content; {@code busy} names the source a copy reads, if any. */
  private record SourceInfo(Path file, long sizeBytes, int blockSize, LogicalUnit unit,
      String busy) {
  }

  private record PendingLun(String key, String target, LunRecord rec, SourceInfo src,
      LunRecord existing, Backend backend) {
  }

  /** See {@link TargetRegistry#createLun}. */
  LunRecord create(LunSpec spec) {
    Validation.lun(spec.lun());
    Validation.portSlot(spec.portSlot());
    PendingLun p;
    while (true) {
      CompletableFuture<Void> running;
      synchronized (state.lock) {
        TargetRecord t = state.require(spec.target());
        String key = CopyTracker.lun(t.name(), spec.lun());
        running = state.copies.running(key);
        if (running == null) {
          p = prepare(t, spec, key);
          if (p.existing() != null) {
            return p.existing();
          }
          break;
        }
      }
      CopyTracker.awaitEnd(running);
    }
    try {
      LogicalUnit unit = files.materialize(p.backend(), p.rec(), p.src().file(),
          p.src().unit());
      unit.throttle().setLimits(p.rec().qosLimits()); // before an initiator can see it
      synchronized (state.lock) {
        TargetRecord t = state.target(p.target());
        try {
          state.commitTarget(t.withLun(p.rec()));
        } catch (RuntimeException e) {
          OpenUnits.closeQuietly(unit);
          p.backend().delete(Path.of(p.rec().file()));
          throw e;
        }
        state.units.attach(t.name(), p.rec().lun(), unit, p.rec().alua());
        state.publish();
      }
      LunRecord rec = p.rec();
      log.info("created LUN {} of {}: {} bytes, {}-byte blocks, {}, serial {}, backend {}",
          rec.lun(), p.target(), rec.sizeBytes(), rec.blockSize(), rec.thin() ? "thin" : "thick",
          rec.serial(), p.backend().name());
      return rec;
    } finally {
      synchronized (state.lock) {
        state.copies.end(p.key(), p.src().busy(), p.rec());
      }
    }
  }

  /** Validates a CreateLun under the lock and reserves the LUN, its identity and its source. */
  private PendingLun prepare(TargetRecord t, LunSpec spec, String key) {
    SourceInfo src = source(spec);
    int bs = spec.blockSize() == 0 ? src.blockSize() : Validation.blockSize(spec.blockSize());
    Validation.size(spec.sizeBytes(), bs);
    if (src.file() != null) {
      if (bs != src.blockSize()) {
        throw RegistryException.invalid("block size " + bs + " differs from the source's "
            + src.blockSize());
      }
      if (spec.sizeBytes() < src.sizeBytes()) {
        throw RegistryException.invalid("size " + spec.sizeBytes() + " is smaller than the "
            + "source's " + src.sizeBytes());
      }
    }
    Optional<LunRecord> existing = t.lun(spec.lun());
    if (existing.isPresent()) {
      LunRecord e = existing.get();
      if (e.sizeBytes() == spec.sizeBytes() && e.blockSize() == bs
          && e.thin() == !spec.thick() && e.readOnly() == spec.readOnly()
          && e.portSlot() == spec.portSlot()) {
        return new PendingLun(key, t.name(), null, src, e, backends.of(Path.of(e.file())));
      }
      throw new RegistryException(Reason.ALREADY_EXISTS, "LUN " + spec.lun() + " of "
          + t.name() + " already exists with a different definition");
    }
    Backend backend = backends.named(spec.backend());
    backend.requireSupported(!spec.thick());
    long need = spec.thick() ? spec.sizeBytes()
        : src.unit() != null ? PoolAccounting.allocated(src.unit())
        : src.file() != null ? PoolAccounting.allocated(src.file()) : 0;
    pool.requireRoom(backend, need, "LUN " + spec.lun() + " needs " + need);
    LunIdentity.Identity id = spec.identity() == null
        ? LunIdentity.next(state.serials(), state.naas())
        : LunIdentity.requireUnused(spec.identity(), state.serials(), state.naas());
    Path where = backend.lunPath(id.naa());
    if (state.knownFiles().contains(where)) {
      throw new RegistryException(Reason.RESOURCE_EXHAUSTED, "backend " + backend.name()
          + " holds one LUN, and " + where + " is in use");
    }
    LunRecord rec = new LunRecord(spec.lun(), where.toString(),
        spec.sizeBytes(), bs, !spec.thick(), spec.readOnly(), id.serial(), id.naa(), spec.qos(),
        spec.portSlot() == 0 ? null : AluaGroups.single(spec.portSlot()));
    state.copies.start(key, src.busy());
    state.copies.reserve(id);
    return new PendingLun(key, t.name(), rec, src, null, backend);
  }

  private SourceInfo source(LunSpec spec) {
    return switch (spec.source()) {
      case null -> new SourceInfo(null, 0, 512, null, null);
      case LunSpec.Empty e -> new SourceInfo(null, 0, 512, null, null);
      case LunSpec.FromSnapshot s -> {
        SnapshotRecord snap = state.snapshot(s.snapshotId());
        if (snap == null) {
          throw RegistryException.notFound("snapshot " + s.snapshotId() + " does not exist");
        }
        yield new SourceInfo(Path.of(snap.file()), snap.sizeBytes(), snap.blockSize(), null,
            CopyTracker.snapshotFile(snap.id()));
      }
      case LunSpec.CloneOf c -> {
        TargetRecord st = state.require(c.target());
        LunRecord sl = RegistryState.requireLun(st, c.lun());
        yield new SourceInfo(Path.of(sl.file()), sl.sizeBytes(), sl.blockSize(),
            state.units.require(st.name(), sl), CopyTracker.lun(st.name(), sl.lun()));
      }
    };
  }

  LunRecord resize(String target, int lun, long sizeBytes) {
    synchronized (state.lock) {
      TargetRecord t = state.require(target);
      LunRecord l = RegistryState.requireLun(t, lun);
      Validation.size(sizeBytes, l.blockSize());
      if (sizeBytes < l.sizeBytes()) {
        throw RegistryException.invalid("LUN " + lun + " of " + t.name() + " cannot shrink from "
            + l.sizeBytes() + " to " + sizeBytes + " bytes");
      }
      if (sizeBytes == l.sizeBytes()) {
        return l;
      }
      state.copies.requireIdle(CopyTracker.lun(t.name(), lun), "LUN " + lun + " of " + t.name());
      if (l.readOnly()) {
        throw new RegistryException(Reason.FAILED_PRECONDITION, "LUN " + lun + " of " + t.name()
            + " is read-only and cannot be resized");
      }
      LogicalUnit unit = state.units.require(t.name(), l);
      long growth = sizeBytes - l.sizeBytes();
      Backend backend = backends.of(Path.of(l.file()));
      // a thin LUN takes space only as it is written
      pool.requireRoom(backend, l.thin() ? 0 : growth, "growing LUN " + lun + " by " + growth
          + " needs more");
      try {
        backend.grow(l, sizeBytes);
        unit.resize(sizeBytes);
      } catch (IOException e) {
        throw new RegistryException(Reason.INTERNAL, "resizing LUN " + lun + " of " + t.name()
            + " failed: " + e.getMessage(), e);
      }
      LunRecord next = l.withSize(sizeBytes);
      state.commitTarget(t.withLun(next));
      state.publish();
      log.info("resized LUN {} of {} to {} bytes", lun, t.name(), sizeBytes);
      return next;
    }
  }

  /**
   * Replaces a LUN's I/O limits: saved first, then applied to the open unit, where they hold
   * from the next command on (commands already held back are admitted again under them).
   */
  LunRecord setQos(String target, int lun, QosLimits limits) {
    synchronized (state.lock) {
      TargetRecord t = state.require(target);
      LunRecord l = RegistryState.requireLun(t, lun);
      if (l.qosLimits().equals(limits)) {
        return l;
      }
      LunRecord next = l.withQos(limits);
      state.commitTarget(t.withLun(next));
      LogicalUnit unit = state.units.unit(t.name(), lun);
      if (unit != null) {
        unit.throttle().setLimits(limits);
      }
      state.publish();
      log.info("LUN {} of {}: I/O limits {}", lun, t.name(), limits);
      return next;
    }
  }

  /**
   * Replaces the access states of a LUN's port groups: saved first, then applied to the attached
   * LUN, whose initiators get ASYMMETRIC ACCESS STATE CHANGED when a state changed. Idempotent.
   */
  LunRecord setAlua(String target, int lun, Map<Integer, AccessState> states) {
    synchronized (state.lock) {
      TargetRecord t = state.require(target);
      LunRecord l = RegistryState.requireLun(t, lun);
      if (l.alua() == null) {
        throw new RegistryException(Reason.FAILED_PRECONDITION, "LUN " + lun + " of " + t.name()
            + " has no ALUA port slot (create it with a port slot)");
      }
      AluaGroups groups;
      try {
        groups = l.alua().withStates(states);
      } catch (IllegalArgumentException e) {
        throw RegistryException.invalid("LUN " + lun + " of " + t.name() + ": " + e.getMessage());
      }
      if (groups.equals(l.alua())) {
        return l;
      }
      LunRecord next = l.withAlua(groups);
      state.commitTarget(t.withLun(next));
      if (state.units.unit(t.name(), lun) != null) {
        state.units.port(t.name()).setAlua(lun, groups);
      }
      state.publish();
      log.info("LUN {} of {}: ALUA states {}", lun, t.name(), groups.states());
      return next;
    }
  }

  void delete(String target, int lun) {
    synchronized (state.lock) {
      TargetRecord t = state.require(target);
      LunRecord l = RegistryState.requireLun(t, lun);
      state.copies.requireIdle(CopyTracker.lun(t.name(), lun), "LUN " + lun + " of " + t.name());
      state.commitTarget(t.withoutLun(lun));
      state.units.remove(t.name(), lun);
      backends.of(Path.of(l.file())).delete(Path.of(l.file()));
      state.publish();
      log.info("deleted LUN {} of {}", lun, t.name());
    }
  }

  LunStatus status(String target, int lun) {
    synchronized (state.lock) {
      TargetRecord t = state.require(target);
      return state.units.status(t.name(), RegistryState.requireLun(t, lun));
    }
  }

  List<LunStatus> statuses(String target) {
    synchronized (state.lock) {
      TargetRecord t = state.require(target);
      return t.luns().stream().map(l -> state.units.status(t.name(), l)).toList();
    }
  }
}
