package org.iscsicsi.target.admin;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.iscsicsi.target.registry.LunIdentity;
import org.iscsicsi.target.registry.LunSpec;
import org.iscsicsi.target.registry.LunStatus;
import org.iscsicsi.target.registry.PoolStatus;
import org.iscsicsi.target.registry.RegistryException;
import org.iscsicsi.target.registry.SnapshotRequest;
import org.iscsicsi.target.registry.TargetRegistry;
import org.iscsicsi.target.session.SessionInfo;
import org.iscsicsi.target.state.SnapshotRecord;
import org.iscsicsi.target.state.TargetRecord;
import org.iscsicsi.target.v1.ChapSettings;
import org.iscsicsi.target.v1.CloseSessionsRequest;
import org.iscsicsi.target.v1.CloseSessionsResponse;
import org.iscsicsi.target.v1.Connection;
import org.iscsicsi.target.v1.SetAluaStatesRequest;
import org.iscsicsi.target.v1.CreateLunRequest;
import org.iscsicsi.target.v1.CreateSnapshotGroupRequest;
import org.iscsicsi.target.v1.CreateSnapshotRequest;
import org.iscsicsi.target.v1.CreateTargetRequest;
import org.iscsicsi.target.v1.DeleteLunRequest;
import org.iscsicsi.target.v1.DeleteLunResponse;
import org.iscsicsi.target.v1.DeleteSnapshotRequest;
import org.iscsicsi.target.v1.DeleteSnapshotResponse;
import org.iscsicsi.target.v1.DeleteTargetRequest;
import org.iscsicsi.target.v1.DeleteTargetResponse;
import org.iscsicsi.target.v1.BackendCapacity;
import org.iscsicsi.target.v1.BlockRange;
import org.iscsicsi.target.v1.EngineInfo;
import org.iscsicsi.target.v1.GetEngineInfoRequest;
import org.iscsicsi.target.v1.GetPoolCapacityRequest;
import org.iscsicsi.target.v1.GetSnapshotBlocksRequest;
import org.iscsicsi.target.v1.GetTargetRequest;
import org.iscsicsi.target.v1.GrantInitiatorRequest;
import org.iscsicsi.target.v1.InitiatorGrant;
import org.iscsicsi.target.v1.ListSessionsRequest;
import org.iscsicsi.target.v1.ListSessionsResponse;
import org.iscsicsi.target.v1.ListSnapshotsRequest;
import org.iscsicsi.target.v1.ListSnapshotsResponse;
import org.iscsicsi.target.v1.ListTargetsRequest;
import org.iscsicsi.target.v1.ListTargetsResponse;
import org.iscsicsi.target.v1.Lun;
import org.iscsicsi.target.v1.LunRef;
import org.iscsicsi.target.v1.LunStatistics;
import org.iscsicsi.target.v1.PoolCapacity;
import org.iscsicsi.target.v1.ResizeLunRequest;
import org.iscsicsi.target.v1.RevokeInitiatorRequest;
import org.iscsicsi.target.v1.Session;
import org.iscsicsi.target.v1.SessionStatistics;
import org.iscsicsi.target.v1.SetChapRequest;
import org.iscsicsi.target.v1.SetLunQosRequest;
import org.iscsicsi.target.v1.SnapshotBlocks;
import org.iscsicsi.target.v1.SnapshotGroup;
import org.iscsicsi.target.v1.SetTargetLabelsRequest;
import org.iscsicsi.target.v1.Snapshot;
import org.iscsicsi.target.v1.Target;
import org.iscsicsi.target.v1.TargetAdminGrpc;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code target.v1.TargetAdmin} gRPC service: a thin translation between proto messages and
 * {@link TargetRegistry}, with registry refusals mapped onto the status codes the proto's header
 * lists. Responses never carry a CHAP secret (only user names).
 */
public final class TargetAdminService extends TargetAdminGrpc.TargetAdminImplBase {

  private static final Logger log = LoggerFactory.getLogger(TargetAdminService.class);

  /** What the engine says about itself in GetEngineInfo. */
  public interface EngineFacts {
    String version();

