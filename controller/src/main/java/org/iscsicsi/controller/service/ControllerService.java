package org.iscsicsi.controller.service;

import csi.v1.ControllerGrpc;
import csi.v1.Csi;
import csi.v1.Csi.ControllerServiceCapability.RPC.Type;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import org.iscsicsi.controller.engine.EngineDirectory;
import org.iscsicsi.controller.engine.Engines;
import org.iscsicsi.csi.OperationLocks;

/**
 * The CSI Controller service (CSI spec, "Controller Service RPC"): request plumbing only; the
 * work is done by {@link Provisioner}, {@link Publisher} and {@link Snapshotter} on the engines.
 * ControllerModifyVolume ({@link Modifier}) changes a volume's I/O limits; group snapshots are
 * the {@link #groupController()} service's, snapshots' block metadata the
 * {@link #snapshotMetadata()} service's.
 * GetSnapshot is served but not advertised: GET_SNAPSHOT is newer than csi-sanity v5.4.0, which
 * fails on capabilities it does not know.
 */
public final class ControllerService extends ControllerGrpc.ControllerImplBase {

  static final List<Type> CAPABILITIES = List.of(
      Type.CREATE_DELETE_VOLUME,
      Type.PUBLISH_UNPUBLISH_VOLUME,
      Type.LIST_VOLUMES,
      Type.GET_CAPACITY,
      Type.CREATE_DELETE_SNAPSHOT,
      Type.LIST_SNAPSHOTS,
      Type.CLONE_VOLUME,
      Type.PUBLISH_READONLY,
      Type.EXPAND_VOLUME,
      Type.LIST_VOLUMES_PUBLISHED_NODES,
      Type.VOLUME_CONDITION,
      Type.GET_VOLUME,
      Type.SINGLE_NODE_MULTI_WRITER,
      Type.MODIFY_VOLUME);

  private final Provisioner provisioner;
  private final Publisher publisher;
  private final Snapshotter snapshotter;
  private final Modifier modifier;
  private final Drainer drainer;
  private final GroupControllerService groupController;
  private final SnapshotMetadataService snapshotMetadata;
  private final BooleanSupplier leading;
  private final Optional<PoolInventory> inventory;
  private final VolumeFinder finder;
  private final OperationLocks locks;

  private <T> void serve(StreamObserver<T> out, java.util.function.Supplier<T> body) {
    Calls.unary(out, () -> {
      if (!leading.getAsBoolean()) {
        throw io.grpc.Status.UNAVAILABLE
            .withDescription("this controller replica is not the leader").asRuntimeException();
      }
      return body.get();
    });
  }

  public ControllerService(Engines engines, ControllerConfig config) {
    this(engines, config, () -> true);
  }

  /**
   * A controller that serves only while {@code leading} says so (leader election among
   * replicas); otherwise calls are UNAVAILABLE, which the sidecars retry.
   */
  public ControllerService(Engines engines, ControllerConfig config, BooleanSupplier leading) {
    this(engines, config, leading, ClusterObjects.NONE);
  }

  /**
   * A controller that keeps generated CHAP credentials and PVC warnings in {@code cluster}.
   */
  public ControllerService(Engines engines, ControllerConfig config, BooleanSupplier leading,
      ClusterObjects cluster) {
    this.leading = leading;
    VolumeFinder finder = new VolumeFinder(engines, config, cluster.events(),
        cluster.memberships(), cluster.chapSecrets());
    this.finder = finder;
    this.inventory = engines.pooled()
        ? Optional.of(new PoolInventory(engines, config, finder.index())) : Optional.empty();
    if (engines instanceof EngineDirectory directory) {
      // the index hears joins, returns, restarts and losses as the directory sees them
      directory.addListener(finder.index()::engineChanged);
      directory.members().forEach(m -> finder.index().engineChanged(null, m));
    }
    OperationLocks locks = new OperationLocks();
    this.locks = locks;
    this.provisioner = new Provisioner(engines, config, finder, locks, cluster);
    this.drainer = new Drainer(engines, config, finder, locks,
        new CloneTransfer(Provisioner.CLONE_TRANSFER_TIMEOUT), cluster.events());
    this.publisher = new Publisher(engines, finder, locks, cluster.chapSecrets(), drainer);
    this.snapshotter = new Snapshotter(engines, config, finder, locks, drainer);
    this.modifier = new Modifier(finder, locks);
    this.groupController = new GroupControllerService(
        new GroupSnapshotter(config, finder, locks, snapshotter, drainer), leading);
    this.snapshotMetadata = new SnapshotMetadataService(finder, leading);
  }

  /** The GroupController service on the same volumes (group snapshots). */
  public GroupControllerService groupController() {
    return groupController;
  }

  /** The SnapshotMetadata service on the same snapshots (changed-block tracking). */
  public SnapshotMetadataService snapshotMetadata() {
    return snapshotMetadata;
  }

  /** Moves detached volumes off draining engines, one pass per call (pool mode). */
  public Drainer drainer() {
    return drainer;
  }

