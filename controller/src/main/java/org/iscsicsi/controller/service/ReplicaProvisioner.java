package org.iscsicsi.controller.service;

import csi.v1.Csi;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.Function;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.engine.Engines;
import org.iscsicsi.controller.volume.ChapCredentials;
import org.iscsicsi.controller.volume.CsiErrors;
import org.iscsicsi.controller.volume.QosParameters;
import org.iscsicsi.controller.volume.VolumeId;
import org.iscsicsi.controller.volume.VolumeLabels;
import org.iscsicsi.controller.volume.VolumeParameters;
import org.iscsicsi.controller.volume.VolumeRecord;
import org.iscsicsi.target.kube.Membership;
import org.iscsicsi.target.kube.Membership.State;
import org.iscsicsi.target.kube.MembershipRefused;
import org.iscsicsi.target.kube.MembershipTransitions;
import org.iscsicsi.target.v1.CreateLunRequest;
import org.iscsicsi.target.v1.Lun;
import org.iscsicsi.target.v1.LunIdentity;
import org.iscsicsi.target.v1.LunQos;
import org.iscsicsi.target.v1.SetLunReplicationRequest;
import org.iscsicsi.target.v1.Target;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * CreateVolume and DeleteVolume of replicated volumes ({@code replicas} 2 or 3, pool mode;
 * docs/replication.md section 11). Create: on each of {@code replicas} distinct engines
 * ({@link Placement#members}, each admitted under its pool lock) the target with the same IQN
 * and CHAP credentials, the primary's LUN 0 in slot 1 first, then each other member's with the
 * primary's identity (NAA, serial) and its slot; then the membership (epoch 1, every member
 * InSync: new LUNs read as zeros everywhere) through {@link Memberships}; then SetLunReplication
 * on the members and last on the primary, whose links dial them at once. Only then is the
 * primary's target marked {@link ReplicaMembers#READY}; a failure deletes what was made, and a
 * target left unfinished by a crash is removed with its members by the next CreateVolume.
 * Delete: the members' targets, the membership, then the primary's target, so a retry after a
 * failure still finds the members through the primary's labels.
 */
final class ReplicaProvisioner {

  private static final Logger log = LoggerFactory.getLogger(ReplicaProvisioner.class);

  private final Engines engines;
  private final ControllerConfig config;
  private final VolumeFinder finder;
  private final GeneratedChap chap;
  private final Memberships memberships;
  private final Function<String, Object> poolLock;

  ReplicaProvisioner(Engines engines, ControllerConfig config, VolumeFinder finder,
      GeneratedChap chap, Memberships memberships, Function<String, Object> poolLock) {
    this.engines = engines;
    this.config = config;
    this.finder = finder;
    this.chap = chap;
    this.memberships = memberships;
    this.poolLock = poolLock;
  }

  /** What the new volume is. */
  record Request(VolumeId id, String name, String alias, long size, VolumeParameters params,
      String accessTypes, Map<String, String> secrets, QosParameters qos,
      Placement.Demand demand) {}

  /** One member made: its engine, slot and LUN. */
  private record Made(Engine engine, int slot, Lun lun) {}

  /** Why an engine cannot hold a member: it has no replication listener or does not say. */
  Optional<String> replicationUnavailable(Engine e) {
    try {
      return memberships.replicationAddress(e).isEmpty()
          ? Optional.of("has no replication listener (target-engine --replication)")
          : Optional.empty();
    } catch (StatusRuntimeException failed) {
      return Optional.of("did not report its replication address ("
          + failed.getStatus().getCode() + ": " + failed.getStatus().getDescription() + ")");
    }
  }

  /**
   * Makes the volume on the first engines of {@code candidates} that admit it.
   *
   * @param admission throws RESOURCE_EXHAUSTED when the volume may not go to an engine
   */
  Csi.Volume create(Request r, List<Engine> candidates, Consumer<Engine> admission) {
    memberships.requireAvailable();
    int replicas = r.params().pool().replicas();
    String iqn = r.id().iqn(config.iqnPrefix());
    Map<String, String> labels = new TreeMap<>(VolumeLabels.forVolume(config.driverName(),
        r.name(), r.params(), "", r.accessTypes()));
    boolean generated = r.params().chap() && !ChapCredentials.present(r.secrets());
    if (r.params().chap()) {
      labels.put(VolumeLabels.CHAP_CREDENTIALS,
          generated ? VolumeLabels.CHAP_GENERATED : VolumeLabels.CHAP_FROM_SECRETS);
    }
    labels.put(ReplicaMembers.REPLICATION, ReplicaMembers.PENDING);
    ChapCredentials credentials = !r.params().chap() ? null : generated
        ? chap.store().keep(r.name(), r.id(), chap.fresh(r.id(), iqn, r.params().mutualChap()))
        : ChapCredentials.fromSecrets(r.secrets());
    List<Made> made = new ArrayList<>();
    boolean membership = false;
    try {
      Map<String, String> refused = new LinkedHashMap<>();
      Lun primaryLun = null;
      for (Engine e : candidates) {
        if (made.size() == replicas) {
          break;
        }
        int slot = made.size() + 1;
        try {
          Lun lun = makeMember(e, iqn, slot, r, slot == 1 ? labels
              : ReplicaMembers.memberLabels(labels, config.driverName(), slot), credentials,
              primaryLun, admission);
          primaryLun = primaryLun == null ? lun : primaryLun;
          made.add(new Made(e, slot, lun));
        } catch (StatusRuntimeException ex) {
          if (!CsiErrors.is(ex, Status.Code.RESOURCE_EXHAUSTED)) {
            throw ex;
          }
          refused.put(e.name(), ex.getStatus().getDescription());
        }
      }
      if (made.size() < replicas) {
        throw CsiErrors.exhausted("volume \"" + r.name() + "\" needs " + replicas
            + " engines on distinct nodes, " + made.size() + " took a member; refused: "
            + refused);
      }
      List<String> names = made.stream().map(m -> m.engine().name()).toList();
      Engine primary = made.getFirst().engine();
      try {
        memberships.create(r.id().toString(), replicas, MembershipTransitions.create(
            primary.name(), names, State.InSync, replicas, Instant.now()));
        membership = true;
      } catch (MembershipRefused | io.fabric8.kubernetes.client.KubernetesClientException ex) {
        throw CsiErrors.unavailable("volume " + r.id() + ": its membership could not be "
            + "written to IscsiVolume " + r.id() + ": " + ex.getMessage());
      }
      Map<String, String> addresses = new LinkedHashMap<>();
      for (Made m : made) {
        addresses.put(m.engine().name(), memberships.replicationAddress(m.engine()));
      }
      for (Made m : made.reversed()) { // the members before the primary, whose links dial them
        SetLunReplicationRequest.Builder req = SetLunReplicationRequest.newBuilder()
            .setTarget(iqn).setLun(0).setVolume(r.id().toString());
        addresses.forEach((engine, address) -> {
          if (!engine.equals(m.engine().name())) {
            req.putMemberAddresses(engine, address);
          }
        });
        memberships.activate(m.engine(), req.build());
      }
      labels.put(ReplicaMembers.REPLICATION, ReplicaMembers.READY);
      labels.put(ReplicaMembers.MEMBERS, String.join(",", names));
      Target t = primary.client().setLabels(iqn, labels);
      finder.updated(primary, r.id(), t);
      log.info("created replicated volume {} ({} bytes) for {}: primary {}, members {}, NAA {}",
          r.id(), r.size(), r.name(), primary.name(), names, primaryLun.getNaa());
      return new VolumeRecord(r.id(), t).toCsi(ReplicaMembers.topologies(
          new Located(primary, new VolumeRecord(r.id(), t)), engines));
    } catch (RuntimeException e) {
      try {
        if (membership) {
          memberships.delete(r.id().toString());
        }
        for (Made m : made) {
          m.engine().client().deleteTarget(iqn, true);
        }
        if (generated) {
          chap.store().remove(r.name(), r.id());
        }
      } catch (RuntimeException cleanup) {
        e.addSuppressed(cleanup);
        log.error("CreateVolume {} failed and what it made could not all be removed", r.id(),
            cleanup);
      }
      throw e;
    }
  }

  /** The target, CHAP and LUN 0 of one member, under the engine's pool lock. */
  private Lun makeMember(Engine e, String iqn, int slot, Request r, Map<String, String> labels,
      ChapCredentials credentials, Lun primary, Consumer<Engine> admission) {
    synchronized (poolLock.apply(e.name())) {
      admission.accept(e);
      e.client().createTarget(iqn, r.alias(), labels);
      try {
        if (credentials != null) {
          e.client().setChap(credentials.toRequest(iqn));
        }
        CreateLunRequest.Builder lun = CreateLunRequest.newBuilder().setTarget(iqn).setLun(0)
            .setSizeBytes(r.size()).setBlockSize(r.params().blockSize())
            .setThick(r.params().thick()).setQos(r.qos().applyTo(LunQos.getDefaultInstance()))
            .setBackend(r.params().pool().backend().orElse("")).setPortSlot(slot);
        if (primary != null) {
          lun.setIdentity(LunIdentity.newBuilder().setNaa(primary.getNaa())
              .setSerial(primary.getSerial()));
        }
        return e.client().createLun(lun.build());
      } catch (RuntimeException ex) {
        try {
          e.client().deleteTarget(iqn, true);
        } catch (RuntimeException cleanup) {
          ex.addSuppressed(cleanup);
        }
        throw ex;
      }
    }
  }

  /**
   * Removes what an unfinished CreateVolume left: the membership and the volume's target on
   * every reachable engine (the members are not in the index).
   */
  void discard(VolumeId id) {
    String iqn = id.iqn(config.iqnPrefix());
    memberships.delete(id.toString());
    for (Engine e : engines.all()) {
      if (e.state().reachable() && e.client().findTarget(iqn).isPresent()) {
        e.client().deleteTarget(iqn, true);
        finder.removed(e, id);
      }
    }
  }

  /**
   * DeleteVolume of a replicated volume found on its primary: FAILED_PRECONDITION while any
   * member has sessions, UNAVAILABLE while a member's engine is unreachable (the sidecar
   * retries).
   */
  void delete(Located primary) {
    VolumeRecord v = primary.volume();
    List<Engine> others = ReplicaMembers.others(v, primary.engine(), engines, false);
    for (Engine e : others) {
      Optional<Target> t = e.client().findTarget(primary.iqn());
      if (t.isPresent() && t.get().getSessionCount() > 0) {
        throw CsiErrors.failedPrecondition("volume " + v.id() + " is in use: "
            + t.get().getSessionCount() + " iSCSI session(s) logged in to its member on engine "
            + e.name());
      }
    }
    for (Engine e : others) {
      e.client().deleteTarget(primary.iqn(), false);
    }
    memberships.delete(v.id().toString());
    primary.engine().client().deleteTarget(primary.iqn(), false);
    finder.removed(primary.engine(), v.id());
    log.info("deleted replicated volume {} from {} and {}", v.id(), primary.engine().name(),
        others.stream().map(Engine::name).toList());
  }

  /** The volume's condition: the engine's, else abnormal while a member is not InSync. */
  Csi.VolumeCondition condition(Located l) {
    Csi.VolumeCondition base = l.condition();
    if (base.getAbnormal() || !ReplicaMembers.replicated(l.volume())) {
      return base;
    }
    Optional<Membership> m;
    try {
      m = memberships.read(l.volume().id().toString());
    } catch (RuntimeException e) {
      return Csi.VolumeCondition.newBuilder().setAbnormal(true).setMessage("membership "
          + "unknown: IscsiVolume " + l.volume().id() + " could not be read: " + e.getMessage())
          .build();
    }
    return ReplicaMembers.abnormality(m)
        .map(why -> Csi.VolumeCondition.newBuilder().setAbnormal(true).setMessage(why).build())
        .orElse(base);
  }
}