    List<String> portals();

    boolean serving();

    /** The engine's name, fixed for its state directory. */
    String name();

    /** This start's random id. */
    String incarnation();

    /** The Kubernetes node, or "". */
    String node();

    Map<String, String> topologyLabels();

    /** host:port of the replication listener, "" when there is none. */
    default String replicationAddress() {
      return "";
    }
  }

  /** Tells which LUNs a replicated volume's membership manages (their ALUA states follow it). */
  public interface ManagedLuns {
    boolean managed(String target, int lun);
  }

  private final TargetRegistry registry;
  private final EngineFacts facts;
  private final ManagedLuns managed;

  public TargetAdminService(TargetRegistry registry, EngineFacts facts) {
    this(registry, facts, (t, l) -> false);
  }

  public TargetAdminService(TargetRegistry registry, EngineFacts facts, ManagedLuns managed) {
    this.registry = registry;
    this.facts = facts;
    this.managed = managed;
  }

  @Override
  public void getEngineInfo(GetEngineInfoRequest req, StreamObserver<EngineInfo> out) {
    call(out, () -> EngineInfo.newBuilder()
        .setVersion(facts.version())
        .addAllPortals(facts.portals())
        .setServing(facts.serving())
        .setTargetCount(registry.targets().size())
        .setSessionCount(registry.sessions().size())
        .setName(facts.name())
        .setIncarnation(facts.incarnation())
        .setNode(facts.node())
        .putAllTopology(facts.topologyLabels())
        .setReplicationAddress(facts.replicationAddress())
        .addAllBackends(backends())
        .build());
  }

  private List<BackendCapacity> backends() {
    return registry.backends().stream().map(b -> BackendCapacity.newBuilder().setName(b.name())
        .setType(b.type()).setTotalBytes(b.totalBytes()).setAvailableBytes(b.availableBytes())
        .setProvisionedBytes(b.provisionedBytes()).setAllocatedBytes(b.allocatedBytes()).build())
        .toList();
  }

  @Override
  public void getPoolCapacity(GetPoolCapacityRequest req, StreamObserver<PoolCapacity> out) {
    call(out, () -> {
      PoolStatus p = registry.pool();
      return PoolCapacity.newBuilder().setAvailableBytes(p.availableBytes())
          .setTotalBytes(p.totalBytes()).setProvisionedBytes(p.provisionedBytes())
          .setAllocatedBytes(p.allocatedBytes()).addAllBackends(backends()).build();
    });
  }

  @Override
  public void createTarget(CreateTargetRequest req, StreamObserver<Target> out) {
    call(out, () -> toProto(registry.createTarget(req.getName(), req.getAlias(),
        req.getLabelsMap(), req.getParametersMap(), req.getPortalGroupTag())));
  }

  @Override
  public void getTarget(GetTargetRequest req, StreamObserver<Target> out) {
    call(out, () -> toProto(registry.getTarget(req.getName())));
  }

  @Override
  public void listTargets(ListTargetsRequest req, StreamObserver<ListTargetsResponse> out) {
    call(out, () -> {
      var b = ListTargetsResponse.newBuilder();
      for (TargetRecord t : registry.listTargets(req.getLabelSelectorMap())) {
        try {
          b.addTargets(toProto(t));
        } catch (RegistryException e) {
          if (e.reason() != RegistryException.Reason.NOT_FOUND) {
            throw e;
          }
          // deleted while we were listing: leave it out
        }
      }
      return b.build();
    });
  }

  @Override
  public void deleteTarget(DeleteTargetRequest req, StreamObserver<DeleteTargetResponse> out) {
    call(out, () -> {
      registry.deleteTarget(req.getName(), req.getForce());
      return DeleteTargetResponse.getDefaultInstance();
    });
  }

  @Override
  public void setTargetLabels(SetTargetLabelsRequest req, StreamObserver<Target> out) {
    call(out, () -> toProto(registry.setLabels(req.getName(), req.getLabelsMap())));
  }

