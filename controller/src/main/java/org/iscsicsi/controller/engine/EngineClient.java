package org.iscsicsi.controller.engine;

import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.target.v1.CloseSessionsRequest;
import org.iscsicsi.target.v1.CreateLunRequest;
import org.iscsicsi.target.v1.CreateSnapshotGroupRequest;
import org.iscsicsi.target.v1.CreateSnapshotRequest;
import org.iscsicsi.target.v1.CreateTargetRequest;
import org.iscsicsi.target.v1.DeleteSnapshotRequest;
import org.iscsicsi.target.v1.DeleteTargetRequest;
import org.iscsicsi.target.v1.EngineInfo;
import org.iscsicsi.target.v1.GetEngineInfoRequest;
import org.iscsicsi.target.v1.GetPoolCapacityRequest;
import org.iscsicsi.target.v1.GetSnapshotBlocksRequest;
import org.iscsicsi.target.v1.GetTargetRequest;
import org.iscsicsi.target.v1.GrantInitiatorRequest;
import org.iscsicsi.target.v1.ListSessionsRequest;
import org.iscsicsi.target.v1.ListSnapshotsRequest;
import org.iscsicsi.target.v1.ListTargetsRequest;
import org.iscsicsi.target.v1.Lun;
import org.iscsicsi.target.v1.LunQos;
import org.iscsicsi.target.v1.LunRef;
import org.iscsicsi.target.v1.PoolCapacity;
import org.iscsicsi.target.v1.ResizeLunRequest;
import org.iscsicsi.target.v1.SetLunQosRequest;
import org.iscsicsi.target.v1.RevokeInitiatorRequest;
import org.iscsicsi.target.v1.Session;
import org.iscsicsi.target.v1.SetChapRequest;
import org.iscsicsi.target.v1.SetTargetLabelsRequest;
import org.iscsicsi.target.v1.Snapshot;
import org.iscsicsi.target.v1.SnapshotBlocks;
import org.iscsicsi.target.v1.Target;
import org.iscsicsi.target.v1.TargetAdminGrpc;
import org.iscsicsi.target.v1.TargetTransferGrpc;
import org.iscsicsi.target.v1.Transfer;
import org.iscsicsi.target.v1.StartTransferRequest;
import org.iscsicsi.target.v1.GetTransferRequest;
import org.iscsicsi.target.v1.CancelTransferRequest;
import org.iscsicsi.target.v1.TargetAdminGrpc.TargetAdminBlockingStub;

/**
 * The controller's side of target.v1: every call the CSI services make to one target engine,
 * with a deadline, whether the engine runs in this process (in-process channel) or elsewhere
 * (TCP or unix socket). Engine errors pass through as the gRPC status the engine chose; they use
 * the same codes CSI prescribes (INVALID_ARGUMENT, NOT_FOUND, RESOURCE_EXHAUSTED, ...).
 */
public final class EngineClient {

  private final Channel channel;
  private final Duration timeout;

  public EngineClient(Channel channel, Duration timeout) {
    this.channel = channel;
    this.timeout = timeout;
  }

