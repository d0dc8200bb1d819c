package org.iscsicsi.node.service;

import csi.v1.Csi;
import csi.v1.NodeGrpc;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.iscsicsi.csi.OperationLocks;
import org.iscsicsi.csi.UnaryCall;
import org.iscsicsi.csi.contract.PublishContext;
import org.iscsicsi.csi.exec.Args;
import org.iscsicsi.node.fs.Filesystems;
import org.iscsicsi.node.iscsi.InitiatorName;
import org.iscsicsi.node.preflight.Preflight;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CSI Node service (CSI spec v1.12, "Node Service RPC"): validates each request (every path
 * must lie below the kubelet directory, with no symbolic link in it: {@link KubeletDir}), holds
 * the volume's lock (ABORTED for a concurrent call on the same volume), and delegates to
 * {@link VolumeStager} and {@link VolumePublisher}. Errors leave as the status codes the spec
 * prescribes.
 */
public final class NodeService extends NodeGrpc.NodeImplBase {

  private static final Logger log = LoggerFactory.getLogger(NodeService.class);

  /** What NodeGetInfo reports. */
  public record Info(Map<String, String> topology, long maxVolumes, String defaultFsType) {
    public Info {
      topology = Map.copyOf(topology);
    }
  }

  private final VolumeStager stager;
  private final VolumePublisher publisher;
  private final InitiatorName initiatorName;
  private final Preflight preflight;
  private final Info info;
  private final OperationLocks locks = new OperationLocks();
  private final KubeletDir kubeletDir;

  public NodeService(VolumeStager stager, VolumePublisher publisher, InitiatorName initiatorName,
      Preflight preflight, Info info, KubeletDir kubeletDir) {
    this.kubeletDir = kubeletDir;
    this.stager = stager;
    this.publisher = publisher;
    this.initiatorName = initiatorName;
    this.preflight = preflight;
    this.info = info;
  }

  @Override
  public void nodeStageVolume(Csi.NodeStageVolumeRequest req,
      StreamObserver<Csi.NodeStageVolumeResponse> out) {
    call(out, () -> {
      String id = volumeId(req.getVolumeId());
      Path staging = path("staging_target_path", req.getStagingTargetPath());
      Csi.VolumeCapability cap = capability(req.hasVolumeCapability(), req.getVolumeCapability());
      boolean block = cap.hasBlock();
      String fsType = block ? "" : fsType(cap.getMount().getFsType(),
          req.getVolumeContextMap().getOrDefault(PublishContext.FS_TYPE, ""));
      List<String> flags = block ? List.of() : mountFlags(cap);
      boolean ro = readOnlyMode(cap)
          || "true".equals(req.getPublishContextMap().get(PublishContext.READ_ONLY));
      try (var lock = locks.acquire(id, "NodeStageVolume")) {
        stager.stage(new VolumeStager.StageRequest(id, staging, req.getPublishContextMap(),
            req.getSecretsMap(), block, fsType, flags, ro));
      }
      return Csi.NodeStageVolumeResponse.getDefaultInstance();
    });
  }

  @Override
  public void nodeUnstageVolume(Csi.NodeUnstageVolumeRequest req,
      StreamObserver<Csi.NodeUnstageVolumeResponse> out) {
    call(out, () -> {
      String id = volumeId(req.getVolumeId());
      Path staging = path("staging_target_path", req.getStagingTargetPath());
      try (var lock = locks.acquire(id, "NodeUnstageVolume")) {
        stager.unstage(id, staging);
      }
      return Csi.NodeUnstageVolumeResponse.getDefaultInstance();
    });
  }

  @Override
  public void nodePublishVolume(Csi.NodePublishVolumeRequest req,
      StreamObserver<Csi.NodePublishVolumeResponse> out) {
    call(out, () -> {
      String id = volumeId(req.getVolumeId());
      Path staging = path("staging_target_path", req.getStagingTargetPath());
      Path target = path("target_path", req.getTargetPath());
      Csi.VolumeCapability cap = capability(req.hasVolumeCapability(), req.getVolumeCapability());
      try (var lock = locks.acquire(id, "NodePublishVolume")) {
        publisher.publish(id, staging, target, cap.hasBlock(),
            req.getReadonly() || readOnlyMode(cap), cap.hasBlock() ? List.of() : mountFlags(cap));
      }
      return Csi.NodePublishVolumeResponse.getDefaultInstance();
    });
  }