  @Override
  public void createLun(CreateLunRequest req, StreamObserver<Lun> out) {
    call(out, () -> {
      LunSpec.Source source = switch (req.getSourceCase()) {
        case SNAPSHOT_ID -> new LunSpec.FromSnapshot(req.getSnapshotId());
        case CLONE_OF -> new LunSpec.CloneOf(req.getCloneOf().getTarget(),
            req.getCloneOf().getLun());
        case SOURCE_NOT_SET -> new LunSpec.Empty();
      };
      var rec = registry.createLun(new LunSpec(req.getTarget(), req.getLun(), req.getSizeBytes(),
          req.getBlockSize(), req.getThick(), req.getReadOnly(), source,
          QosMessages.limits(req.getQos()), req.hasIdentity()
              ? new LunIdentity.Identity(req.getIdentity().getSerial(), req.getIdentity().getNaa())
              : null, req.getBackend(), req.getPortSlot()));
      return toProto(registry.lunStatus(req.getTarget(), rec.lun()));
    });
  }

  @Override
  public void resizeLun(ResizeLunRequest req, StreamObserver<Lun> out) {
    call(out, () -> {
      registry.resizeLun(req.getTarget(), req.getLun(), req.getSizeBytes());
      return toProto(registry.lunStatus(req.getTarget(), req.getLun()));
    });
  }

  @Override
  public void setLunQos(SetLunQosRequest req, StreamObserver<Lun> out) {
    call(out, () -> {
      registry.setLunQos(req.getTarget(), req.getLun(), QosMessages.limits(req.getQos()));
      return toProto(registry.lunStatus(req.getTarget(), req.getLun()));
    });
  }

  @Override
  public void setAluaStates(SetAluaStatesRequest req, StreamObserver<Lun> out) {
    call(out, () -> {
      if (managed.managed(req.getTarget(), req.getLun())) {
        throw new RegistryException(RegistryException.Reason.FAILED_PRECONDITION, "LUN "
            + req.getLun() + " of " + req.getTarget() + " is replicated: its ALUA states "
            + "follow the IscsiVolume's membership");
      }
      registry.setAluaStates(req.getTarget(), req.getLun(),
          AluaMessages.states(req.getStatesMap()));
      return toProto(registry.lunStatus(req.getTarget(), req.getLun()));
    });
  }

  @Override
  public void deleteLun(DeleteLunRequest req, StreamObserver<DeleteLunResponse> out) {
    call(out, () -> {
      registry.deleteLun(req.getTarget(), req.getLun());
      return DeleteLunResponse.getDefaultInstance();
    });
  }

  @Override
  public void grantInitiator(GrantInitiatorRequest req, StreamObserver<Target> out) {
    call(out, () -> toProto(registry.grant(req.getTarget(), req.getInitiator(),
        req.getReadOnly())));
  }

  @Override
  public void revokeInitiator(RevokeInitiatorRequest req, StreamObserver<Target> out) {
    call(out, () -> toProto(registry.revoke(req.getTarget(), req.getInitiator())));
  }

  @Override
  public void setChap(SetChapRequest req, StreamObserver<Target> out) {
    call(out, () -> toProto(registry.setChap(req.getTarget(), req.getUser(),
        bytes(req.getPasswordBytes()), req.getMutualUser(), bytes(req.getMutualPasswordBytes()))));
  }

  @Override
  public void listSessions(ListSessionsRequest req, StreamObserver<ListSessionsResponse> out) {
    call(out, () -> ListSessionsResponse.newBuilder()
        .addAllSessions(registry.sessionsOf(req.getTarget(), req.getInitiator()).stream()
            .map(TargetAdminService::toProto).toList())
        .build());
  }

  @Override
  public void closeSessions(CloseSessionsRequest req, StreamObserver<CloseSessionsResponse> out) {
    call(out, () -> {
      registry.getTarget(req.getTarget()); // NOT_FOUND / INVALID_ARGUMENT
      return CloseSessionsResponse.newBuilder()
          .setClosed(registry.closeSessions(req.getTarget(), req.getInitiator())).build();
    });
  }