  private TargetTransferGrpc.TargetTransferBlockingStub transfers() {
    return TargetTransferGrpc.newBlockingStub(channel)
        .withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Starts (or finds, same id and request) a transfer this engine sends. */
  public Transfer startTransfer(StartTransferRequest request) {
    return transfers().startTransfer(request);
  }

  public Transfer transfer(String id) {
    return transfers().getTransfer(GetTransferRequest.newBuilder().setId(id).build());
  }

  public Transfer cancelTransfer(String id) {
    return transfers().cancelTransfer(CancelTransferRequest.newBuilder().setId(id).build());
  }

  private org.iscsicsi.target.v1.TargetReplicationGrpc.TargetReplicationBlockingStub
      replication() {
    return org.iscsicsi.target.v1.TargetReplicationGrpc.newBlockingStub(channel)
        .withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Makes a LUN replicated in the role its volume's membership gives this engine. */
  public org.iscsicsi.target.v1.ReplicationStatus setLunReplication(
      org.iscsicsi.target.v1.SetLunReplicationRequest request) {
    return replication().setLunReplication(request);
  }

  /** A replicated LUN's role, epochs and links as this engine sees them. */
  public org.iscsicsi.target.v1.ReplicationStatus replicationStatus(String iqn, int lun) {
    return replication().getReplicationStatus(
        org.iscsicsi.target.v1.GetReplicationStatusRequest.newBuilder().setTarget(iqn)
            .setLun(lun).build());
  }

  /** The same engine with another deadline per call (a short one for background passes). */
  public EngineClient withTimeout(Duration callTimeout) {
    return new EngineClient(channel, callTimeout);
  }

  private TargetAdminBlockingStub stub() {
    return TargetAdminGrpc.newBlockingStub(channel)
        .withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  public EngineInfo info() {
    return stub().getEngineInfo(GetEngineInfoRequest.getDefaultInstance());
  }

  public PoolCapacity capacity() {
    return stub().getPoolCapacity(GetPoolCapacityRequest.getDefaultInstance());
  }

  public Optional<Target> findTarget(String iqn) {
    try {
      return Optional.of(stub().getTarget(GetTargetRequest.newBuilder().setName(iqn).build()));
    } catch (StatusRuntimeException e) {
      if (e.getStatus().getCode() == Status.Code.NOT_FOUND) {
        return Optional.empty();
      }
      throw e;
    }
  }

  public List<Target> listTargets(Map<String, String> selector) {
    return stub().listTargets(ListTargetsRequest.newBuilder().putAllLabelSelector(selector)
        .build()).getTargetsList();
  }

  public Target createTarget(String iqn, String alias, Map<String, String> labels) {
    return stub().createTarget(CreateTargetRequest.newBuilder().setName(iqn).setAlias(alias)
        .putAllLabels(labels).build());
  }

  /** Deletes a target; a target that is already gone counts as deleted. */
  public void deleteTarget(String iqn, boolean force) {
    try {
      stub().deleteTarget(DeleteTargetRequest.newBuilder().setName(iqn).setForce(force).build());
    } catch (StatusRuntimeException e) {
      if (e.getStatus().getCode() != Status.Code.NOT_FOUND) {
        throw e;
      }
    }
  }

  public Target setLabels(String iqn, Map<String, String> labels) {
    return stub().setTargetLabels(SetTargetLabelsRequest.newBuilder().setName(iqn)
        .putAllLabels(labels).build());
  }

  public Lun createLun(CreateLunRequest request) {
    return stub().createLun(request);
  }

  public Lun resizeLun(String iqn, int lun, long sizeBytes) {
    return stub().resizeLun(ResizeLunRequest.newBuilder().setTarget(iqn).setLun(lun)
        .setSizeBytes(sizeBytes).build());
  }

  /** Replaces a LUN's I/O limits, live (target.v1 SetLunQos). */
  public Lun setLunQos(String iqn, int lun, LunQos qos) {
    return stub().setLunQos(SetLunQosRequest.newBuilder().setTarget(iqn).setLun(lun)
        .setQos(qos).build());
  }

  public Target grant(String iqn, String initiator, boolean readOnly) {
    return stub().grantInitiator(GrantInitiatorRequest.newBuilder().setTarget(iqn)
        .setInitiator(initiator).setReadOnly(readOnly).build());
  }

  public Target revoke(String iqn, String initiator) {
    return stub().revokeInitiator(RevokeInitiatorRequest.newBuilder().setTarget(iqn)
        .setInitiator(initiator).build());
  }

  public Target setChap(SetChapRequest request) {
    return stub().setChap(request);
  }

  public List<Session> sessions(String iqn) {
    return stub().listSessions(ListSessionsRequest.newBuilder().setTarget(iqn).build())
        .getSessionsList();
  }

  public int closeSessions(String iqn, String initiator) {
    return stub().closeSessions(CloseSessionsRequest.newBuilder().setTarget(iqn)
        .setInitiator(initiator).build()).getClosed();
  }

  public Snapshot createSnapshot(String id, String sourceIqn, Map<String, String> labels) {
    return stub().createSnapshot(CreateSnapshotRequest.newBuilder().setId(id)
        .setSource(LunRef.newBuilder().setTarget(sourceIqn).setLun(0)).putAllLabels(labels)
        .build());
  }

  /**
   * Snapshots LUN 0 of each target at one instant (the engine holds every member's writes until
   * the last copy); the snapshots come back in the order of {@code members}.
   */
  public List<Snapshot> createSnapshotGroup(List<SnapshotMember> members) {
    CreateSnapshotGroupRequest.Builder b = CreateSnapshotGroupRequest.newBuilder();
    for (SnapshotMember m : members) {
      b.addMembers(CreateSnapshotRequest.newBuilder().setId(m.id())
          .setSource(LunRef.newBuilder().setTarget(m.sourceIqn()).setLun(0))
          .putAllLabels(m.labels()));
    }
    return stub().createSnapshotGroup(b.build()).getSnapshotsList();
  }

  /**
   * Up to {@code maxRanges} block ranges of snapshot {@code id} from {@code start}: those holding
   * data, or with a {@code baseId} those differing from that snapshot.
   */
  public SnapshotBlocks snapshotBlocks(String baseId, String id, long start, int maxRanges) {
    return stub().getSnapshotBlocks(GetSnapshotBlocksRequest.newBuilder().setSnapshotId(id)
        .setBaseSnapshotId(baseId).setStartingOffset(start).setMaxRanges(maxRanges).build());
  }

  /** One member of a snapshot group: the snapshot's id and labels, the target it copies. */
  public record SnapshotMember(String id, String sourceIqn, Map<String, String> labels) {}

  /** Deletes a snapshot; one that is already gone counts as deleted. */
  public void deleteSnapshot(String id) {
    try {
      stub().deleteSnapshot(DeleteSnapshotRequest.newBuilder().setId(id).build());
    } catch (StatusRuntimeException e) {
      if (e.getStatus().getCode() != Status.Code.NOT_FOUND) {
        throw e;
      }
    }
  }

  public Optional<Snapshot> findSnapshot(String id) {
    return listSnapshots(ListSnapshotsRequest.newBuilder().setId(id).build()).stream()
        .filter(s -> s.getId().equals(id)).findFirst();
  }

  public List<Snapshot> listSnapshots(ListSnapshotsRequest request) {
    try {
      return stub().listSnapshots(request).getSnapshotsList();
    } catch (StatusRuntimeException e) {
      if (e.getStatus().getCode() == Status.Code.NOT_FOUND) {
        return List.of();
      }
      throw e;
    }
  }
}