  @Override
  public void nodeUnpublishVolume(Csi.NodeUnpublishVolumeRequest req,
      StreamObserver<Csi.NodeUnpublishVolumeResponse> out) {
    call(out, () -> {
      String id = volumeId(req.getVolumeId());
      Path target = path("target_path", req.getTargetPath());
      try (var lock = locks.acquire(id, "NodeUnpublishVolume")) {
        publisher.unpublish(id, target);
      }
      return Csi.NodeUnpublishVolumeResponse.getDefaultInstance();
    });
  }

  @Override
  public void nodeGetVolumeStats(Csi.NodeGetVolumeStatsRequest req,
      StreamObserver<Csi.NodeGetVolumeStatsResponse> out) {
    call(out, () -> {
      String id = volumeId(req.getVolumeId());
      Path path = volumePath(req.getVolumePath());
      VolumeStager.Stats s = stager.stats(id, path);
      Csi.NodeGetVolumeStatsResponse.Builder b = Csi.NodeGetVolumeStatsResponse.newBuilder();
      if (s.fs().isPresent()) {
        var st = s.fs().get();
        b.addUsage(Csi.VolumeUsage.newBuilder().setUnit(Csi.VolumeUsage.Unit.BYTES)
            .setTotal(st.totalBytes()).setAvailable(st.availableBytes()).setUsed(st.usedBytes()));
        b.addUsage(Csi.VolumeUsage.newBuilder().setUnit(Csi.VolumeUsage.Unit.INODES)
            .setTotal(st.totalInodes()).setAvailable(st.freeInodes()).setUsed(st.usedInodes()));
      } else if (s.deviceBytes() >= 0) {
        b.addUsage(Csi.VolumeUsage.newBuilder().setUnit(Csi.VolumeUsage.Unit.BYTES)
            .setTotal(s.deviceBytes()));
      }
      b.setVolumeCondition(Csi.VolumeCondition.newBuilder().setAbnormal(s.problem().isPresent())
          .setMessage(s.problem().orElse("healthy")));
      return b.build();
    });
  }

  @Override
  public void nodeExpandVolume(Csi.NodeExpandVolumeRequest req,
      StreamObserver<Csi.NodeExpandVolumeResponse> out) {
    call(out, () -> {
      String id = volumeId(req.getVolumeId());
      volumePath(req.getVolumePath());
      long required = req.getCapacityRange().getRequiredBytes();
      if (required < 0) {
        throw CsiException.invalid("capacity_range.required_bytes is negative");
      }
      try (var lock = locks.acquire(id, "NodeExpandVolume")) {
        long size = stager.expand(id, required);
        return Csi.NodeExpandVolumeResponse.newBuilder().setCapacityBytes(size).build();
      }
    });
  }

  @Override
  public void nodeGetCapabilities(Csi.NodeGetCapabilitiesRequest req,
      StreamObserver<Csi.NodeGetCapabilitiesResponse> out) {
    Csi.NodeGetCapabilitiesResponse.Builder b = Csi.NodeGetCapabilitiesResponse.newBuilder();
    for (var t : List.of(Csi.NodeServiceCapability.RPC.Type.STAGE_UNSTAGE_VOLUME,
        Csi.NodeServiceCapability.RPC.Type.EXPAND_VOLUME,
        Csi.NodeServiceCapability.RPC.Type.GET_VOLUME_STATS,
        Csi.NodeServiceCapability.RPC.Type.VOLUME_CONDITION,
        Csi.NodeServiceCapability.RPC.Type.SINGLE_NODE_MULTI_WRITER)) {
      b.addCapabilities(Csi.NodeServiceCapability.newBuilder()
          .setRpc(Csi.NodeServiceCapability.RPC.newBuilder().setType(t)));
    }
    out.onNext(b.build());
    out.onCompleted();
  }

  @Override
  public void nodeGetInfo(Csi.NodeGetInfoRequest req,
      StreamObserver<Csi.NodeGetInfoResponse> out) {
    call(out, () -> {
      String iqn;
      try {
        iqn = initiatorName.readOrCreate();
      } catch (IOException | IllegalArgumentException e) {
        throw new CsiException(Status.Code.FAILED_PRECONDITION, "no initiator name: "
            + e.getMessage() + "; host preflight: " + preflight.run(), e);
      }
      return Csi.NodeGetInfoResponse.newBuilder().setNodeId(iqn)
          .setMaxVolumesPerNode(info.maxVolumes())
          .setAccessibleTopology(Csi.Topology.newBuilder()
              .putAllSegments(info.topology()))
          .build();
    });
  }