  /**
   * Settles replicated volumes' records on their primaries and equalizes their members' grants
   * every {@code interval} while {@code leading} (pool mode); close to stop.
   */
  public AutoCloseable replicaRecords(java.time.Duration interval, BooleanSupplier leading) {
    return finder.records().every(interval, leading, locks);
  }

  /** As {@link #replicaRecords(java.time.Duration, BooleanSupplier)}, every 5 s. */
  public AutoCloseable replicaRecords(BooleanSupplier leading) {
    return replicaRecords(ReplicaRecords.INTERVAL, leading);
  }

  /** The pool's volumes for background passes; empty unless the engines are a pool. */
  public Optional<PoolInventory> inventory() {
    return inventory;
  }

  @Override
  public void createVolume(Csi.CreateVolumeRequest req,
      StreamObserver<Csi.CreateVolumeResponse> out) {
    serve(out, () -> Csi.CreateVolumeResponse.newBuilder()
        .setVolume(provisioner.create(req)).build());
  }

  @Override
  public void deleteVolume(Csi.DeleteVolumeRequest req,
      StreamObserver<Csi.DeleteVolumeResponse> out) {
    serve(out, () -> {
      provisioner.delete(req);
      return Csi.DeleteVolumeResponse.getDefaultInstance();
    });
  }

  @Override
  public void controllerPublishVolume(Csi.ControllerPublishVolumeRequest req,
      StreamObserver<Csi.ControllerPublishVolumeResponse> out) {
    serve(out, () -> publisher.publish(req));
  }

  @Override
  public void controllerUnpublishVolume(Csi.ControllerUnpublishVolumeRequest req,
      StreamObserver<Csi.ControllerUnpublishVolumeResponse> out) {
    serve(out, () -> {
      publisher.unpublish(req);
      return Csi.ControllerUnpublishVolumeResponse.getDefaultInstance();
    });
  }

  @Override
  public void validateVolumeCapabilities(Csi.ValidateVolumeCapabilitiesRequest req,
      StreamObserver<Csi.ValidateVolumeCapabilitiesResponse> out) {
    serve(out, () -> provisioner.validate(req));
  }

  @Override
  public void listVolumes(Csi.ListVolumesRequest req,
      StreamObserver<Csi.ListVolumesResponse> out) {
    serve(out, () -> provisioner.list(req));
  }

  @Override
  public void getCapacity(Csi.GetCapacityRequest req,
      StreamObserver<Csi.GetCapacityResponse> out) {
    serve(out, () -> provisioner.capacity(req));
  }

  @Override
  public void controllerGetCapabilities(Csi.ControllerGetCapabilitiesRequest req,
      StreamObserver<Csi.ControllerGetCapabilitiesResponse> out) {
    Calls.unary(out, () -> {
      Csi.ControllerGetCapabilitiesResponse.Builder b =
          Csi.ControllerGetCapabilitiesResponse.newBuilder();
      for (Type t : CAPABILITIES) {
        b.addCapabilities(Csi.ControllerServiceCapability.newBuilder()
            .setRpc(Csi.ControllerServiceCapability.RPC.newBuilder().setType(t)));
      }
      return b.build();
    });
  }

  @Override
  public void createSnapshot(Csi.CreateSnapshotRequest req,
      StreamObserver<Csi.CreateSnapshotResponse> out) {
    serve(out, () -> Csi.CreateSnapshotResponse.newBuilder()
        .setSnapshot(snapshotter.create(req)).build());
  }

  @Override
  public void deleteSnapshot(Csi.DeleteSnapshotRequest req,
      StreamObserver<Csi.DeleteSnapshotResponse> out) {
    serve(out, () -> {
      snapshotter.delete(req);
      return Csi.DeleteSnapshotResponse.getDefaultInstance();
    });
  }

  @Override
  public void listSnapshots(Csi.ListSnapshotsRequest req,
      StreamObserver<Csi.ListSnapshotsResponse> out) {
    serve(out, () -> snapshotter.list(req));
  }

  @Override
  public void getSnapshot(Csi.GetSnapshotRequest req,
      StreamObserver<Csi.GetSnapshotResponse> out) {
    serve(out, () -> Csi.GetSnapshotResponse.newBuilder()
        .setSnapshot(snapshotter.get(req)).build());
  }

  @Override
  public void controllerExpandVolume(Csi.ControllerExpandVolumeRequest req,
      StreamObserver<Csi.ControllerExpandVolumeResponse> out) {
    serve(out, () -> provisioner.expand(req));
  }

  @Override
  public void controllerGetVolume(Csi.ControllerGetVolumeRequest req,
      StreamObserver<Csi.ControllerGetVolumeResponse> out) {
    serve(out, () -> provisioner.get(req));
  }

  @Override
  public void controllerModifyVolume(Csi.ControllerModifyVolumeRequest req,
      StreamObserver<Csi.ControllerModifyVolumeResponse> out) {
    serve(out, () -> modifier.modify(req));
  }
}
