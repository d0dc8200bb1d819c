package org.iscsicsi.target.replication;

import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.kube.Membership;
import org.iscsicsi.target.kube.MembershipWatcher;
import org.iscsicsi.target.kube.MembershipWriter;
import org.iscsicsi.target.kube.ReplicatedVolume;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.registry.ExportedTarget;
import org.iscsicsi.target.registry.RegistryException;
import org.iscsicsi.target.registry.RegistryException.Reason;
import org.iscsicsi.target.registry.TargetRegistry;
import org.iscsicsi.target.scsi.AccessState;
import org.iscsicsi.target.scsi.ScsiTargetDevice;
import org.iscsicsi.target.state.LunRecord;
import org.iscsicsi.target.transfer.Bandwidth;
import org.iscsicsi.target.transfer.ReplicationNetwork;
import org.iscsicsi.target.v1.SetLunReplicationRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine's replicated LUNs (docs/replication.md sections 2-6): it makes a LUN replicated
 * (SetLunReplication), taking the role the IscsiVolume's membership gives this engine. On the
 * primary the LUN's changes go through a {@link ReplicatedUnit} with a {@link ReplicaLink} to
 * every acking member; on a member the LUN is offered to the {@link ReplicaSession} that serves
 * the replication listener's replica streams, behind its {@link EpochFence}. A
 * {@link MembershipWatcher} keeps every LUN's membership and accepted epoch current, and the
 * ports' ALUA states follow the membership and the serve lease ({@link ReplicaPortStates}).
 *
 * <p>What it needs to reopen a LUN's role is on disk ({@link ReplicatedLunRecords}, the metadata
 * superblock). A restarted engine starts every replicated LUN non-serving: members take streams
 * again (their fence decides), and a primary stays standby until a new epoch (section 4).
 * Memberships live in Kubernetes, so nothing is replicated until {@link #useKubernetes} ran.
 */
public final class ReplicatedLuns implements AutoCloseable, ReplicaSession.Luns {

  private static final Logger log = LoggerFactory.getLogger(ReplicatedLuns.class);

  /** How often the ports' ALUA states are brought in line with the leases. */
  static final Duration ALUA_REFRESH = Duration.ofMillis(200);
  static final String DIR = "replication";

  private final String self;
  private final TargetRegistry registry;
  private final Supplier<ReplicationNetwork> network;
  private final ReplicatedLunRecords records;
  private final ReplicaSession session = new ReplicaSession(this);
  private final Map<String, ReplicatedLun> byVolume = new ConcurrentHashMap<>();
  /** target/lun of the LUNs saved as replicated, reopened or not. */
  private final java.util.Set<String> saved = ConcurrentHashMap.newKeySet();
  private final ScheduledExecutorService refresher;
  /** The engine's rebuild bandwidth, shared by every rebuild it runs (section 10). */
  private final Bandwidth rebuildBandwidth = new Bandwidth(Bandwidth.DEFAULT_BYTES_PER_SECOND);
  private MembershipWriter writer;
  private MembershipWatcher watcher;
  private boolean closed;

  /**
   * Opens the engine's replicated LUNs non-serving: each one's own port slot turns standby or
   * unavailable before any initiator can log in.
   *
   * @param network the replication port's dialling side (it starts after the iSCSI port),
   *     giving null when the engine has none
   */
  public ReplicatedLuns(String self, Path stateDir, TargetRegistry registry,
      Supplier<ReplicationNetwork> network) throws IOException {
    this.self = self;
    this.registry = registry;
    this.network = network;
    this.records = new ReplicatedLunRecords(stateDir.resolve(DIR));
    for (SetLunReplicationRequest r : records.load()) {
      saved.add(r.getTarget() + "/" + r.getLun());
      holdBack(r);
    }
    this.refresher = Executors.newSingleThreadScheduledExecutor(
        Thread.ofPlatform().daemon().name("replication-alua").factory());
    refresher.scheduleWithFixedDelay(this::refreshAll, ALUA_REFRESH.toMillis(),
        ALUA_REFRESH.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Serves this engine's member LUNs to the replication listener's replica streams. */
  public ReplicaSession session() {
    return session;
  }

  /**
   * Starts replicating through the API server of {@code client}: reopens the saved LUNs'
   * roles and starts the membership watch.
   */
  public synchronized void useKubernetes(KubernetesClient client) {
    writer = new MembershipWriter(client);
    for (SetLunReplicationRequest r : loadQuietly()) {
      try {
        reopen(r);
      } catch (RuntimeException e) {
        log.warn("{}: replicated LUN {} of {} not reopened: {}", r.getVolume(), r.getLun(),
            r.getTarget(), e.getMessage());
      }
    }
    watcher = new MembershipWatcher(client, self, new MembershipWatcher.Listener() {
      @Override
      public void changed(ReplicatedVolume v) {
        observed(v.name(), v.membership());
      }

      @Override
      public void gone(String volume) {
        log.info("{}: this engine is no longer listed in the IscsiVolume", volume);
      }
    }).start();
  }

  /**
   * This engine's Lease was renewed by a request sent at {@code sentNanos}: the serve lease of
   * every primary LUN left alone in sync (section 4).
   */
  public void engineLeaseRenewed(long sentNanos) {
    for (ReplicatedLun l : byVolume.values()) {
      ReplicatedUnit u = l.primary;
      if (u != null) {
        u.engineLeaseRenewed(sentNanos);
      }
    }
  }

  @Override
  public Optional<ReplicaSession.MemberLun> find(String volume) {
    ReplicatedLun l = byVolume.get(volume);
    ReplicatedUnit u = l == null ? null : l.primary;
    if (l == null || u != null && u.deposed() == null) {
      return Optional.empty(); // the primary's own LUN takes no stream
    }
    return Optional.of(new ReplicaSession.MemberLun(l.local, l.fence));
  }

  /**
   * Makes a LUN replicated (idempotent for the same volume): reads the membership fresh; as its
   * primary, opens a link to every acking member and routes the LUN's changes through a
   * {@link ReplicatedUnit}; as a member, offers the LUN to replica streams.
   */
  public synchronized View configure(SetLunReplicationRequest r) {
    if (closed) {
      throw new RegistryException(Reason.FAILED_PRECONDITION, "the engine is stopping");
    }
    if (!ReplicatedLunRecords.validVolume(r.getVolume())) {
      throw RegistryException.invalid("volume " + r.getVolume() + " is not an object name");
    }
    if (r.getAckTimeoutMs() < 0) {
      throw RegistryException.invalid("ack_timeout_ms must not be negative");
    }
    for (var a : r.getMemberAddressesMap().entrySet()) {
      try {
        HostPort.parse(a.getValue(), -1);
      } catch (IllegalArgumentException e) {
        throw RegistryException.invalid("member " + a.getKey() + ": " + e.getMessage());
      }
    }
    requireKubernetes();
    ReplicatedLun existing = byVolume.get(r.getVolume());
    if (existing != null) {
      if (existing.request.getTarget().equals(r.getTarget())
          && existing.request.getLun() == r.getLun()) {
        return view(existing);
      }
      throw new RegistryException(Reason.ALREADY_EXISTS, "volume " + r.getVolume()
          + " is replicated through LUN " + existing.request.getLun() + " of "
          + existing.request.getTarget());
    }
    for (ReplicatedLun l : byVolume.values()) {
      if (l.request.getTarget().equals(r.getTarget()) && l.request.getLun() == r.getLun()) {
        throw new RegistryException(Reason.ALREADY_EXISTS, "LUN " + r.getLun() + " of "
            + r.getTarget() + " replicates volume " + l.volume());
      }
    }
    ReplicatedLun l = open(r, false);
    try {
      records.save(r);
      saved.add(r.getTarget() + "/" + r.getLun());
    } catch (IOException e) {
      forget(l);
      throw new RegistryException(Reason.INTERNAL, "saving the replicated LUN of "
          + r.getVolume() + ": " + e.getMessage(), e);
    }
    return view(l);
  }

  /** A replicated LUN as status reports show it. */
  public record View(SetLunReplicationRequest request, Membership membership,
      ReplicatedUnit primary, String notServing, long acceptedEpoch, boolean portActive,
      long primarySilenceMs, Optional<Rebuilder.Progress> rebuild) {
  }

  /**
   * The replicated LUN of {@code target}/{@code lun}, its port's ALUA states brought in line
   * first, so a status that says serving means initiators are served.
   */
  public View view(String target, int lun) {
    ReplicatedLun l = find(target, lun);
    try {
      refresh(l);
    } catch (RuntimeException e) {
      log.warn("{}: ALUA states not applied: {}", l.volume(), e.toString());
    }
    return view(l);
  }

  /** The replicated LUN of {@code volume}, as {@link #view(String, int)}. */
  public View view(String volume) {
    ReplicatedLun l = byVolume.get(volume);
    if (l == null) {
      throw RegistryException.notFound("no replicated LUN of volume " + volume);
    }
    return view(l.request.getTarget(), l.request.getLun());
  }

  private static View view(ReplicatedLun l) {
    Map<Integer, AccessState> applied = l.applied;
    long lastFrame = l.fence.lastFrameNanos();
    long silence = lastFrame == 0 ? -1 : (System.nanoTime() - lastFrame) / 1_000_000;
    return new View(l.request, l.current(), l.primary, l.notServing, l.fence.accepted(),
        applied != null && applied.get(l.slot) == AccessState.ACTIVE_OPTIMIZED, silence,
        Optional.ofNullable(l.rebuilder).flatMap(Rebuilder::progress));
  }

  /** The rebuild figures of every LUN this engine serves as primary (metrics). */
  public List<Rebuilder.Figures> rebuildFigures() {
    return byVolume.values().stream().map(l -> l.rebuilder).filter(java.util.Objects::nonNull)
        .map(Rebuilder::figures).toList();
  }

  /** Whether {@code target}/{@code lun} is replicated (its ALUA states are this class's). */
  public boolean manages(String target, int lun) {
    return saved.contains(target + "/" + lun);
  }

  private ReplicatedLun find(String target, int lun) {
    return byVolume.values().stream().filter(l -> l.request.getTarget().equals(target)
        && l.request.getLun() == lun).findFirst().orElseThrow(() -> manages(target, lun)
            ? new RegistryException(Reason.FAILED_PRECONDITION, "LUN " + lun + " of " + target
                + " is replicated but not reopened yet: the engine reopens it once it reaches "
                + "Kubernetes (or logged why it could not)")
            : RegistryException.notFound("LUN " + lun + " of " + target + " is not replicated"));
  }

  /** This engine's name. */
  public String self() {
    return self;
  }

  private void reopen(SetLunReplicationRequest r) {
    if (!byVolume.containsKey(r.getVolume())) {
      open(r, true);
    }
  }

  private ReplicatedLun open(SetLunReplicationRequest r, boolean restarted) {
    LunRecord rec = lunRecord(r);
    LogicalUnit local = unit(r);
    Membership m = writer.read(r.getVolume()).map(ReplicatedVolume::membership).orElseThrow(
        () -> new RegistryException(Reason.FAILED_PRECONDITION, "IscsiVolume " + r.getVolume()
            + " has no membership"));
    Membership.Member me = m.member(self).orElseThrow(() -> new RegistryException(
        Reason.FAILED_PRECONDITION, self + " is not a member of " + r.getVolume()));
    if (me.slot() != rec.portSlot()) {
      throw new RegistryException(Reason.FAILED_PRECONDITION, "LUN " + r.getLun() + " of "
          + r.getTarget() + " has port slot " + rec.portSlot() + ", the membership gives "
          + self + " slot " + me.slot());
    }
    MetadataFile meta = metadata(rec);
    EpochFence fence = new EpochFence(self, r.getVolume(), meta,
        () -> writer.read(r.getVolume()).map(ReplicatedVolume::membership));
    ReplicatedLun l = new ReplicatedLun(r, rec.portSlot(), local, meta, fence, m);
    byVolume.put(r.getVolume(), l);
    try {
      if (m.primary().equals(self)) {
        if (restarted) {
          l.notServing = "restarted: serves as primary again only in a new epoch";
        } else {
          serveAsPrimary(l, m);
        }
      }
    } catch (RuntimeException e) {
      forget(l);
      throw e;
    }
    log.info("{}: LUN {} of {} replicated, epoch {}, primary {}, this engine {} ({})",
        r.getVolume(), r.getLun(), r.getTarget(), m.epoch(), m.primary(),
        m.primary().equals(self) ? "primary" : "member", l.notServing == null ? "serving"
            : l.notServing);
    refresh(l);
    return l;
  }

  private void serveAsPrimary(ReplicatedLun l, Membership m) {
    SetLunReplicationRequest r = l.request;
    try {
      if (!l.fence.mayServeAsPrimary(m.epoch())) {
        throw new RegistryException(Reason.FAILED_PRECONDITION, self + " may not serve "
            + r.getVolume() + " at epoch " + m.epoch() + " (accepted " + l.fence.accepted()
            + ")");
      }
    } catch (IOException e) {
      throw new RegistryException(Reason.INTERNAL, "persisting epoch " + m.epoch() + " of "
          + r.getVolume() + ": " + e.getMessage(), e);
    }
    ReplicationNetwork net = network.get();
    if (net == null && !m.ackingReplicas().isEmpty()) {
      throw new RegistryException(Reason.FAILED_PRECONDITION, "the engine has no replication "
          + "port (--replication-tls-ca) to reach its members");
    }
    Duration ackTimeout = ackTimeout(r);
    Map<String, ReplicaLink> links = new LinkedHashMap<>();
    try {
      for (String member : m.ackingReplicas()) {
        String at = r.getMemberAddressesMap().get(member);
        if (at == null) {
          throw RegistryException.invalid("no replication address for member " + member);
        }
        try {
          links.put(member, ReplicaLink.open(net, member, HostPort.parse(at, -1),
              m.epoch(), new ReplicaHello(r.getVolume(), self, m.generation()), ackTimeout));
        } catch (ReplicaLink.LinkFailure e) {
          // the heartbeat takes an unreachable member out before the lease is first granted
          log.warn("{}: member {} unreachable at {}: {}", r.getVolume(), member, at,
              e.getMessage());
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      links.values().forEach(ReplicaLink::close);
      throw new RegistryException(Reason.INTERNAL, "interrupted while dialling members", e);
    } catch (RuntimeException e) {
      links.values().forEach(ReplicaLink::close);
      throw e;
    }
    ReplicatedUnit unit = new ReplicatedUnit(self, r.getVolume(), l.local, writer, m, links,
        new ServeLease(), Clock.systemUTC());
    port(r.getTarget()).routeIo(r.getLun(), unit);
    l.primary = unit;
    startRebuilder(l, unit, net);
  }

  /** The request's replica ack timeout, {@link ReplicaLink#ACK_TIMEOUT} unless it gives one. */
  static Duration ackTimeout(SetLunReplicationRequest r) {
    return r.getAckTimeoutMs() == 0 ? ReplicaLink.ACK_TIMEOUT
        : Duration.ofMillis(r.getAckTimeoutMs());
  }

  /**
   * Rebuilds the members {@code unit} serves without (OutOfSync, Fenced: after a promotion the
   * old primary among them), replacing the rebuilder of an earlier primary unit of this LUN.
   */
  private void startRebuilder(ReplicatedLun l, ReplicatedUnit unit, ReplicationNetwork net) {
    stopRebuilder(l);
    SetLunReplicationRequest r = l.request;
    l.rebuilder = new Rebuilder(self, r.getVolume(), unit, l.local, (member, epoch, generation)
        -> dial(net, r, member, epoch, generation, ackTimeout(r)), rebuildBandwidth,
        Clock.systemUTC()).start();
  }

  private static void stopRebuilder(ReplicatedLun l) {
    Rebuilder rb = l.rebuilder;
    if (rb != null) {
      l.rebuilder = null;
      rb.close();
    }
  }

  private ReplicaLink dial(ReplicationNetwork net, SetLunReplicationRequest r, String member,
      long epoch, long generation, Duration ackTimeout)
      throws ReplicaLink.LinkFailure, InterruptedException {
    String at = r.getMemberAddressesMap().get(member);
    if (net == null || at == null) {
      throw new ReplicaLink.LinkFailure(member + ": no replication "
          + (net == null ? "port on this engine" : "address in the request"), null, 0);
    }
    return ReplicaLink.open(net, member, HostPort.parse(at, -1), epoch,
        new ReplicaHello(r.getVolume(), self, generation), ackTimeout);
  }

  /**
   * The watch (a hint). A primary that sees a newer epoch is deposed at once (its unit stays the
   * LUN's I/O path and refuses everything with NOT READY 04h/0Ch, so nothing reaches the local
   * copy behind the new primary's back); a member named primary of a newer epoch is promoted
   * ({@link Promotion}, which reads fresh first); any other member with an older accepted epoch
   * reads fresh and accepts.
   */
  private void observed(String volume, Membership m) {
    ReplicatedLun l = byVolume.get(volume);
    if (l == null) {
      return;
    }
    Membership before = l.membership;
    if (before == null || m.generation() >= before.generation()) {
      l.membership = m;
    }
    ReplicatedUnit u = l.primary;
    if (u != null && m.epoch() > u.epoch()) {
      stopRebuilder(l); // a deposed primary rebuilds no one: the new primary does
      u.depose("epoch " + m.epoch() + " has primary " + m.primary());
      l.notServing = "fenced: epoch " + m.epoch() + " has primary " + m.primary();
    }
    long serving = u == null || u.deposed() != null ? 0 : u.epoch();
    if (m.primary().equals(self) && m.epoch() > serving) {
      promote(l, m.epoch());
    } else if ((u == null || u.deposed() != null) && m.epoch() > l.fence.accepted()) {
      Thread.ofVirtual().start(() -> {
        try {
          writer.read(volume).ifPresent(fresh -> {
            try {
              l.fence.observe(fresh.membership());
            } catch (IOException e) {
              log.warn("{}: epoch {} not persisted: {}", volume, fresh.membership().epoch(),
                  e.toString());
            }
          });
        } catch (RuntimeException e) {
          log.warn("{}: the IscsiVolume could not be read: {}", volume, e.toString());
        }
      });
    }
  }

  /** Starts this engine's promotion to primary of {@code epoch} (once per epoch). */
  private void promote(ReplicatedLun l, long epoch) {
    synchronized (l) {
      if (l.promoting >= epoch || closed) {
        return;
      }
      l.promoting = epoch;
    }
    Thread.ofVirtual().name("promotion-" + l.volume()).start(() -> {
      try {
        ReplicatedUnit unit = new Promotion(self, l, writer, network.get(), Clock.systemUTC())
            .run(epoch, u -> {
              synchronized (this) {
                if (closed || byVolume.get(l.volume()) != l) {
                  u.close();
                  throw new IllegalStateException("the LUN was closed during the promotion");
                }
                ReplicatedUnit old = l.primary;
                port(l.request.getTarget()).routeIo(l.request.getLun(), u);
                l.primary = u;
                l.notServing = null;
                if (old != null) {
                  old.close();
                }
                startRebuilder(l, u, network.get());
              }
            });
        refresh(l);
        log.info("{}: serving as primary of epoch {}", l.volume(), unit.epoch());
      } catch (Promotion.Abandoned e) {
        log.warn("{}: promotion to epoch {} abandoned: {}", l.volume(), epoch, e.getMessage());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (RuntimeException e) {
        log.warn("{}: promotion to epoch {} failed: {}", l.volume(), epoch, e.toString());
      } finally {
        synchronized (l) {
          if (l.promoting == epoch) {
            l.promoting = 0;
          }
        }
      }
    });
  }

  private void refreshAll() {
    for (ReplicatedLun l : byVolume.values()) {
      try {
        refresh(l);
      } catch (RuntimeException e) {
        log.warn("{}: ALUA states not applied: {}", l.volume(), e.toString());
      }
    }
  }

  /** Brings the port's ALUA states in line with the membership and the lease. */
  private void refresh(ReplicatedLun l) {
    synchronized (l) { // the refresher and status requests
      Membership m = l.current();
      if (m == null) {
        return;
      }
      ReplicatedUnit u = l.primary;
      Map<Integer, AccessState> states = ReplicaPortStates.of(m, self, l.slot,
          u != null && u.serving());
      if (!states.equals(l.applied)) {
        registry.setAluaStates(l.request.getTarget(), l.request.getLun(), states);
        l.applied = states;
      }
    }
  }

  /** At start, before iSCSI: a saved LUN's own port is standby until its role is known. */
  private void holdBack(SetLunReplicationRequest r) {
    try {
      LunRecord rec = lunRecord(r);
      Map<Integer, AccessState> states = new java.util.TreeMap<>(rec.alua().states());
      states.put(rec.portSlot(), AccessState.STANDBY);
      registry.setAluaStates(r.getTarget(), r.getLun(), states);
    } catch (RuntimeException e) {
      log.warn("{}: replicated LUN {} of {} not held back: {}", r.getVolume(), r.getLun(),
          r.getTarget(), e.getMessage());
    }
  }

  private List<SetLunReplicationRequest> loadQuietly() {
    try {
      return records.load();
    } catch (IOException e) {
      log.warn("replicated LUN records in {} unreadable: {}", records.dir(), e.toString());
      return List.of();
    }
  }

  private LunRecord lunRecord(SetLunReplicationRequest r) {
    LunRecord rec = registry.getTarget(r.getTarget()).lun(r.getLun()).orElseThrow(
        () -> RegistryException.notFound("no LUN " + r.getLun() + " on " + r.getTarget()));
    if (rec.portSlot() == 0) {
      throw new RegistryException(Reason.FAILED_PRECONDITION, "LUN " + r.getLun() + " of "
          + r.getTarget() + " has no port slot (create it with the member's slot)");
    }
    return rec;
  }

  private LogicalUnit unit(SetLunReplicationRequest r) {
    LogicalUnit u = port(r.getTarget()).luns().get((long) r.getLun());
    if (u == null) {
      throw new RegistryException(Reason.FAILED_PRECONDITION, "LUN " + r.getLun() + " of "
          + r.getTarget() + " is not open");
    }
    return u;
  }

  private ScsiTargetDevice port(String target) {
    ExportedTarget t = registry.target(target).orElseThrow(() -> RegistryException.notFound(
        "no target " + target));
    if (!(t.scsi() instanceof ScsiTargetDevice p)) {
      throw new RegistryException(Reason.INTERNAL, target + " has no SCSI port of its own");
    }
    return p;
  }

  private MetadataFile metadata(LunRecord rec) {
    Path p = MetadataFile.pathFor(records.dir(), rec.naa());
    try {
      Files.createDirectories(records.dir());
      return Files.exists(p) ? MetadataFile.open(p)
          : MetadataFile.create(p, Superblock.fresh(rec.naa(), rec.sizeBytes()));
    } catch (IOException e) {
      throw new RegistryException(Reason.INTERNAL, "metadata file " + p + ": " + e.getMessage(),
          e);
    }
  }

  private void requireKubernetes() {
    if (writer == null) {
      throw new RegistryException(Reason.FAILED_PRECONDITION, "replicated LUNs need the "
          + "membership in Kubernetes: run the engine with --kubernetes");
    }
  }

  private void forget(ReplicatedLun l) {
    byVolume.remove(l.volume(), l);
    close(l);
  }

  private void close(ReplicatedLun l) {
    stopRebuilder(l);
    ReplicatedUnit u = l.primary;
    if (u != null) {
      l.primary = null;
      try {
        port(l.request.getTarget()).routeIo(l.request.getLun(), null);
      } catch (RuntimeException e) {
        log.debug("{}: LUN gone before its replication: {}", l.volume(), e.toString());
      }
      u.close();
    }
    try {
      l.metadata.close();
    } catch (IOException e) {
      log.warn("{}: closing its metadata file: {}", l.volume(), e.toString());
    }
  }

  @Override
  public synchronized void close() {
    closed = true;
    refresher.shutdownNow();
    if (watcher != null) {
      watcher.close();
    }
    byVolume.values().forEach(this::close);
    byVolume.clear();
  }
}