  // --- validation helpers ----------------------------------------------------------------

  private static String volumeId(String id) throws CsiException {
    if (id.isEmpty()) {
      throw CsiException.invalid("volume_id is missing");
    }
    if (id.length() > 256 || id.chars().anyMatch(c -> c < 0x20)) {
      throw CsiException.invalid("volume_id is too long or contains control characters");
    }
    return id;
  }

  private Path path(String field, String value) throws CsiException {
    if (value.isEmpty()) {
      throw CsiException.invalid(field + " is missing");
    }
    return kubeletDir.requestPath(field, value);
  }

  /**
   * volume_path of NodeGetVolumeStats and NodeExpandVolume: missing is INVALID_ARGUMENT, but a
   * path that is not absolute and normalized cannot be where this plugin published a volume, so
   * the volume is not found there (CSI spec: NOT_FOUND, "not mounted at the specified path").
   * An absolute path outside the kubelet directory, or through a link, is INVALID_ARGUMENT.
   */
  private Path volumePath(String value) throws CsiException {
    if (value.isEmpty()) {
      throw CsiException.invalid("volume_path is missing");
    }
    try {
      Args.absolutePath("volume_path", value);
    } catch (IllegalArgumentException e) {
      throw new CsiException(Status.Code.NOT_FOUND, e.getMessage() + "; no volume is there");
    }
    return kubeletDir.requestPath("volume_path", value);
  }

  private static List<String> mountFlags(Csi.VolumeCapability cap) throws CsiException {
    List<String> flags = new ArrayList<>();
    for (String f : cap.getMount().getMountFlagsList()) {
      try {
        flags.add(Args.mountOption(f));
      } catch (IllegalArgumentException e) {
        throw CsiException.invalid(e.getMessage());
      }
    }
    return flags;
  }

  private static Csi.VolumeCapability capability(boolean present, Csi.VolumeCapability cap)
      throws CsiException {
    if (!present) {
      throw CsiException.invalid("volume_capability is missing");
    }
    if (!cap.hasBlock() && !cap.hasMount()) {
      throw CsiException.invalid("volume_capability has neither block nor mount access type");
    }
    var mode = cap.getAccessMode().getMode();
    switch (mode) {
      case SINGLE_NODE_WRITER, SINGLE_NODE_READER_ONLY, SINGLE_NODE_SINGLE_WRITER,
          SINGLE_NODE_MULTI_WRITER, MULTI_NODE_READER_ONLY -> { }
      case MULTI_NODE_SINGLE_WRITER, MULTI_NODE_MULTI_WRITER -> {
        if (cap.hasMount()) {
          throw CsiException.invalid("access mode " + mode + " is not supported with a"
              + " filesystem (ext4/xfs are not cluster filesystems); use block access");
        }
      }
      default -> throw CsiException.invalid("access mode " + mode + " is not supported");
    }
    return cap;
  }

  private static boolean readOnlyMode(Csi.VolumeCapability cap) {
    var m = cap.getAccessMode().getMode();
    return m == Csi.VolumeCapability.AccessMode.Mode.SINGLE_NODE_READER_ONLY
        || m == Csi.VolumeCapability.AccessMode.Mode.MULTI_NODE_READER_ONLY;
  }

  private String fsType(String requested, String fromContext) throws CsiException {
    String t = !requested.isEmpty() ? requested
        : !fromContext.isEmpty() ? fromContext : info.defaultFsType();
    t = t.toLowerCase(Locale.ROOT);
    if (!Filesystems.SUPPORTED.contains(t)) {
      throw CsiException.invalid("filesystem type '" + t + "' is not supported; use one of "
          + Filesystems.SUPPORTED);
    }
    return t;
  }

  private static <T> void call(StreamObserver<T> out, UnaryCall.Body<T, CsiException> call) {
    UnaryCall.answer(out, call, e -> {
      if (e.code() == Status.Code.INTERNAL || e.code() == Status.Code.UNAVAILABLE) {
        log.warn("{}", e.getMessage(), e.getCause());
      } else {
        log.info("{}: {}", e.code(), e.getMessage());
      }
      return e.toStatus();
    });
  }
}
