package org.iscsicsi.target.admin;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.function.Supplier;
import org.iscsicsi.target.kube.Membership;
import org.iscsicsi.target.registry.RegistryException;
import org.iscsicsi.target.replication.ReplicatedLuns;
import org.iscsicsi.target.replication.ReplicatedUnit;
import org.iscsicsi.target.v1.GetReplicationStatusRequest;
import org.iscsicsi.target.v1.ReplicaMemberStatus;
import org.iscsicsi.target.v1.ReplicaRebuild;
import org.iscsicsi.target.v1.ReplicaRole;
import org.iscsicsi.target.v1.ReplicationStatus;
import org.iscsicsi.target.v1.SetLunReplicationRequest;
import org.iscsicsi.target.v1.TargetReplicationGrpc;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** target.v1's TargetReplication service over the engine's {@link ReplicatedLuns}. */
public final class ReplicationAdminService extends TargetReplicationGrpc.TargetReplicationImplBase {

  private static final Logger log = LoggerFactory.getLogger(ReplicationAdminService.class);

  private final ReplicatedLuns luns;

  public ReplicationAdminService(ReplicatedLuns luns) {
    this.luns = luns;
  }

  @Override
  public void setLunReplication(SetLunReplicationRequest req,
      StreamObserver<ReplicationStatus> out) {
    call(out, () -> status(luns.configure(req), luns.self()));
  }

  @Override
  public void getReplicationStatus(GetReplicationStatusRequest req,
      StreamObserver<ReplicationStatus> out) {
    call(out, () -> status(req.getTarget().isEmpty() && !req.getVolume().isEmpty()
        ? luns.view(req.getVolume()) : luns.view(req.getTarget(), req.getLun()), luns.self()));
  }

  private static ReplicationStatus status(ReplicatedLuns.View v, String self) {
    SetLunReplicationRequest r = v.request();
    Membership m = v.membership();
    ReplicatedUnit u = v.primary();
    var b = ReplicationStatus.newBuilder().setVolume(r.getVolume()).setTarget(r.getTarget())
        .setLun(r.getLun()).setAcceptedEpoch(v.acceptedEpoch());
    if (v.notServing() != null) {
      b.setDetail(v.notServing());
    } else if (u != null && u.deposed() != null) {
      b.setDetail("no longer primary: " + u.deposed());
    }
    if (m == null) {
      return b.build();
    }
    boolean fenced = m.member(self).map(x -> x.state() == Membership.State.Fenced)
        .orElse(false);
    if (fenced) {
      b.setFenced(true);
      if (b.getDetail().isEmpty()) {
        b.setDetail("fenced: epoch " + m.epoch() + " has primary " + m.primary());
      }
    }
    b.setPrimarySilenceMs(v.primarySilenceMs());
    boolean primary = m.primary().equals(self);
    b.setRole(primary ? ReplicaRole.REPLICA_ROLE_PRIMARY : ReplicaRole.REPLICA_ROLE_MEMBER)
        .setEpoch(m.epoch()).setPrimary(m.primary()).setGeneration(m.generation());
    if (u != null) {
      // serving as initiators see it: the lease valid and the port's state applied
      b.setServing(u.serving() && v.portActive())
          .setLeaseLeftMs(u.lease().remaining().toMillis());
    }
    for (Membership.Member x : m.members()) {
      var mb = ReplicaMemberStatus.newBuilder().setEngine(x.engine()).setSlot(x.slot())
          .setState(x.state().name()).setLinked(u != null && u.linked(x.engine()));
      v.rebuild().filter(p -> p.member().equals(x.engine())).ifPresent(p -> mb.setRebuild(
          ReplicaRebuild.newBuilder().setMethod(p.method()).setDoneBytes(p.doneBytes())
              .setTotalBytes(p.totalBytes()).setStartedAt(p.startedAt().toString())
              .setOutcome(p.outcome() == null ? "" : p.outcome())));
      b.addMembers(mb);
    }
    return b.build();
  }

  private static <T> void call(StreamObserver<T> out, Supplier<T> body) {
    T result;
    try {
      result = body.get();
    } catch (RegistryException e) {
      out.onError(TargetAdminService.status(e));
      return;
    } catch (RuntimeException e) {
      log.error("replication call failed", e);
      out.onError(Status.INTERNAL.withDescription(e.toString()).asRuntimeException());
      return;
    }
    out.onNext(result);
    out.onCompleted();
  }
}
