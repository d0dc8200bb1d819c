package org.iscsicsi.target.registry;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import org.iscsicsi.target.acl.ChapPolicy;
import org.iscsicsi.target.acl.ChapSecret;
import org.iscsicsi.target.acl.InitiatorGrant;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.lun.LunCounters;
import org.iscsicsi.target.names.IscsiNames;
import org.iscsicsi.target.registry.RegistryException.Reason;
import org.iscsicsi.target.scsi.TargetScsiPort;
import org.iscsicsi.target.session.SessionInfo;
import org.iscsicsi.target.session.SessionRegistry;
import org.iscsicsi.target.state.EngineState;
import org.iscsicsi.target.state.LunRecord;
import org.iscsicsi.target.state.SnapshotRecord;
import org.iscsicsi.target.state.StateStore;
import org.iscsicsi.target.state.TargetRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine's targets, LUNs, grants, CHAP settings and snapshots: every change validated, written
 * to the {@link StateStore} before it takes effect, and published as an immutable map that the
 * iSCSI event loops read without locking.
 *
 * <p>Mutations are serialized by one lock (they are rare and mostly I/O-bound). Order of effects:
 * a new LUN's file is created before the state names it; a deleted LUN's file is removed after the
 * state forgets it. So a crash never leaves state pointing at a file that was never complete,
 * only (at worst) an orphan file. Configuration changes never write to LUN data.
 */
