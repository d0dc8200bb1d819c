package org.iscsicsi.controller.identity;

import com.google.protobuf.BoolValue;
import csi.v1.Csi;
import csi.v1.IdentityGrpc;
import io.grpc.stub.StreamObserver;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.engine.Engines;
import org.iscsicsi.controller.service.Calls;
import org.iscsicsi.csi.contract.PluginCapabilities;

/**
 * The CSI Identity service (CSI spec, "Identity Service RPC"): the driver's name and version, its
 * capabilities (controller service, topology constraints, online expansion) and readiness, which
 * is true only once every target engine accepts iSCSI logins (in a pool, every engine not known
 * to be unreachable: one engine away must not make the controller look dead).
 */
public final class IdentityService extends IdentityGrpc.IdentityImplBase {

  private final DriverInfo info;
  private final Engines engines;

  public IdentityService(DriverInfo info, Engines engines) {
    this.info = info;
    this.engines = engines;
  }

  @Override
  public void getPluginInfo(Csi.GetPluginInfoRequest req,
      StreamObserver<Csi.GetPluginInfoResponse> out) {
    Calls.unary(out, () -> Csi.GetPluginInfoResponse.newBuilder().setName(info.name())
        .setVendorVersion(info.version()).build());
  }

  @Override
  public void getPluginCapabilities(Csi.GetPluginCapabilitiesRequest req,
      StreamObserver<Csi.GetPluginCapabilitiesResponse> out) {
    Calls.unary(out, () -> PluginCapabilities.ALL);
  }

  @Override
  public void probe(Csi.ProbeRequest req, StreamObserver<Csi.ProbeResponse> out) {
    Calls.unary(out, () -> {
      if (engines.pooled()) {
        // pool engines come and go (their states are the directory's); no engine call here,
        // so a silent engine cannot make the liveness probe restart the controller
        return Csi.ProbeResponse.newBuilder().setReady(BoolValue.of(true)).build();
      }
      boolean ready = !engines.all().isEmpty();
      for (Engine e : engines.all()) {
        if (engines.pooled() && !e.state().reachable()) {
          continue; // the pool serves on without it; its volumes report the engine's state
        }
        ready &= e.client().info().getServing();
      }
      return Csi.ProbeResponse.newBuilder().setReady(BoolValue.of(ready)).build();
    });
  }
}
