package org.iscsicsi.target.registry;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.Supplier;
import org.iscsicsi.target.acl.ChapPolicy;
import org.iscsicsi.target.acl.ChapSecret;
import org.iscsicsi.target.acl.InitiatorGrant;
import org.iscsicsi.target.lvm.LvmCommands;
import org.iscsicsi.target.qos.QosLimits;
import org.iscsicsi.target.registry.RegistryException.Reason;
import org.iscsicsi.target.scsi.AccessState;
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
 *
 * <p>This class is the façade and keeps targets, grants and CHAP itself; {@link RegistryState}
 * holds the lock and what it guards, {@link LunLifecycle} and {@link SnapshotLifecycle} the LUN
 * and snapshot operations, {@link CopyTracker} the copies running outside the lock,
 * {@link PoolAccounting} the space, {@link LunFiles} the files, {@link OpenUnits} the open LUNs.
 */
public final class TargetRegistry implements TargetDirectory, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(TargetRegistry.class);
  static final int DEFAULT_PORTAL_GROUP_TAG = 1;

  private final RegistryState state;
  private final LunFiles files;
  private final PoolAccounting pool;
  private final LunLifecycle luns;
  private final SnapshotLifecycle snapshots;
  private final SnapshotGroup snapshotGroup;
  private final SessionControl sessionControl = new SessionControl();
  private final ReceivedImages received;
  private final Backends backends;

  private TargetRegistry(StateStore store, Path lunDir, Path snapshotDir, Duration copyTimeout,
      List<BackendSpec> backendSpecs, LvmCommands lvm) {
    this.state = new RegistryState(store);
    this.files = new LunFiles(lunDir, snapshotDir, copyTimeout);
    this.backends = Backends.of(backendSpecs, files, lvm);
    this.pool = new PoolAccounting(files.lunDir());
    this.luns = new LunLifecycle(state, pool, files, backends);
    this.snapshots = new SnapshotLifecycle(state, pool, backends);
    this.snapshotGroup = new SnapshotGroup(state, pool, backends);
    this.received = new ReceivedImages(state, files);
  }

  /**
   * Loads the state and opens every LUN. A LUN whose file cannot be opened stays defined, with a
   * condition saying why, so that nothing is forgotten because a disk was missing at start.
   */
  public static TargetRegistry open(StateStore store, Path lunDir, Path snapshotDir,
      Duration copyTimeout) throws IOException {
    return open(store, lunDir, snapshotDir, copyTimeout, List.of(), null);
  }

  /**
   * As {@link #open(StateStore, Path, Path, Duration)} with the given backends, the first the
   * default ({@code fileio} on {@code lunDir} is added when none is named); {@code lvm} runs the
   * LVM backends' commands. Before the LUNs open, each backend makes its volumes usable (LVM:
   * activates an inactive one); a failure there leaves the LUN with its condition.
   */
  public static TargetRegistry open(StateStore store, Path lunDir, Path snapshotDir,
      Duration copyTimeout, List<BackendSpec> backendSpecs, LvmCommands lvm) throws IOException {
    Files.createDirectories(lunDir);
    Files.createDirectories(snapshotDir);
    TargetRegistry r = new TargetRegistry(store, lunDir, snapshotDir, copyTimeout, backendSpecs,
        lvm);
    EngineState loaded = store.load();
    loaded.targets().forEach(t -> t.luns().forEach(l -> r.prepare(Path.of(l.file()))));
    loaded.snapshots().forEach(s -> r.prepare(Path.of(s.file())));
    synchronized (r.state.lock) {
      r.state.load(loaded);
      r.state.publish();
      r.files.warnAboutOrphans(r.state.knownFiles());
    }
    log.info("restored {} target(s), {} snapshot(s) from {}", loaded.targets().size(),
        loaded.snapshots().size(), store.stateFile());
    return r;
  }

  private void prepare(Path path) {
    try {
      backends.of(path).prepare(path);
    } catch (IOException | RuntimeException e) {
      log.warn("cannot prepare {} for use: {}", path, e.getMessage());
    }
  }

  /** Lets the registry see and close sessions (the transport starts after the registry). */
  public void sessions(Supplier<SessionRegistry> supplier) {
    sessionControl.source(supplier);
  }

  // ---- TargetDirectory (event loops) ----

  @Override
  public Optional<ExportedTarget> target(String name) {
    return state.live.target(name);
  }

  @Override
  public List<ExportedTarget> targets() {
    return state.live.targets();
  }

  // ---- targets ----

  public TargetRecord createTarget(String name, String alias, Map<String, String> labels,
      Map<String, String> parameters) {
    return createTarget(name, alias, labels, parameters, 0);
  }

  /**
   * Creates a target whose portal group tag is {@code portalGroupTag} (1-65535; 0 for the
   * default, 1). Idempotent: an existing target with the same alias, labels, parameters and tag
   * is returned as it is.
   */
  public TargetRecord createTarget(String name, String alias, Map<String, String> labels,
      Map<String, String> parameters, int portalGroupTag) {
    int tag = Validation.portalGroupTag(portalGroupTag, DEFAULT_PORTAL_GROUP_TAG);
    String n = Validation.targetName(name);
    String a = Validation.alias(alias);
    Map<String, String> l = Validation.labels(labels);
    Map<String, String> p = LoginParameters.validate(parameters);
    synchronized (state.lock) {
      TargetRecord existing = state.target(n);
      if (existing != null) {
        if (existing.alias().equals(a) && existing.labels().equals(new TreeMap<>(l))
            && existing.parameters().equals(new TreeMap<>(p))
            && existing.portalGroupTag() == tag) {
          return existing;
        }
        throw new RegistryException(Reason.ALREADY_EXISTS, "target " + n
            + " already exists with a different alias, labels, parameters or portal group tag");
      }
      TargetRecord t = new TargetRecord(n, a, tag, l, p, List.of(), null,
          null, List.of());
      state.commitTarget(t);
      state.units.addPort(n);
      state.publish();
      log.info("created target {}", n);
      return t;
    }
  }

  public TargetRecord getTarget(String name) {
    synchronized (state.lock) {
      return state.require(name);
    }
  }

  /** Targets whose labels include every entry of {@code selector}. */
  public List<TargetRecord> listTargets(Map<String, String> selector) {
    synchronized (state.lock) {
      return state.targets().stream()
          .filter(t -> t.labels().entrySet().containsAll(selector.entrySet()))
          .toList();
    }
  }

  public void deleteTarget(String name, boolean force) {
    synchronized (state.lock) {
      TargetRecord t = state.require(name);
      if (state.copies.anyInUseUnder(CopyTracker.lunsOf(t.name()))) {
        throw new RegistryException(Reason.FAILED_PRECONDITION, "a LUN of target " + t.name()
            + " is being copied (snapshot, clone or restore in progress); try again later");
      }
      int logged = sessionsOf(t.name(), null).size();
      if (logged > 0 && !force) {
        throw new RegistryException(Reason.FAILED_PRECONDITION, "target " + t.name() + " has "
            + logged + " session(s) logged in; close them or use force");
      }
      state.commitTargetRemoval(t.name());
      state.publish();
      // Unpublished first so that no new login finds it; then drop whoever is still in.
      closeSessions(t.name(), null);
      state.units.removeTarget(t);
      t.luns().forEach(l -> backends.of(Path.of(l.file())).delete(Path.of(l.file())));
      log.info("deleted target {} and its {} LUN(s)", t.name(), t.luns().size());
    }
  }

  public TargetRecord setLabels(String name, Map<String, String> labels) {
    Map<String, String> l = Validation.labels(labels);
    synchronized (state.lock) {
      TargetRecord t = state.require(name).withLabels(l);
      state.commitTarget(t);
      state.publish();
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
    synchronized (state.lock) {
      TargetRecord t = state.require(target);
      List<InitiatorGrant> grants = new ArrayList<>(t.grants());
      grants.removeIf(x -> x.initiator().equals(g.initiator()));
      grants.add(g);
      TargetRecord next = t.withGrants(grants);
      state.commitTarget(next);
      state.publish();
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
    synchronized (state.lock) {
      TargetRecord t = state.require(target);
      List<InitiatorGrant> grants = new ArrayList<>(t.grants());
      if (!grants.removeIf(x -> x.initiator().equals(who))) {
        return t;
      }
      TargetRecord next = t.withGrants(grants);
      state.commitTarget(next);
      state.publish();
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
    synchronized (state.lock) {
      TargetRecord next = state.require(target).withChap(in, out);
      state.commitTarget(next);
      state.publish();
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
    return luns.create(spec);
  }

  public LunRecord resizeLun(String target, int lun, long sizeBytes) {
    return luns.resize(target, lun, sizeBytes);
  }

  /** Replaces a LUN's I/O limits, live; idempotent. */
  public LunRecord setLunQos(String target, int lun, QosLimits limits) {
    return luns.setQos(target, lun, limits);
  }

  /**
   * Replaces the ALUA access states of a LUN with a port slot ({@code states}: slot to state for
   * every port group, its own slot included), live and persisted; idempotent.
   */
  public LunRecord setAluaStates(String target, int lun, Map<Integer, AccessState> states) {
    return luns.setAlua(target, lun, states);
  }

  public void deleteLun(String target, int lun) {
    luns.delete(target, lun);
  }

  public LunStatus lunStatus(String target, int lun) {
    return luns.status(target, lun);
  }

  /** The status of every LUN of a target, in LUN order. */
  public List<LunStatus> lunStatuses(String target) {
    return luns.statuses(target);
  }

  // ---- snapshots ----

  /**
   * Copies a LUN while its writes are held (the copy runs outside the registry lock). Idempotent
   * by id and source; a repeat while the first copy runs waits for it.
   */
  public SnapshotRecord createSnapshot(String id, String target, int lun,
      Map<String, String> labels) {
    return snapshots.create(id, target, lun, labels);
  }

  /**
   * Snapshots several LUNs at one instant: every member's writes are held before the first copy
   * and released after the last; all snapshots are recorded in one state write. Idempotent when
   * every member exists with its source; ALREADY_EXISTS when only some do.
   */
  public List<SnapshotRecord> createSnapshotGroup(List<SnapshotRequest> members) {
    return snapshotGroup.create(members);
  }

  public void deleteSnapshot(String id) {
    snapshots.delete(id);
  }

  /** Snapshots matching the id (when not empty) and the source (when target is not empty). */
  public List<SnapshotRecord> listSnapshots(String id, String sourceTarget, int sourceLun) {
    return snapshots.list(id, sourceTarget, sourceLun);
  }

  /**
   * Up to {@code maxRanges} block ranges of snapshot {@code id} that hold data, from
   * {@code start}; with a {@code baseId}, the ranges whose contents differ from that snapshot of
   * the same LUN instead. The snapshots cannot be deleted while this reads them.
   */
  public SnapshotBlockList snapshotBlocks(String baseId, String id, long start,
      int requestedRanges) {
    // one answer stays small whatever the caller asks for; the caller goes on from its end
    int maxRanges = Math.min(requestedRanges, MAX_BLOCK_RANGES);
    SnapshotRecord target;
    SnapshotRecord base = null;
    String reader = "blocks-" + UUID.randomUUID();
    String baseReader = reader + "-base";
    synchronized (state.lock) {
      target = requireSnapshot(id);
      if (baseId != null && !baseId.isEmpty()) {
        base = requireSnapshot(baseId);
        if (!base.sourceTarget().equals(target.sourceTarget())
            || base.sourceLun() != target.sourceLun()) {
          throw RegistryException.invalid("snapshots " + baseId + " and " + id
              + " are of different LUNs; a delta compares two snapshots of one LUN");
        }
      }
      if (start < 0 || start >= target.sizeBytes()) {
        throw new RegistryException(Reason.OUT_OF_RANGE, "starting offset " + start
            + " is outside snapshot " + id + " (" + target.sizeBytes() + " bytes)");
      }
      if (maxRanges <= 0) {
        throw RegistryException.invalid("the number of ranges must be positive");
      }
      for (SnapshotRecord s : base == null ? List.of(target) : List.of(base, target)) {
        if (!(backends.of(Path.of(s.file())) instanceof FileBackend)) {
          throw new RegistryException(Reason.FAILED_PRECONDITION, "snapshot " + s.id()
              + " lies on a block device; block metadata is read from snapshot files only");
        }
      }
      state.copies.start(reader, CopyTracker.snapshotFile(id));
      if (base != null) {
        state.copies.start(baseReader, CopyTracker.snapshotFile(base.id()));
      }
    }
    try {
      List<SnapshotBlocks.Range> ranges = base == null
          ? SnapshotBlocks.allocated(target, start, maxRanges)
          : SnapshotBlocks.delta(base, target, start, maxRanges);
      return new SnapshotBlockList(target.sizeBytes(), target.blockSize(),
          ranges.stream().map(r -> new long[] {r.offset(), r.length()}).toList());
    } catch (IOException e) {
      throw new RegistryException(Reason.INTERNAL, "reading the blocks of snapshot " + id
          + " failed: " + e.getMessage(), e);
    } finally {
      synchronized (state.lock) {
        state.copies.end(reader, CopyTracker.snapshotFile(id), null);
        if (base != null) {
          state.copies.end(baseReader, CopyTracker.snapshotFile(base.id()), null);
        }
      }
    }
  }

  /** The most block ranges one {@link #snapshotBlocks} answer carries. */
  public static final int MAX_BLOCK_RANGES = 4096;

  /** A snapshot's size, block size and {offset, length} ranges (see {@link #snapshotBlocks}). */
  public record SnapshotBlockList(long sizeBytes, int blockSize, List<long[]> ranges) {}

  private SnapshotRecord requireSnapshot(String id) {
    SnapshotRecord s = state.snapshot(id);
    if (s == null) {
      throw RegistryException.notFound("snapshot " + id + " does not exist");
    }
    return s;
  }

  public long snapshotAllocatedBytes(SnapshotRecord s) {
    return backends.of(Path.of(s.file())).allocated(Map.of(Path.of(s.file()), s.sizeBytes()));
  }

  // ---- images received from another engine (transfers) ----

  /**
   * Adopts a target another engine sent: {@code target} (its one LUN's identity kept, grants
   * dropped) with the LUN's staged, synced image and its snapshots, all in one state commit.
   * ALREADY_EXISTS when the target, the LUN's NAA or serial, or a snapshot id is taken here.
   */
  public TargetRecord adoptTarget(TargetRecord target, Path lunImage,
      List<ReceivedSnapshot> snapshotImages) {
    return received.adoptTarget(target, lunImage, snapshotImages);
  }

  /** Adopts a staged, synced image as a new LUN (new identity) of an existing target. */
  public LunRecord adoptLun(String target, int lun, Path image, long sizeBytes, int blockSize,
      boolean thin) {
    return received.adoptLun(target, lun, image, sizeBytes, blockSize, thin);
  }

  /** RESOURCE_EXHAUSTED naming {@code what} unless {@code need} bytes are free in the pool. */
  public void requireRoom(long need, String what) {
    pool.requireRoom(need, what);
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
    ExportedTarget now = state.live.get(target);
    if (now != null) {
      sessionControl.enforce(now);
    }
  }

  /** The file backend's filesystem and its LUNs. */
  public PoolStatus pool() {
    synchronized (state.lock) {
      return pool.status(state.targets(), state.units,
          f -> backends.of(f) instanceof FileBackend);
    }
  }

  /** Every backend's space and use, the default first. */
  public List<BackendStatus> backends() {
    synchronized (state.lock) {
      return pool.backends(backends, state.targets(), state.units);
    }
  }

  public Path lunDir() {
    return files.lunDir();
  }

  public Path snapshotDir() {
    return files.snapshotDir();
  }

  @Override
  public void close() {
    synchronized (state.lock) {
      state.live.clear();
      state.units.closeAll();
    }
  }
}
