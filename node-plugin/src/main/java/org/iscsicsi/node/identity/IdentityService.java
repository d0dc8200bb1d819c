package org.iscsicsi.node.identity;

import com.google.protobuf.BoolValue;
import csi.v1.Csi;
import csi.v1.IdentityGrpc;
import io.grpc.stub.StreamObserver;
import java.util.function.BooleanSupplier;

/**
 * The CSI Identity service of the node plugin (CSI spec, "Identity Service RPC"): the driver name
 * and version, no controller capability, and a Probe that reports ready once start-up is done.
 */
public final class IdentityService extends IdentityGrpc.IdentityImplBase {

  private final String driverName;
  private final String version;
  private final BooleanSupplier ready;

  public IdentityService(String driverName, String version, BooleanSupplier ready) {
    this.driverName = driverName;
    this.version = version;
    this.ready = ready;
  }

  @Override
  public void getPluginInfo(Csi.GetPluginInfoRequest req,
      StreamObserver<Csi.GetPluginInfoResponse> out) {
    out.onNext(Csi.GetPluginInfoResponse.newBuilder().setName(driverName)
        .setVendorVersion(version).build());
    out.onCompleted();
  }

  @Override
  public void getPluginCapabilities(Csi.GetPluginCapabilitiesRequest req,
      StreamObserver<Csi.GetPluginCapabilitiesResponse> out) {
    // The node plugin serves no Controller service; online expansion is the controller's to say.
    out.onNext(Csi.GetPluginCapabilitiesResponse.getDefaultInstance());
    out.onCompleted();
  }

  @Override
  public void probe(Csi.ProbeRequest req, StreamObserver<Csi.ProbeResponse> out) {
    out.onNext(Csi.ProbeResponse.newBuilder()
        .setReady(BoolValue.of(ready.getAsBoolean())).build());
    out.onCompleted();
  }
}
