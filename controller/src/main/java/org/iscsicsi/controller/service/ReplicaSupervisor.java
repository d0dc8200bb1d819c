package org.iscsicsi.controller.service;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.iscsicsi.controller.engine.EngineDirectory;
import org.iscsicsi.controller.engine.PoolMember;
import org.iscsicsi.controller.engine.Reachability;
import org.iscsicsi.controller.service.FailoverDecider.Decision;
import org.iscsicsi.controller.service.FailoverDecider.Health;
import org.iscsicsi.controller.service.FailoverDecider.MemberReport;
import org.iscsicsi.controller.service.FailoverDecider.Promote;
import org.iscsicsi.target.kube.IscsiVolumes;
import org.iscsicsi.target.kube.Membership;
import org.iscsicsi.target.kube.MembershipRefused;
import org.iscsicsi.target.kube.MembershipTransitions;
import org.iscsicsi.target.kube.MembershipWriter;
import org.iscsicsi.target.kube.ReplicatedVolume;
import org.iscsicsi.target.v1.GetReplicationStatusRequest;
import org.iscsicsi.target.v1.ReplicaRole;
import org.iscsicsi.target.v1.ReplicationStatus;
import org.iscsicsi.target.v1.TargetReplicationGrpc;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The controller leader's watch over replicated volumes (docs/replication.md section 8): every
 * {@link #INTERVAL}, while leading, it reads each IscsiVolume with a membership, asks the
 * primary's engine for the volume's replication status (a refused connection, or a primary that
 * says it restarted and will not serve in this epoch, makes it unusable at once; the Lease and
 * the directory's probes cover a silent one), and only when the primary looks unusable asks
 * every in-sync member; {@link FailoverDecider} decides, and a promotion is one
 * compare-and-swap through {@link MembershipWriter} ({@link MembershipTransitions#promote}), so a
 * decision made on a membership that changed meanwhile is decided again or refused. The members
 * finish the promotion from the object (they watch it).
 */
public final class ReplicaSupervisor implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ReplicaSupervisor.class);

  public static final Duration INTERVAL = Duration.ofMillis(500);
  /** Deadline of each GetReplicationStatus: a frozen engine must not hold the pass up long. */
  static final Duration CALL_DEADLINE = Duration.ofMillis(1000);

  /** Told of every promotion written (metrics, events, tests). */
  @FunctionalInterface
  public interface Listener {
    void promoted(String volume, Membership before, Membership after, String reason);
  }

  private final KubernetesClient client;
  private final MembershipWriter writer;
  private final EngineDirectory directory;
  private final String leader;
  private final BooleanSupplier leading;
  private final Clock clock;
  private final Listener listener;
  private final ScheduledExecutorService timer;
  /** The last reason logged per volume, so a waiting volume does not log every pass. */
  private final Map<String, String> lastWait = new HashMap<>();
  /** The last listing failure logged, or null after a success. */
  private String listFailure;

  private ReplicaSupervisor(KubernetesClient client, EngineDirectory directory, String leader,
      BooleanSupplier leading, Clock clock, Listener listener) {
    this.client = client;
    this.writer = new MembershipWriter(client);
    this.directory = directory;
    this.leader = leader;
    this.leading = leading;
    this.clock = clock;
    this.listener = listener;
    this.timer = Executors.newSingleThreadScheduledExecutor(
        Thread.ofPlatform().daemon().name("replica-supervisor").factory());
  }

  /**
   * Starts the passes.
   *
   * @param leader this controller's instance name, written as {@code promotion.decidedBy}
   */
  public static ReplicaSupervisor start(KubernetesClient client, EngineDirectory directory,
      String leader, BooleanSupplier leading, Duration interval, Listener listener) {
    ReplicaSupervisor s = new ReplicaSupervisor(client, directory, leader, leading,
        Clock.systemUTC(), listener);
    s.timer.scheduleWithFixedDelay(s::pass, interval.toMillis(), interval.toMillis(),
        TimeUnit.MILLISECONDS);
    return s;
  }

  private void pass() {
    if (!leading.getAsBoolean()) {
      return;
    }
    List<ReplicatedVolume> volumes;
    try {
      volumes = client.genericKubernetesResources(IscsiVolumes.CONTEXT).list().getItems()
          .stream().flatMap(r -> ReplicatedVolume.of(r).stream()).toList();
    } catch (RuntimeException e) {
      String why = e.toString();
      if (!why.equals(listFailure)) { // once per distinct failure, not every pass
        log.warn("replicated volumes could not be listed: {}", why);
      }
      listFailure = why;
      return;
    }
    listFailure = null;
    for (ReplicatedVolume v : volumes) {
      try {
        supervise(v);
      } catch (RuntimeException e) {
        log.warn("{}: failover check failed: {}", v.name(), e.toString());
      }
    }
  }

  /** One volume: the decision, and the promotion's compare-and-swap when it says so. */
  void supervise(ReplicatedVolume v) {
    Membership m = v.membership();
    Map<String, Health> health = new HashMap<>();
    Health primary = primaryHealth(m.primary(), v.name());
    health.put(m.primary(), primary);
    Map<String, MemberReport> reports = new HashMap<>();
    if (primary != Health.USABLE && primary != Health.UNKNOWN) {
      for (Membership.Member x : m.members()) {
        if (x.engine().equals(m.primary()) || x.state() != Membership.State.InSync) {
          continue;
        }
        Optional<ReplicationStatus> s = status(x.engine(), v.name());
        boolean answering = directory.member(x.engine()).map(PoolMember::reachability)
            .orElse(Reachability.LEASE_MISSING) == Reachability.ANSWERING;
        health.put(x.engine(), s.isPresent() && answering ? Health.USABLE : Health.UNKNOWN);
        s.ifPresent(r -> reports.put(x.engine(), new MemberReport(r.getAcceptedEpoch(),
            r.getPrimarySilenceMs())));
      }
    }
    Decision d = FailoverDecider.decide(m, health, reports);
    if (!(d instanceof Promote p)) {
      if (!d.reason().equals(lastWait.put(v.name(), d.reason())) && primary != Health.USABLE) {
        log.info("{}: no failover: {}", v.name(), d.reason());
      }
      return;
    }
    lastWait.remove(v.name());
    try {
      Membership after = writer.change(v.name(), x -> MembershipTransitions.promote(x, leader,
          p.epoch(), p.to(), clock.instant())).membership();
      log.warn("{}: promoted {} to primary of epoch {} ({}), {} fenced", v.name(), p.to(),
          after.epoch(), p.reason(), m.primary());
      listener.promoted(v.name(), m, after, p.reason());
    } catch (MembershipRefused e) {
      log.info("{}: promotion of {} refused: {}", v.name(), p.to(), e.getMessage());
    }
  }

  /**
   * The primary as the controller sees it: unusable at once when its admin port refuses
   * connections or it says it restarted (it never serves again in this epoch); by its Lease and
   * the directory's probes otherwise.
   */
  private Health primaryHealth(String engine, String volume) {
    Reachability reach = directory.member(engine).map(PoolMember::reachability)
        .orElse(Reachability.LEASE_MISSING);
    Optional<Channel> ch = directory.probeTarget(engine).map(t -> t.channel());
    if (ch.isPresent()) {
      try {
        ReplicationStatus s = stub(ch.get()).getReplicationStatus(request(volume));
        if (s.getRole() == ReplicaRole.REPLICA_ROLE_PRIMARY && !s.getServing()
            && s.getDetail().startsWith("restarted")) {
          return Health.REFUSED_OR_RESTARTED;
        }
      } catch (StatusRuntimeException e) {
        if (refused(e)) {
          return Health.REFUSED_OR_RESTARTED;
        }
      }
    }
    return switch (reach) {
      case ANSWERING -> Health.USABLE;
      case LEASE_EXPIRED, LEASE_MISSING, PROBES_FAILING -> Health.LEASE_OR_PROBES_FAILED;
      default -> Health.UNKNOWN;
    };
  }

  private Optional<ReplicationStatus> status(String engine, String volume) {
    Optional<Channel> ch = directory.probeTarget(engine).map(t -> t.channel());
    if (ch.isEmpty()) {
      return Optional.empty();
    }
    try {
      return Optional.of(stub(ch.get()).getReplicationStatus(request(volume)));
    } catch (StatusRuntimeException e) {
      log.debug("{}: {} did not answer its replication status: {}", volume, engine,
          e.getStatus());
      return Optional.empty();
    }
  }

  private static TargetReplicationGrpc.TargetReplicationBlockingStub stub(Channel ch) {
    return TargetReplicationGrpc.newBlockingStub(ch).withDeadlineAfter(CALL_DEADLINE.toMillis(),
        TimeUnit.MILLISECONDS);
  }

  private static GetReplicationStatusRequest request(String volume) {
    return GetReplicationStatusRequest.newBuilder().setVolume(volume).build();
  }

  /** A refused TCP connection (the process is gone, the host is up). */
  private static boolean refused(StatusRuntimeException e) {
    if (e.getStatus().getCode() != Status.Code.UNAVAILABLE) {
      return false;
    }
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof java.net.ConnectException
          || String.valueOf(t.getMessage()).contains("Connection refused")) {
        return true;
      }
    }
    return false;
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
