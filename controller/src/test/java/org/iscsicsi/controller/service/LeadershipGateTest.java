package org.iscsicsi.controller.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iscsicsi.controller.service.GrpcAssert.assertCode;

import csi.v1.ControllerGrpc;
import csi.v1.Csi;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status.Code;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.util.concurrent.atomic.AtomicBoolean;
import org.iscsicsi.controller.engine.EngineSet;
import org.junit.jupiter.api.Test;

/**
 * A replica that does not hold the leader Lease answers every volume call UNAVAILABLE (the
 * sidecars retry) and serves again once it leads; capabilities are always answered.
 */
class LeadershipGateTest {

  @Test
  void onlyTheLeaderServesVolumeCalls() throws Exception {
    AtomicBoolean leading = new AtomicBoolean(false);
    try (EngineSet engines = new EngineSet()) {
      Server server = InProcessServerBuilder.forName("gate").directExecutor()
          .addService(new ControllerService(engines, ControllerConfig.defaults(), leading::get))
          .build().start();
      ManagedChannel ch = InProcessChannelBuilder.forName("gate").directExecutor().build();
      try {
        var stub = ControllerGrpc.newBlockingStub(ch);
        assertCode(() -> stub.listVolumes(Csi.ListVolumesRequest.getDefaultInstance()),
            Code.UNAVAILABLE);
        assertCode(() -> stub.deleteVolume(Csi.DeleteVolumeRequest.newBuilder()
            .setVolumeId("local.x").build()), Code.UNAVAILABLE);
        assertThat(stub.controllerGetCapabilities(
            Csi.ControllerGetCapabilitiesRequest.getDefaultInstance()).getCapabilitiesCount())
            .isPositive();
        leading.set(true);
        assertThat(stub.listVolumes(Csi.ListVolumesRequest.getDefaultInstance())
            .getEntriesList()).isEmpty();
      } finally {
        ch.shutdownNow();
        server.shutdownNow();
      }
    }
  }
}