  @Override
  public void createSnapshot(CreateSnapshotRequest req, StreamObserver<Snapshot> out) {
    call(out, () -> toProto(registry.createSnapshot(req.getId(), req.getSource().getTarget(),
        req.getSource().getLun(), req.getLabelsMap())));
  }

  @Override
  public void createSnapshotGroup(CreateSnapshotGroupRequest req,
      StreamObserver<SnapshotGroup> out) {
    call(out, () -> {
      List<SnapshotRequest> members = req.getMembersList().stream()
          .map(m -> new SnapshotRequest(m.getId(), m.getSource().getTarget(),
              m.getSource().getLun(), m.getLabelsMap()))
          .toList();
      SnapshotGroup.Builder b = SnapshotGroup.newBuilder();
      registry.createSnapshotGroup(members).forEach(s -> b.addSnapshots(toProto(s)));
      return b.build();
    });
  }

  @Override
  public void getSnapshotBlocks(GetSnapshotBlocksRequest req, StreamObserver<SnapshotBlocks> out) {
    call(out, () -> {
      TargetRegistry.SnapshotBlockList list = registry.snapshotBlocks(req.getBaseSnapshotId(),
          req.getSnapshotId(), req.getStartingOffset(), req.getMaxRanges());
      SnapshotBlocks.Builder b = SnapshotBlocks.newBuilder().setSizeBytes(list.sizeBytes())
          .setBlockSize(list.blockSize());
      list.ranges().forEach(r -> b.addRanges(BlockRange.newBuilder().setOffset(r[0])
          .setLength(r[1])));
      return b.build();
    });
  }

  @Override
  public void deleteSnapshot(DeleteSnapshotRequest req,
      StreamObserver<DeleteSnapshotResponse> out) {
    call(out, () -> {
      registry.deleteSnapshot(req.getId());
      return DeleteSnapshotResponse.getDefaultInstance();
    });
  }

  @Override
  public void listSnapshots(ListSnapshotsRequest req, StreamObserver<ListSnapshotsResponse> out) {
    call(out, () -> ListSnapshotsResponse.newBuilder()
        .addAllSnapshots(registry.listSnapshots(req.getId(),
            req.hasSource() ? req.getSource().getTarget() : "",
            req.hasSource() ? req.getSource().getLun() : 0).stream().map(this::toProto).toList())
        .build());
  }

  // ---- mapping ----

  private Target toProto(TargetRecord t) {
    var b = Target.newBuilder()
        .setName(t.name())
        .setAlias(t.alias())
        .setPortalGroupTag(t.portalGroupTag())
        .putAllLabels(t.labels())
        .putAllParameters(t.parameters())
        .setSessionCount(registry.sessionsOf(t.name(), null).size());
    for (var g : t.grants()) {
      b.addGrants(InitiatorGrant.newBuilder().setInitiator(g.initiator())
          .setReadOnly(g.readOnly()));
    }
    var chap = ChapSettings.newBuilder();
    if (t.incomingChap() != null) {
      chap.setUser(t.incomingChap().user());
    }
    if (t.outgoingChap() != null) {
      chap.setMutualUser(t.outgoingChap().user());
    }
    b.setChap(chap);
    for (LunStatus l : registry.lunStatuses(t.name())) {
      b.addLuns(toProto(l));
    }
    return b.build();
  }

  private static Lun toProto(LunStatus s) {
    var d = s.definition();
    var c = s.counters();
    var b = Lun.newBuilder();
    if (d.qos() != null) {
      b.setQos(QosMessages.toProto(d.qos()));
    }
    if (s.throttled() != null) {
      b.setQosStatistics(QosMessages.toProto(s.throttled()));
    }
    if (d.alua() != null) {
      b.setPortSlot(d.alua().slot()).putAllAluaStates(AluaMessages.toProto(d.alua().states()));
    }
    return b
        .setTarget(s.target())
        .setLun(d.lun())
        .setSizeBytes(d.sizeBytes())
        .setBlockSize(d.blockSize())
        .setThin(d.thin())
        .setReadOnly(d.readOnly())
        .setSerial(d.serial())
        .setNaa(d.naa())
        .setPath(d.file())
        .setAllocatedBytes(s.allocatedBytes())
        .setStatistics(LunStatistics.newBuilder().setReadOps(c.readOps())
            .setWriteOps(c.writeOps()).setReadBytes(c.readBytes()).setWriteBytes(c.writeBytes()))
        .setCondition(s.condition())
        .build();
  }