public final class TargetRegistry implements TargetDirectory, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(TargetRegistry.class);
  private static final int DEFAULT_PORTAL_GROUP_TAG = 1;

  private record LunKey(String target, int lun) {
  }

  private final StateStore store;
  private final Path lunDir;
  private final Path snapshotDir;
  private final Duration copyTimeout;
  private final SessionControl sessionControl = new SessionControl();

  private final Object lock = new Object();
  // Guarded by lock.
  private final TreeMap<String, TargetRecord> targets = new TreeMap<>();
  private final TreeMap<String, SnapshotRecord> snapshots = new TreeMap<>();
  private final Map<String, TargetScsiPort> ports = new HashMap<>();
  private final Map<LunKey, LogicalUnit> units = new HashMap<>();
  private final Map<LunKey, String> openFailures = new HashMap<>();
  // Copies running outside the lock: "lun:<target>/<n>" (a LUN being created) and
  // "snap:<id>" (a snapshot being taken), completed when they end.
  private final Map<String, CompletableFuture<Void>> inFlight = new HashMap<>();
  // Sources a copy reads ("lun:<target>/<n>", "snapfile:<id>"), with the number of readers.
  private final Map<String, Integer> busy = new HashMap<>();
  // Serials and NAAs of LUNs being created, so that no two copies pick the same.
  private final Set<String> pendingIdentities = new HashSet<>();

  // Published after every change; read lock-free.
  private volatile Map<String, ExportedTarget> live = Map.of();
  private volatile List<ExportedTarget> liveList = List.of();

  private TargetRegistry(StateStore store, Path lunDir, Path snapshotDir, Duration copyTimeout) {
    this.store = store;
    this.lunDir = lunDir.toAbsolutePath().normalize();
    this.snapshotDir = snapshotDir.toAbsolutePath().normalize();
    this.copyTimeout = copyTimeout;
  }

  /**
   * Loads the state and opens every LUN. A LUN whose file cannot be opened stays defined, with a
   * condition saying why, so that nothing is forgotten because a disk was missing at start.
   */
  public static TargetRegistry open(StateStore store, Path lunDir, Path snapshotDir,
      Duration copyTimeout) throws IOException {
    Files.createDirectories(lunDir);
    Files.createDirectories(snapshotDir);
    TargetRegistry r = new TargetRegistry(store, lunDir, snapshotDir, copyTimeout);
    EngineState state = store.load();
    synchronized (r.lock) {
      for (SnapshotRecord s : state.snapshots()) {
        r.snapshots.put(s.id(), s);
      }
      for (TargetRecord t : state.targets()) {
        r.targets.put(t.name(), t);
        TargetScsiPort port = new TargetScsiPort(t.name());
        r.ports.put(t.name(), port);
        for (LunRecord l : t.luns()) {
          LunKey key = new LunKey(t.name(), l.lun());
          try {
            LogicalUnit unit = LogicalUnit.open(l.toConfig());
            port.attach(l.lun(), unit);
            r.units.put(key, unit);
          } catch (IOException | RuntimeException e) {
            log.warn("LUN {} of {} cannot be opened: {}", l.lun(), t.name(), e.toString());
            r.openFailures.put(key, "cannot open " + l.file() + ": " + e.getMessage());
          }
        }
      }
      r.publish();
      r.warnAboutOrphans();
    }
    log.info("restored {} target(s), {} snapshot(s) from {}", state.targets().size(),
        state.snapshots().size(), store.stateFile());
    return r;
  }

  /** Lets the registry see and close sessions (the transport starts after the registry). */
  public void sessions(Supplier<SessionRegistry> supplier) {
    sessionControl.source(supplier);
  }

  // ---- TargetDirectory (event loops) ----

  @Override
  public Optional<ExportedTarget> target(String name) {
    Map<String, ExportedTarget> m = live;
    ExportedTarget t = m.get(name);
    if (t == null && name != null) {
      t = m.get(IscsiNames.normalize(name));
    }
    return Optional.ofNullable(t);
  }

  @Override
  public List<ExportedTarget> targets() {
    return liveList;
  }

  // ---- targets ----

  public TargetRecord createTarget(String name, String alias, Map<String, String> labels,
      Map<String, String> parameters) {
    String n = Validation.targetName(name);
    String a = Validation.alias(alias);
    Map<String, String> l = Validation.labels(labels);
    Map<String, String> p = LoginParameters.validate(parameters);
    synchronized (lock) {
      TargetRecord existing = targets.get(n);
      if (existing != null) {
        if (existing.alias().equals(a) && existing.labels().equals(new TreeMap<>(l))
            && existing.parameters().equals(new TreeMap<>(p))) {
          return existing;
        }
        throw new RegistryException(Reason.ALREADY_EXISTS, "target " + n
            + " already exists with a different alias, labels or parameters");
      }
      TargetRecord t = new TargetRecord(n, a, DEFAULT_PORTAL_GROUP_TAG, l, p, List.of(), null,
          null, List.of());
      commitTarget(t);
      ports.put(n, new TargetScsiPort(n));
      publish();
      log.info("created target {}", n);
      return t;
    }
  }

  public TargetRecord getTarget(String name) {
    synchronized (lock) {
      return require(name);
    }
  }

  /** Targets whose labels include every entry of {@code selector}. */
  public List<TargetRecord> listTargets(Map<String, String> selector) {
    synchronized (lock) {
      return targets.values().stream()
          .filter(t -> t.labels().entrySet().containsAll(selector.entrySet()))
          .toList();
    }
  }

  public void deleteTarget(String name, boolean force) {
    synchronized (lock) {
      TargetRecord t = require(name);
      String prefix = "lun:" + t.name() + "/";
      if (busy.keySet().stream().anyMatch(k -> k.startsWith(prefix))
          || inFlight.keySet().stream().anyMatch(k -> k.startsWith(prefix))) {
        throw new RegistryException(Reason.FAILED_PRECONDITION, "a LUN of target " + t.name()
            + " is being copied (snapshot, clone or restore in progress); try again later");
      }
      int logged = sessionsOf(t.name(), null).size();
      if (logged > 0 && !force) {
        throw new RegistryException(Reason.FAILED_PRECONDITION, "target " + t.name() + " has "
            + logged + " session(s) logged in; close them or use force");
      }
      TreeMap<String, TargetRecord> next = new TreeMap<>(targets);
      next.remove(t.name());
      save(next, snapshots);
      targets.remove(t.name());
      publish();
      // Unpublished first so that no new login finds it; then drop whoever is still in.
      closeSessions(t.name(), null);
      TargetScsiPort port = ports.remove(t.name());
      for (LunRecord l : t.luns()) {
        LunKey key = new LunKey(t.name(), l.lun());
        openFailures.remove(key);
        LogicalUnit unit = units.remove(key);
        if (unit != null) {
          port.detach(l.lun());
          closeQuietly(unit);
        }
        deleteFile(Path.of(l.file()));
      }
      log.info("deleted target {} and its {} LUN(s)", t.name(), t.luns().size());
    }
  }

  public TargetRecord setLabels(String name, Map<String, String> labels) {
    Map<String, String> l = Validation.labels(labels);
    synchronized (lock) {
      TargetRecord t = require(name).withLabels(l);
      commitTarget(t);
      publish();
      return t;
    }
  }

  // ---- ACL and CHAP ----

  public TargetRecord grant(String target, String initiator, boolean readOnly) {
    InitiatorGrant g;
    try {
      g = InitiatorGrant.of(initiator, readOnly);
    } catch (IllegalArgumentException e) {
      throw RegistryException.invalid(e.getMessage());
    }
    synchronized (lock) {
      TargetRecord t = require(target);
      List<InitiatorGrant> grants = new ArrayList<>(t.grants());
      grants.removeIf(x -> x.initiator().equals(g.initiator()));
      grants.add(g);
      TargetRecord next = t.withGrants(grants);
      commitTarget(next);
      publish();
      enforceAcl(t.name());
      log.info("granted {} {} access to {}", g.initiator(), g.level(), t.name());
      return next;
    }
  }

  /** Removes a grant (idempotent) and closes the sessions of initiators left without access. */
  public TargetRecord revoke(String target, String initiator) {
    String who;
    try {
      who = InitiatorGrant.normalizeInitiator(initiator);
    } catch (IllegalArgumentException e) {
      throw RegistryException.invalid(e.getMessage());
    }
    synchronized (lock) {
      TargetRecord t = require(target);
      List<InitiatorGrant> grants = new ArrayList<>(t.grants());
      if (!grants.removeIf(x -> x.initiator().equals(who))) {
        return t;
      }
      TargetRecord next = t.withGrants(grants);
      commitTarget(next);
      publish();
      enforceAcl(t.name());
      log.info("revoked {} from {}", who, t.name());
      return next;
    }
  }

  /**
   * Sets incoming CHAP (and mutual CHAP when {@code mutualUser} is not empty), or clears both when
   * {@code user} is empty. Secrets are validated by {@link ChapPolicy}.
   */
  public TargetRecord setChap(String target, String user, byte[] password, String mutualUser,
      byte[] mutualPassword) {
    ChapSecret in = null;
    ChapSecret out = null;
    try {
      boolean mutual = mutualUser != null && !mutualUser.isEmpty();
      if (user == null || user.isEmpty()) {
        if (mutual || (password != null && password.length > 0)) {
          throw new IllegalArgumentException("CHAP user name is empty but a password or mutual "
              + "user was given (mutual CHAP needs incoming CHAP)");
        }
      } else {
        in = ChapPolicy.secret("initiator", user, password);
        if (mutual) {
          out = ChapPolicy.secret("mutual", mutualUser, mutualPassword);
          ChapPolicy.checkDistinct(in, out);
        } else if (mutualPassword != null && mutualPassword.length > 0) {
          throw new IllegalArgumentException("mutual CHAP password given without a mutual user");
        }
      }
    } catch (IllegalArgumentException e) {
      throw RegistryException.invalid(e.getMessage());
    }
    synchronized (lock) {
      TargetRecord next = require(target).withChap(in, out);
      commitTarget(next);
      publish();
      log.info("CHAP of {}: {}", next.name(), in == null ? "cleared"
          : out == null ? "incoming" : "incoming and mutual");
      return next;
    }
  }

  // ---- LUNs ----

  /**
   * Creates a LUN: its file (empty, or a copy of a snapshot or another LUN) is made outside the
   * registry lock, so a long copy holds up neither other admin calls nor logins. A repeated call
   * for the same LUN while the first is still copying waits for it and then answers as an
   * idempotent repeat.
   */
  public LunRecord createLun(LunSpec spec) {
    Validation.lun(spec.lun());
    PendingLun p;
    while (true) {
      CompletableFuture<Void> running;
      synchronized (lock) {
        TargetRecord t = require(spec.target());
        String key = "lun:" + t.name() + "/" + spec.lun();
        running = inFlight.get(key);
        if (running == null) {
          p = prepareLun(t, spec, key);
          if (p.existing() != null) {
            return p.existing();
          }
          break;
        }
      }
      awaitQuietly(running);
    }
    try {
      LogicalUnit unit = materialize(p.rec(), p.src());
      synchronized (lock) {
        TargetRecord t = targets.get(p.target());
        try {
          commitTarget(t.withLun(p.rec()));
        } catch (RuntimeException e) {
          closeQuietly(unit);
          deleteFile(Path.of(p.rec().file()));
          throw e;
        }
        units.put(new LunKey(t.name(), p.rec().lun()), unit);
        ports.get(t.name()).attach(p.rec().lun(), unit);
        publish();
      }
      LunRecord rec = p.rec();
      log.info("created LUN {} of {}: {} bytes, {}-byte blocks, {}, serial {}", rec.lun(),
          p.target(), rec.sizeBytes(), rec.blockSize(), rec.thin() ? "thin" : "thick",
          rec.serial());
      return rec;
    } finally {
      release(p.key(), p.src().busy(), p.rec());
    }
  }

  private record PendingLun(String key, String target, LunRecord rec, SourceInfo src,
      LunRecord existing) {
  }

  /** Validates a CreateLun under the lock and reserves the LUN, its identity and its source. */
  private PendingLun prepareLun(TargetRecord t, LunSpec spec, String key) {
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
          && e.thin() == !spec.thick() && e.readOnly() == spec.readOnly()) {
        return new PendingLun(key, t.name(), null, src, e);
      }
      throw new RegistryException(Reason.ALREADY_EXISTS, "LUN " + spec.lun() + " of "
          + t.name() + " already exists with a different definition");
    }
    checkRoom(spec, src);
    LunIdentity.Identity id = LunIdentity.next(allSerials(), allNaas());
    Path file = lunDir.resolve(id.naa() + ".img");
    LunRecord rec = new LunRecord(spec.lun(), file.toString(), spec.sizeBytes(), bs,
        !spec.thick(), spec.readOnly(), id.serial(), id.naa());
    inFlight.put(key, new CompletableFuture<>());
    pendingIdentities.add(id.serial());
    pendingIdentities.add(id.naa());
    if (src.busy() != null) {
      busy.merge(src.busy(), 1, Integer::sum);
    }
    return new PendingLun(key, t.name(), rec, src, null);
  }

  /** Ends a copy: frees its key, its source and the identity it reserved. */
  private void release(String key, String busyKey, LunRecord rec) {
    synchronized (lock) {
      CompletableFuture<Void> f = inFlight.remove(key);
      if (busyKey != null) {
        busy.computeIfPresent(busyKey, (k, n) -> n > 1 ? n - 1 : null);
      }
      if (rec != null) {
        pendingIdentities.remove(rec.serial());
        pendingIdentities.remove(rec.naa());
      }
      if (f != null) {
        f.complete(null);
      }
    }
  }

  private static void awaitQuietly(CompletableFuture<Void> f) {
    try {
      f.join();
    } catch (RuntimeException e) {
      // the other call reports its own failure; this one re-examines the state
    }
  }

  /** Refuses to change what a running copy reads from or writes to. */
  private void checkNotBusy(String busyKey, String what) {
    if (busy.containsKey(busyKey) || inFlight.containsKey(busyKey)) {
      throw new RegistryException(Reason.FAILED_PRECONDITION, what
          + " is being copied (snapshot, clone or restore in progress); try again later");
    }
  }

  public LunRecord resizeLun(String target, int lun, long sizeBytes) {
    synchronized (lock) {
      TargetRecord t = require(target);
      LunRecord l = requireLun(t, lun);
      Validation.size(sizeBytes, l.blockSize());
      if (sizeBytes < l.sizeBytes()) {
        throw RegistryException.invalid("LUN " + lun + " of " + t.name() + " cannot shrink from "
            + l.sizeBytes() + " to " + sizeBytes + " bytes");
      }
      if (sizeBytes == l.sizeBytes()) {
        return l;
      }
      checkNotBusy("lun:" + t.name() + "/" + lun, "LUN " + lun + " of " + t.name());
      if (l.readOnly()) {
        throw new RegistryException(Reason.FAILED_PRECONDITION, "LUN " + lun + " of " + t.name()
            + " is read-only and cannot be resized");
      }
      LogicalUnit unit = requireUnit(t.name(), l);
      long usable = usableBytes();
      if (!l.thin() && sizeBytes - l.sizeBytes() > usable) {
        throw new RegistryException(Reason.RESOURCE_EXHAUSTED, "the pool has " + usable
            + " bytes free, growing LUN " + lun + " by " + (sizeBytes - l.sizeBytes())
            + " needs more");
      }
      try {
        unit.resize(sizeBytes);
      } catch (IOException e) {
        throw new RegistryException(Reason.INTERNAL, "resizing LUN " + lun + " of " + t.name()
            + " failed: " + e.getMessage(), e);
      }
      LunRecord next = l.withSize(sizeBytes);
      commitTarget(t.withLun(next));
      publish();
      log.info("resized LUN {} of {} to {} bytes", lun, t.name(), sizeBytes);
      return next;
    }
  }

  public void deleteLun(String target, int lun) {
    synchronized (lock) {
      TargetRecord t = require(target);
      LunRecord l = requireLun(t, lun);
      checkNotBusy("lun:" + t.name() + "/" + lun, "LUN " + lun + " of " + t.name());
      commitTarget(t.withoutLun(lun));
      LunKey key = new LunKey(t.name(), lun);
      openFailures.remove(key);
      LogicalUnit unit = units.remove(key);
      if (unit != null) {
        ports.get(t.name()).detach(lun);
        closeQuietly(unit);
      }
      deleteFile(Path.of(l.file()));
      publish();
      log.info("deleted LUN {} of {}", lun, t.name());
    }
  }

  public LunStatus lunStatus(String target, int lun) {
    synchronized (lock) {
      TargetRecord t = require(target);
      return status(t.name(), requireLun(t, lun));
    }
  }

  /** The status of every LUN of a target, in LUN order. */
  public List<LunStatus> lunStatuses(String target) {
    synchronized (lock) {
      TargetRecord t = require(target);
      return t.luns().stream().map(l -> status(t.name(), l)).toList();
    }
  }

  // ---- snapshots ----

  /**
   * Copies a LUN while its writes are held (the copy runs outside the registry lock). Idempotent
   * by id and source; a repeat while the first copy runs waits for it.
   */
  public SnapshotRecord createSnapshot(String id, String target, int lun,
      Map<String, String> labels) {
    Validation.snapshotId(id);
    Map<String, String> l = Validation.labels(labels);
    String key = "snap:" + id;
    String busyKey;
    LogicalUnit unit;
    LunRecord src;
    String targetName;
    while (true) {
      CompletableFuture<Void> running;
      synchronized (lock) {
        TargetRecord t = require(target);
        src = requireLun(t, lun);
        running = inFlight.get(key);
        if (running == null) {
          SnapshotRecord existing = snapshots.get(id);
          if (existing != null) {
            if (existing.sourceTarget().equals(t.name()) && existing.sourceLun() == lun) {
              return existing;
            }
            throw new RegistryException(Reason.ALREADY_EXISTS, "snapshot " + id
                + " already exists for another LUN");
          }
          unit = requireUnit(t.name(), src);
          long need = allocated(unit);
          long usable = usableBytes();
          if (need > usable) {
            throw new RegistryException(Reason.RESOURCE_EXHAUSTED, "the pool has " + usable
                + " bytes free, the snapshot needs " + need);
          }
          targetName = t.name();
          busyKey = "lun:" + t.name() + "/" + lun;
          inFlight.put(key, new CompletableFuture<>());
          busy.merge(busyKey, 1, Integer::sum);
          break;
        }
      }
      awaitQuietly(running);
    }
    try {
      Path file = snapshotDir.resolve(id + ".img");
      deleteFile(file); // an orphan of a crash between copy and state write
      long size;
      try (LogicalUnit.Quiesce _ = unit.quiesce()) {
        size = unit.sizeBytes();
        SparseCopy.copy(Path.of(src.file()), file, copyTimeout);
      } catch (IOException e) {
        deleteFile(file);
        throw new RegistryException(Reason.INTERNAL, "snapshot of LUN " + lun + " of "
            + targetName + " failed: " + e.getMessage(), e);
      }
      SnapshotRecord rec = new SnapshotRecord(id, targetName, lun, size, src.blockSize(),
          System.currentTimeMillis() * 1_000_000L, file.toString(), l);
      synchronized (lock) {
        TreeMap<String, SnapshotRecord> next = new TreeMap<>(snapshots);
        next.put(id, rec);
        try {
          save(targets, next);
        } catch (RuntimeException e) {
          deleteFile(file);
          throw e;
        }
        snapshots.put(id, rec);
      }
      log.info("snapshot {} of LUN {} of {} taken", id, lun, targetName);
      return rec;
    } finally {
      release(key, busyKey, null);
    }
  }

  public void deleteSnapshot(String id) {
    synchronized (lock) {
      SnapshotRecord s = snapshots.get(id);
      if (s == null) {
        throw RegistryException.notFound("snapshot " + id + " does not exist");
      }
      checkNotBusy("snapfile:" + id, "snapshot " + id);
      TreeMap<String, SnapshotRecord> next = new TreeMap<>(snapshots);
      next.remove(id);
      save(targets, next);
      snapshots.remove(id);
      deleteFile(Path.of(s.file()));
      log.info("deleted snapshot {}", id);
    }
  }

  /** Snapshots matching the id (when not empty) and the source (when target is not empty). */
  public List<SnapshotRecord> listSnapshots(String id, String sourceTarget, int sourceLun) {
    String st = sourceTarget == null || sourceTarget.isEmpty() ? null
        : IscsiNames.normalize(sourceTarget);
    synchronized (lock) {
      return snapshots.values().stream()
          .filter(s -> id == null || id.isEmpty() || s.id().equals(id))
          .filter(s -> st == null || (s.sourceTarget().equals(st) && s.sourceLun() == sourceLun))
          .toList();
    }
  }

  public long snapshotAllocatedBytes(SnapshotRecord s) {
    return fileAllocated(Path.of(s.file()));
  }

  // ---- sessions and capacity ----

  public List<SessionInfo> sessions() {
    return sessionControl.list();
  }

  /** Sessions of a target and/or initiator (all when empty), names compared normalized. */
  public List<SessionInfo> sessionsOf(String target, String initiator) {
    return sessionControl.of(target, initiator);
  }

  /** Closes sessions of one target (all of them when {@code initiator} is empty). */
  public int closeSessions(String target, String initiator) {
    return sessionControl.close(target, initiator);
  }

  private void enforceAcl(String target) {
    ExportedTarget now = live.get(target);
    if (now != null) {
      sessionControl.enforce(now);
    }
  }

  public PoolStatus pool() {
    synchronized (lock) {
      long provisioned = 0;
      long allocated = 0;
      for (TargetRecord t : targets.values()) {
        for (LunRecord l : t.luns()) {
          provisioned += l.sizeBytes();
          LogicalUnit u = units.get(new LunKey(t.name(), l.lun()));
          allocated += u == null ? 0 : allocated(u);
        }
      }
      try {
        var fs = Files.getFileStore(lunDir);
        return new PoolStatus(fs.getUsableSpace(), fs.getTotalSpace(), provisioned, allocated);
      } catch (IOException e) {
        throw new RegistryException(Reason.INTERNAL, "cannot read the pool's filesystem: "
            + e.getMessage(), e);
      }
    }
  }

  public Path lunDir() {
    return lunDir;
  }

  public Path snapshotDir() {
    return snapshotDir;
  }

  @Override
  public void close() {
    synchronized (lock) {
      live = Map.of();
      liveList = List.of();
      for (var e : units.entrySet()) {
        TargetScsiPort port = ports.get(e.getKey().target());
        if (port != null) {
          try {
            port.detach(e.getKey().lun());
          } catch (RuntimeException ex) {
            log.warn("detaching LUN {} of {}: {}", e.getKey().lun(), e.getKey().target(),
                ex.toString());
          }
        }
        closeQuietly(e.getValue());
      }
      units.clear();
      ports.clear();
    }
  }

  // ---- internals ----

  /**
   * Files in the pool or snapshot directory that no LUN or snapshot names: left by a crash between
   * copying a file and recording it, or by another engine sharing the directory. Never deleted
   * automatically.
   */
  private void warnAboutOrphans() {
    Set<Path> known = new HashSet<>();
    targets.values().forEach(t -> t.luns().forEach(l -> known.add(Path.of(l.file()))));
    snapshots.values().forEach(sn -> known.add(Path.of(sn.file())));
    for (Path d : List.of(lunDir, snapshotDir)) {
      try (var files = Files.list(d)) {
        files.filter(f -> f.toString().endsWith(".img") && !known.contains(f))
            .forEach(f -> log.warn("{} belongs to no LUN or snapshot of this engine", f));
      } catch (IOException e) {
        log.warn("cannot list {}: {}", d, e.toString());
      }
    }
  }

  /** A new LUN's initial content; {@code busy} names the source a copy reads, if any. */
  private record SourceInfo(Path file, long sizeBytes, int blockSize, LogicalUnit unit,
      String busy) {
  }

  private SourceInfo source(LunSpec spec) {
    return switch (spec.source()) {
      case null -> new SourceInfo(null, 0, 512, null, null);
      case LunSpec.Empty e -> new SourceInfo(null, 0, 512, null, null);
      case LunSpec.FromSnapshot s -> {
        SnapshotRecord snap = snapshots.get(s.snapshotId());
        if (snap == null) {
          throw RegistryException.notFound("snapshot " + s.snapshotId() + " does not exist");
        }
        yield new SourceInfo(Path.of(snap.file()), snap.sizeBytes(), snap.blockSize(), null,
            "snapfile:" + snap.id());
      }
      case LunSpec.CloneOf c -> {
        TargetRecord st = require(c.target());
        LunRecord sl = requireLun(st, c.lun());
        yield new SourceInfo(Path.of(sl.file()), sl.sizeBytes(), sl.blockSize(),
            requireUnit(st.name(), sl), "lun:" + st.name() + "/" + sl.lun());
      }
    };
  }

  private void checkRoom(LunSpec spec, SourceInfo src) {
    long usable = usableBytes();
    long need = spec.thick() ? spec.sizeBytes()
        : src.unit() != null ? allocated(src.unit())
        : src.file() != null ? fileAllocated(src.file()) : 0;
    if (need > usable) {
      throw new RegistryException(Reason.RESOURCE_EXHAUSTED, "the pool has " + usable
          + " bytes free, LUN " + spec.lun() + " needs " + need);
    }
  }

  /** Creates the LUN's file (empty or copied) and opens it; runs outside the lock. */
  private LogicalUnit materialize(LunRecord rec, SourceInfo src) {
    Path file = Path.of(rec.file());
    try {
      if (src.file() == null) {
        return LogicalUnit.create(rec.toConfig());
      }
      if (src.unit() != null) {
        try (LogicalUnit.Quiesce _ = src.unit().quiesce()) {
          SparseCopy.copy(src.file(), file, copyTimeout);
        }
      } else {
        SparseCopy.copy(src.file(), file, copyTimeout);
      }
      // A copy: grow it (sparsely) to the requested size, then open it as it is.
      try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
        if (raf.length() < rec.sizeBytes()) {
          raf.setLength(rec.sizeBytes());
        }
        raf.getFD().sync();
      }
      return LogicalUnit.open(rec.toConfig());
    } catch (IOException | RuntimeException e) {
      deleteFile(file);
      throw new RegistryException(Reason.INTERNAL, "creating the file of LUN " + rec.lun()
          + " failed: " + e.getMessage(), e);
    }
  }

  private LunStatus status(String target, LunRecord l) {
    LunKey key = new LunKey(target, l.lun());
    LogicalUnit u = units.get(key);
    if (u == null) {
      return new LunStatus(target, l, 0, new LunCounters(0, 0, 0, 0),
          openFailures.getOrDefault(key, "not open"));
    }
    String condition;
    try {
      condition = u.condition().orElse("");
    } catch (RuntimeException e) {
      condition = "condition unknown: " + e.getMessage();
    }
    return new LunStatus(target, l, condition.isEmpty() ? allocated(u) : 0, u.counters(),
        condition);
  }

  private TargetRecord require(String name) {
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

  private static LunRecord requireLun(TargetRecord t, int lun) {
    Validation.lun(lun);
    return t.lun(lun).orElseThrow(() -> RegistryException.notFound("LUN " + lun + " of "
        + t.name() + " does not exist"));
  }

  private LogicalUnit requireUnit(String target, LunRecord l) {
    LunKey key = new LunKey(target, l.lun());
    LogicalUnit u = units.get(key);
    if (u == null) {
      throw new RegistryException(Reason.FAILED_PRECONDITION, "LUN " + l.lun() + " of " + target
          + " is unusable: " + openFailures.getOrDefault(key, "not open"));
    }
    return u;
  }

  /** Saves the state with {@code t} in place of its old version, then adopts it. */
  private void commitTarget(TargetRecord t) {
    TreeMap<String, TargetRecord> next = new TreeMap<>(targets);
    next.put(t.name(), t);
    save(next, snapshots);
    targets.put(t.name(), t);
  }

  private void save(Map<String, TargetRecord> ts, Map<String, SnapshotRecord> ss) {
    try {
      store.save(new EngineState(EngineState.FORMAT_VERSION, List.copyOf(ts.values()),
          List.copyOf(ss.values())));
    } catch (IOException e) {
      throw new RegistryException(Reason.INTERNAL, "cannot write the state file: "
          + e.getMessage(), e);
    }
  }

  private void publish() {
    Map<String, ExportedTarget> m = new HashMap<>();
    List<ExportedTarget> list = new ArrayList<>();
    for (TargetRecord t : targets.values()) {
      LiveTarget lt = new LiveTarget(t, ports.get(t.name()));
      m.put(t.name(), lt);
      list.add(lt);
    }
    live = Map.copyOf(m);
    liveList = List.copyOf(list);
  }

  private Set<String> allSerials() {
    Set<String> s = new HashSet<>(pendingIdentities);
    targets.values().forEach(t -> t.luns().forEach(l -> s.add(l.serial())));
    return s;
  }

  private Set<String> allNaas() {
    Set<String> s = new HashSet<>(pendingIdentities);
    targets.values().forEach(t -> t.luns().forEach(l -> s.add(l.naa())));
    return s;
  }

  private long usableBytes() {
    try {
      return Files.getFileStore(lunDir).getUsableSpace();
    } catch (IOException e) {
      throw new RegistryException(Reason.INTERNAL, "cannot read the pool's filesystem: "
          + e.getMessage(), e);
    }
  }

  private static long allocated(LogicalUnit u) {
    try {
      return u.allocatedBytes();
    } catch (IOException e) {
      log.warn("allocated bytes of {}: {}", u.config().file(), e.toString());
      return 0;
    }
  }

  private static long fileAllocated(Path file) {
    try {
      return FileBlocks.allocatedBytes(file);
    } catch (IOException e) {
      log.warn("allocated bytes of {}: {}", file, e.toString());
      return 0;
    }
  }

  private static void closeQuietly(LogicalUnit unit) {
    try {
      unit.close();
    } catch (IOException | RuntimeException e) {
      log.warn("closing LUN file: {}", e.toString());
    }
  }

  private static void deleteFile(Path file) {
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      log.warn("cannot delete {}: {}", file, e.toString());
    }
  }
}
