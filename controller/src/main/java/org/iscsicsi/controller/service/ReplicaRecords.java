package org.iscsicsi.controller.service;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.engine.Engines;
import org.iscsicsi.controller.volume.VolumeLabels;
import org.iscsicsi.controller.volume.VolumeRecord;
import org.iscsicsi.csi.OperationLocks;
import org.iscsicsi.target.kube.Membership;
import org.iscsicsi.target.v1.InitiatorGrant;
import org.iscsicsi.target.v1.Lun;
import org.iscsicsi.target.v1.LunQos;
import org.iscsicsi.target.v1.Target;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a replicated volume's record on the engine that serves it (docs/replication.md section
 * 11). The record is the member target that carries the volume's labels ({@link
 * VolumeLabels#MANAGED_BY}, {@link ReplicaMembers#MEMBERS}): publish, unpublish and delete act on
 * it first, so its grants are the volume's. A failover makes another member primary; {@link
 * #settle} then moves the record there: the new primary's target gets the record's labels and
 * every grant of the record it lacks, and the old holder a member's labels as soon as it answers.
 * A volume whose first primary's engine is gone can so still be published to a new node (the
 * pod of a lost node starts elsewhere). {@link #equalize} makes each reachable member's grants
 * equal to the record's, for members that did not answer when a node was published or
 * unpublished; a member that missed a grant could not take over that node's paths, and one that
 * missed a revocation would let the node in after a failover. Its I/O limits are made equal to
 * the record's too, so a new primary enforces what the volume's class says.
 */
final class ReplicaRecords {

  private static final Logger log = LoggerFactory.getLogger(ReplicaRecords.class);

  /** How often the leader equalizes members' grants (and settles records after failovers). */
  static final Duration INTERVAL = Duration.ofSeconds(5);
  private static final String OPERATION = "replica grants";

  private final Engines engines;
  private final String driver;
  private final Memberships memberships;
  private final GeneratedChap chap;
  private final VolumeFinder finder;

  ReplicaRecords(Engines engines, String driver, Memberships memberships, GeneratedChap chap,
      VolumeFinder finder) {
    this.engines = engines;
    this.driver = driver;
    this.memberships = memberships;
    this.chap = chap;
    this.finder = finder;
  }

  /**
   * The volume as held by its primary: {@code l} itself unless it is a replicated volume whose
   * membership names another primary that answers, to which the record is then moved.
   */
  Located settle(Located l) {
    return ReplicaMembers.replicated(l.volume()) ? settle(l, primary(l.volume())) : l;
  }

  /** As {@link #settle(Located)}, with the membership's primary as already read. */
  private Located settle(Located l, Optional<String> primary) {
    VolumeRecord v = l.volume();
    if (!ReplicaMembers.replicated(v) || !ReplicaMembers.finished(v)) {
      return l;
    }
    if (primary.isEmpty() || primary.get().equals(l.engine().name())) {
      return l;
    }
    Optional<Engine> to = engines.byName(primary.get()).filter(e -> e.state().reachable());
    if (to.isEmpty()) {
      return l; // nothing better to act on: its callers say the holder is unreachable
    }
    String iqn = l.iqn();
    try {
      Optional<Target> there = to.get().client().findTarget(iqn);
      if (there.isEmpty()) {
        log.warn("volume {}: primary {} has no target {}; the record stays on {}", v.id(),
            primary.get(), iqn, l.engine().name());
        return l;
      }
      Target moved = there.get();
      if (!driver.equals(moved.getLabelsOrDefault(VolumeLabels.MANAGED_BY, ""))) {
        // the record moves: the old holder's grants are the volume's (publish acts there first)
        moved = to.get().client().setLabels(iqn, new TreeMap<>(v.target().getLabelsMap()));
        for (InitiatorGrant g : v.grants()) {
          if (!granted(moved, g)) {
            moved = to.get().client().grant(iqn, g.getInitiator(), g.getReadOnly());
          }
        }
        log.warn("volume {}: its record moved from {} to {}, its primary", v.id(),
            l.engine().name(), primary.get());
      }
      // else moved already; the old holder's grants may be stale, so none is taken from it
      finder.updated(to.get(), v.id(), moved);
      finder.removed(l.engine(), v.id());
      demote(l.engine(), v, moved);
      return new Located(to.get(), new VolumeRecord(v.id(), moved));
    } catch (StatusRuntimeException e) {
      if (!VolumeFinder.unanswered(e)) {
        throw e;
      }
      log.info("volume {}: primary {} did not answer ({}); the record stays on {}", v.id(),
          primary.get(), e.getStatus().getCode(), l.engine().name());
      return l;
    }
  }

  /**
   * Makes the grants of every reachable member but the holder equal to the holder's: missing
   * ones granted (with the volume's generated CHAP set again), extra ones revoked, which also
   * closes that initiator's sessions there. Call under the volume's operation lock.
   */
  void equalize(Located holder) {
    equalize(holder, holder.volume().lun().map(Lun::getQos).orElse(LunQos.getDefaultInstance()));
  }

  /** As {@link #equalize(Located)}, with {@code qos} as the record's I/O limits. */
  void equalize(Located holder, LunQos qos) {
    VolumeRecord v = holder.volume();
    if (!ReplicaMembers.replicated(v) || !ReplicaMembers.finished(v)) {
      return;
    }
    for (Engine member : ReplicaMembers.others(v, holder.engine(), engines, true)) {
      try {
        member.client().findTarget(holder.iqn()).ifPresent(t -> {
          equalize(holder, member, t);
          if (t.getLunsCount() > 0 && !t.getLuns(0).getQos().equals(qos)) {
            member.client().setLunQos(holder.iqn(), 0, qos);
            log.info("volume {}: I/O limits set on member {} as on its record", v.id(),
                member.name());
          }
        });
      } catch (StatusRuntimeException e) {
        if (!VolumeFinder.unanswered(e)) {
          throw e;
        }
        log.debug("volume {}: member {} did not answer; its grants are equalized later",
            v.id(), member.name());
      }
    }
  }

  private void equalize(Located holder, Engine member, Target t) {
    VolumeRecord v = holder.volume();
    String iqn = holder.iqn();
    demote(member, v, holder.volume().target());
    boolean granted = false;
    for (InitiatorGrant g : v.grants()) {
      if (!granted(t, g)) {
        member.client().grant(iqn, g.getInitiator(), g.getReadOnly());
        granted = true;
        log.info("volume {}: {} granted on member {}, which did not have it", v.id(),
            g.getInitiator(), member.name());
      }
    }
    if (granted && GeneratedChap.of(v)) {
      chap.apply(new Located(member, v));
    }
    List<String> wanted = v.grants().stream().map(InitiatorGrant::getInitiator).toList();
    for (InitiatorGrant g : t.getGrantsList()) {
      if (!wanted.contains(g.getInitiator())) {
        member.client().revoke(iqn, g.getInitiator());
        log.info("volume {}: {} revoked on member {}: the volume is not published to it",
            v.id(), g.getInitiator(), member.name());
      }
    }
  }

  /** Gives an engine's target that still carries the record a member's labels, if it answers. */
  private void demote(Engine engine, VolumeRecord v, Target record) {
    if (!engine.state().reachable()) {
      return; // demoted by a later pass, once it answers
    }
    try {
      Optional<Target> t = engine.client().findTarget(record.getName());
      if (t.isEmpty()
          || !driver.equals(t.get().getLabelsOrDefault(VolumeLabels.MANAGED_BY, ""))) {
        return;
      }
      Map<String, String> labels = ReplicaMembers.memberLabels(record.getLabelsMap(), driver,
          slot(v, engine.name()));
      engine.client().setLabels(record.getName(), labels);
      finder.removed(engine, v.id());
      log.info("volume {}: {} holds a member's target again, not the record", v.id(),
          engine.name());
    } catch (StatusRuntimeException e) {
      if (!VolumeFinder.unanswered(e)) {
        throw e;
      }
      log.debug("volume {}: {} did not answer; demoted later", v.id(), engine.name());
    }
  }

  /**
   * One pass over the replicated volumes the index knows: each one's record settled and its
   * members' grants equalized, under its operation lock (a volume busy with another call is
   * left to the next pass).
   */
  void pass(OperationLocks locks) {
    // one listing of the memberships per pass, not one read per volume
    Optional<Map<String, Membership>> listed = memberships.list();
    for (Map.Entry<String, Map<String, Target>> e : finder.index().placements().entrySet()) {
      boolean replicated = e.getValue().values().stream().anyMatch(t -> finder.index()
          .volumeId(t).map(id -> ReplicaMembers.replicated(new VolumeRecord(id, t)))
          .orElse(false));
      if (!replicated) {
        continue;
      }
      try (OperationLocks.Held held = locks.acquire(e.getKey(), OPERATION)) {
        finder.view(e.getKey())
            .map(l -> listed.isEmpty() ? settle(l) : settle(l,
                Optional.ofNullable(listed.get().get(e.getKey())).map(Membership::primary)))
            .filter(l -> l.engine().state().reachable())
            .ifPresent(this::equalize);
      } catch (StatusRuntimeException failed) {
        if (failed.getStatus().getCode() != Status.Code.ABORTED
            && !VolumeFinder.unanswered(failed)) {
          log.warn("volume {}: members' grants not equalized: {}", e.getKey(),
              failed.getStatus());
        }
      }
    }
  }

  /** Runs {@link #pass} every {@code interval} while {@code leading}; close to stop. */
  AutoCloseable every(Duration interval, BooleanSupplier leading, OperationLocks locks) {
    ScheduledExecutorService worker = Executors.newSingleThreadScheduledExecutor(
        r -> Thread.ofVirtual().name("replica-records").unstarted(r));
    worker.scheduleWithFixedDelay(() -> {
      if (!leading.getAsBoolean()) {
        return;
      }
      try {
        pass(locks);
      } catch (RuntimeException e) {
        log.warn("replica records pass failed: {}", e.toString());
      }
    }, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    return worker::shutdownNow;
  }

  private Optional<String> primary(VolumeRecord v) {
    try {
      return memberships.read(v.id().toString()).map(Membership::primary);
    } catch (RuntimeException e) { // the API server: act on the record where it is
      log.debug("volume {}: membership not read: {}", v.id(), e.toString());
      return Optional.empty();
    }
  }

  private static int slot(VolumeRecord v, String engine) {
    return ReplicaMembers.of(v).stream().filter(m -> m.engine().equals(engine))
        .mapToInt(ReplicaMembers.Member::slot).findFirst().orElse(0);
  }

  private static boolean granted(Target t, InitiatorGrant g) {
    return t.getGrantsList().stream().anyMatch(x -> x.getInitiator().equals(g.getInitiator())
        && x.getReadOnly() == g.getReadOnly());
  }
}
