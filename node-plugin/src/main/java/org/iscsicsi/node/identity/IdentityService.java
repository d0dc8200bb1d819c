package org.iscsicsi.node.identity;

import com.google.protobuf.BoolValue;
import csi.v1.Csi;
import csi.v1.IdentityGrpc;
import io.grpc.stub.StreamObserver;
import java.util.function.BooleanSupplier;
import org.iscsicsi.csi.contract.PluginCapabilities;

/**
 * The CSI Identity service of the node plugin (CSI spec, "Identity Service RPC"): the driver name
 * and version, the driver's plugin capabilities, and a Probe that reports ready once start-up is
 * done.
 *
 * <p>GetPluginCapabilities answers for the plugin "as a whole": the spec (GetPluginCapabilities)
 * requires every instance of one version to return the same set, "regardless of which RPCs an
 * instance is serving". So the node plugin reports the driver's one set
 * ({@link PluginCapabilities}) although it serves no Controller RPC itself.
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
    out.onNext(CAPABILITIES);
    out.onCompleted();
  }

  /** The driver's plugin capabilities, the same as the controller's IdentityService reports. */
  public static final Csi.GetPluginCapabilitiesResponse CAPABILITIES = PluginCapabilities.ALL;

  @Override
  public void probe(Csi.ProbeRequest req, StreamObserver<Csi.ProbeResponse> out) {
    out.onNext(Csi.ProbeResponse.newBuilder()
        .setReady(BoolValue.of(ready.getAsBoolean())).build());
    out.onCompleted();
  }
}