  private Snapshot toProto(SnapshotRecord s) {
    return Snapshot.newBuilder()
        .setId(s.id())
        .setSource(LunRef.newBuilder().setTarget(s.sourceTarget()).setLun(s.sourceLun()))
        .setSizeBytes(s.sizeBytes())
        .setCreatedUnixNanos(s.createdUnixNanos())
        .setPath(s.file())
        .putAllLabels(s.labels())
        .setAllocatedBytes(registry.snapshotAllocatedBytes(s))
        .build();
  }

  private static Session toProto(SessionInfo s) {
    var b = Session.newBuilder()
        .setTarget(nullToEmpty(s.targetName()))
        .setInitiator(nullToEmpty(s.initiatorName()))
        .setIsid(HexFormat.of().toHexDigits(s.isid()).substring(4))
        .setTsih(s.tsih())
        .setReadOnly(s.readOnly())
        .setDiscovery(s.discovery());
    for (var c : s.connections()) {
      b.addConnections(Connection.newBuilder().setCid(c.cid())
          .setRemoteAddress(nullToEmpty(c.remoteAddress()))
          .setLocalAddress(nullToEmpty(c.localAddress()))
          .setHeaderDigest(c.headerDigest()).setDataDigest(c.dataDigest()));
    }
    var k = s.counters();
    if (k != null) {
      b.setStatistics(SessionStatistics.newBuilder().setTxdataOctets(k.txdataOctets())
          .setRxdataOctets(k.rxdataOctets()).setScsicmdPdus(k.scsicmdPdus())
          .setDataoutPdus(k.dataoutPdus()).setR2TPdus(k.r2tPdus())
          .setDigestErrors(k.digestErrors()).setTimeouts(k.timeouts()));
    }
    return b.build();
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }

  private static byte[] bytes(ByteString s) {
    return s.toByteArray();
  }

  /** Runs one unary call, mapping refusals to status codes and anything else to INTERNAL. */
  private static <T> void call(StreamObserver<T> out, ThrowingSupplier<T> body) {
    T result;
    try {
      result = body.get();
    } catch (RegistryException e) {
      out.onError(toStatus(e));
      return;
    } catch (StatusRuntimeException e) {
      out.onError(e);
      return;
    } catch (RuntimeException e) {
      log.error("admin call failed", e);
      out.onError(Status.INTERNAL.withDescription(e.toString()).asRuntimeException());
      return;
    }
    out.onNext(result);
    out.onCompleted();
  }

  /** The status a registry refusal answers with, for the engine's other gRPC services. */
  public static StatusRuntimeException status(RegistryException e) {
    return toStatus(e);
  }

  static StatusRuntimeException toStatus(RegistryException e) {
    Function<Status, Status> d = s -> s.withDescription(e.getMessage());
    Status s = switch (e.reason()) {
      case INVALID_ARGUMENT -> Status.INVALID_ARGUMENT;
      case NOT_FOUND -> Status.NOT_FOUND;
      case ALREADY_EXISTS -> Status.ALREADY_EXISTS;
      case FAILED_PRECONDITION -> Status.FAILED_PRECONDITION;
      case RESOURCE_EXHAUSTED -> Status.RESOURCE_EXHAUSTED;
      case OUT_OF_RANGE -> Status.OUT_OF_RANGE;
      case INTERNAL -> Status.INTERNAL;
    };
    if (e.reason() == RegistryException.Reason.INTERNAL) {
      log.error("admin call failed: {}", e.getMessage(), e.getCause());
    }
    return d.apply(s).asRuntimeException();
  }

  @FunctionalInterface
  private interface ThrowingSupplier<T> {
    T get();
  }
}
