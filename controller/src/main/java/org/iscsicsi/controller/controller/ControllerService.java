package org.iscsicsi.controller.controller;

import csi.v1.ControllerGrpc;
import csi.v1.Csi;
import csi.v1.Csi.ControllerServiceCapability.RPC.Type;
import io.grpc.stub.StreamObserver;
import java.util.List;
import org.iscsicsi.controller.engine.Engines;
import org.iscsicsi.controller.volume.CsiErrors;

/**
 * The CSI Controller service (CSI spec, "Controller Service RPC"): request plumbing only; the
 * work is done by {@link Provisioner}, {@link Publisher} and {@link Snapshotter} on the engines.
 * ControllerModifyVolume is not offered (no MODIFY_VOLUME capability): it answers UNIMPLEMENTED.
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
      Type.SINGLE_NODE_MULTI_WRITER);

  private final Provisioner provisioner;
  private final Publisher publisher;
  private final Snapshotter snapshotter;

  public ControllerService(Engines engines, ControllerConfig config) {
    VolumeFinder finder = new VolumeFinder(engines, config);
    OperationLocks locks = new OperationLocks();
    this.provisioner = new Provisioner(engines, config, finder, locks);
    this.publisher = new Publisher(finder, locks);
    this.snapshotter = new Snapshotter(engines, config, finder, locks);
  }

  @Override
  public void createVolume(Csi.CreateVolumeRequest req,
      StreamObserver<Csi.CreateVolumeResponse> out) {
    Calls.unary(out, () -> Csi.CreateVolumeResponse.newBuilder()
        .setVolume(provisioner.create(req)).build());
  }

  @Override
  public void deleteVolume(Csi.DeleteVolumeRequest req,
      StreamObserver<Csi.DeleteVolumeResponse> out) {
    Calls.unary(out, () -> {
      provisioner.delete(req);
      return Csi.DeleteVolumeResponse.getDefaultInstance();
    });
  }

  @Override
  public void controllerPublishVolume(Csi.ControllerPublishVolumeRequest req,
      StreamObserver<Csi.ControllerPublishVolumeResponse> out) {
    Calls.unary(out, () -> publisher.publish(req));
  }

  @Override
  public void controllerUnpublishVolume(Csi.ControllerUnpublishVolumeRequest req,
      StreamObserver<Csi.ControllerUnpublishVolumeResponse> out) {
    Calls.unary(out, () -> {
      publisher.unpublish(req);
      return Csi.ControllerUnpublishVolumeResponse.getDefaultInstance();
    });
  }

  @Override
  public void validateVolumeCapabilities(Csi.ValidateVolumeCapabilitiesRequest req,
      StreamObserver<Csi.ValidateVolumeCapabilitiesResponse> out) {
    Calls.unary(out, () -> provisioner.validate(req));
  }

  @Override
  public void listVolumes(Csi.ListVolumesRequest req,
      StreamObserver<Csi.ListVolumesResponse> out) {
    Calls.unary(out, () -> provisioner.list(req));
  }

  @Override
  public void getCapacity(Csi.GetCapacityRequest req,
      StreamObserver<Csi.GetCapacityResponse> out) {
    Calls.unary(out, () -> provisioner.capacity(req));
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
    Calls.unary(out, () -> Csi.CreateSnapshotResponse.newBuilder()
        .setSnapshot(snapshotter.create(req)).build());
  }

  @Override
  public void deleteSnapshot(Csi.DeleteSnapshotRequest req,
      StreamObserver<Csi.DeleteSnapshotResponse> out) {
    Calls.unary(out, () -> {
      snapshotter.delete(req);
      return Csi.DeleteSnapshotResponse.getDefaultInstance();
    });
  }

  @Override
  public void listSnapshots(Csi.ListSnapshotsRequest req,
      StreamObserver<Csi.ListSnapshotsResponse> out) {
    Calls.unary(out, () -> snapshotter.list(req));
  }

  @Override
  public void getSnapshot(Csi.GetSnapshotRequest req,
      StreamObserver<Csi.GetSnapshotResponse> out) {
    Calls.unary(out, () -> Csi.GetSnapshotResponse.newBuilder()
        .setSnapshot(snapshotter.get(req)).build());
  }

  @Override
  public void controllerExpandVolume(Csi.ControllerExpandVolumeRequest req,
      StreamObserver<Csi.ControllerExpandVolumeResponse> out) {
    Calls.unary(out, () -> provisioner.expand(req));
  }

  @Override
  public void controllerGetVolume(Csi.ControllerGetVolumeRequest req,
      StreamObserver<Csi.ControllerGetVolumeResponse> out) {
    Calls.unary(out, () -> provisioner.get(req));
  }

  @Override
  public void controllerModifyVolume(Csi.ControllerModifyVolumeRequest req,
      StreamObserver<Csi.ControllerModifyVolumeResponse> out) {
    Calls.unary(out, () -> {
      if (req.getVolumeId().isEmpty()) {
        throw CsiErrors.invalid("volume_id is required");
      }
      throw io.grpc.Status.UNIMPLEMENTED
          .withDescription("ControllerModifyVolume is not supported (no MODIFY_VOLUME)")
          .asRuntimeException();
    });
  }
}
