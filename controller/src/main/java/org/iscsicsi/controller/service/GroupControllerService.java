package org.iscsicsi.controller.service;

import csi.v1.Csi;
import csi.v1.GroupControllerGrpc;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The CSI GroupController service (CSI spec, "Group Controller Service RPC"): request plumbing
 * only; {@link GroupSnapshotter} takes the snapshots. Served by the leader only, like the
 * Controller service.
 */
public final class GroupControllerService extends GroupControllerGrpc.GroupControllerImplBase {

  private final GroupSnapshotter groups;
  private final BooleanSupplier leading;

  GroupControllerService(GroupSnapshotter groups, BooleanSupplier leading) {
    this.groups = groups;
    this.leading = leading;
  }

  private <T> void serve(StreamObserver<T> out, Supplier<T> body) {
    Calls.unary(out, () -> {
      if (!leading.getAsBoolean()) {
        throw Status.UNAVAILABLE.withDescription("this controller replica is not the leader")
            .asRuntimeException();
      }
      return body.get();
    });
  }

  @Override
  public void groupControllerGetCapabilities(Csi.GroupControllerGetCapabilitiesRequest req,
      StreamObserver<Csi.GroupControllerGetCapabilitiesResponse> out) {
    Calls.unary(out, () -> Csi.GroupControllerGetCapabilitiesResponse.newBuilder()
        .addCapabilities(Csi.GroupControllerServiceCapability.newBuilder()
            .setRpc(Csi.GroupControllerServiceCapability.RPC.newBuilder().setType(
                Csi.GroupControllerServiceCapability.RPC.Type
                    .CREATE_DELETE_GET_VOLUME_GROUP_SNAPSHOT)))
        .build());
  }

  @Override
  public void createVolumeGroupSnapshot(Csi.CreateVolumeGroupSnapshotRequest req,
      StreamObserver<Csi.CreateVolumeGroupSnapshotResponse> out) {
    serve(out, () -> Csi.CreateVolumeGroupSnapshotResponse.newBuilder()
        .setGroupSnapshot(groups.create(req)).build());
  }

  @Override
  public void deleteVolumeGroupSnapshot(Csi.DeleteVolumeGroupSnapshotRequest req,
      StreamObserver<Csi.DeleteVolumeGroupSnapshotResponse> out) {
    serve(out, () -> {
      groups.delete(req);
      return Csi.DeleteVolumeGroupSnapshotResponse.getDefaultInstance();
    });
  }

  @Override
  public void getVolumeGroupSnapshot(Csi.GetVolumeGroupSnapshotRequest req,
      StreamObserver<Csi.GetVolumeGroupSnapshotResponse> out) {
    serve(out, () -> Csi.GetVolumeGroupSnapshotResponse.newBuilder()
        .setGroupSnapshot(groups.get(req)).build());
  }
}
