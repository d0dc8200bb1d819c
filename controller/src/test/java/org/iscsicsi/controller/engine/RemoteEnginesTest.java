package org.iscsicsi.controller.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import csi.v1.ControllerGrpc;
import csi.v1.Csi;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.iscsicsi.controller.service.ControllerConfig;
import org.iscsicsi.controller.service.ControllerService;
import org.iscsicsi.csi.Endpoint;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.engine.AdminAddress;
import org.iscsicsi.target.engine.EngineConfig;
import org.iscsicsi.target.engine.TargetEngine;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Beyond one process: the controller drives a second, real target engine over target.v1 on TCP
 * (and the embedded one in process) and places volumes by topology: a requisite topology picks the
 * engine that reaches it, volume ids name that engine, GetCapacity counts only engines reachable
 * from the asked topology, and a topology no engine reaches is RESOURCE_EXHAUSTED.
 */
class RemoteEnginesTest {

  @TempDir Path dir;

  static Csi.Topology zone(String z) {
    return Csi.Topology.newBuilder().putSegments("topology.kubernetes.io/zone", z).build();
  }

  @Test
  void volumesGoToTheEngineTheTopologyAsksFor() throws Exception {
    try (TargetEngine remote = TargetEngine.start(EngineConfig.of(dir.resolve("remote"))
            .withPortal(new HostPort("127.0.0.1", 0))
            .withAdmin(AdminAddress.tcp("127.0.0.1", 0)));
        EngineSet engines = new EngineSet()) {
      EmbeddedEngine.start(engines, "near", dir.resolve("near"), new HostPort("127.0.0.1", 0),
          List.of(), Map.of("topology.kubernetes.io/zone", "a"), Duration.ofSeconds(30));
      RemoteEngine link = RemoteEngine.connect(
          new Endpoint.Tcp("127.0.0.1", remote.adminTcpAddress().getPort()));
      Engine far = new Engine("far", new EngineClient(link.channel(), Duration.ofSeconds(30)),
          Map.of("topology.kubernetes.io/zone", "b"), List.of());
      engines.add(far, link);

      Server server = InProcessServerBuilder.forName("remote-test").directExecutor()
          .addService(new ControllerService(engines, ControllerConfig.defaults())).build()
          .start();
      ManagedChannel ch = InProcessChannelBuilder.forName("remote-test").directExecutor()
          .build();
      try {
        var stub = ControllerGrpc.newBlockingStub(ch);
        Csi.Volume v = stub.createVolume(Csi.CreateVolumeRequest.newBuilder().setName("pvc-b")
            .setCapacityRange(Csi.CapacityRange.newBuilder().setRequiredBytes(1 << 20))
            .addVolumeCapabilities(Csi.VolumeCapability.newBuilder()
                .setBlock(Csi.VolumeCapability.BlockVolume.getDefaultInstance())
                .setAccessMode(Csi.VolumeCapability.AccessMode.newBuilder()
                    .setMode(Csi.VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER)))
            .setAccessibilityRequirements(Csi.TopologyRequirement.newBuilder()
                .addRequisite(zone("b")))
            .build()).getVolume();
        assertThat(v.getVolumeId()).isEqualTo("far.pvc-b");
        assertThat(v.getAccessibleTopologyList()).containsExactly(zone("b"));
        assertThat(remote.registry().listTargets(Map.of())).extracting(t -> t.name())
            .containsExactly("iqn.2026-11.org.iscsicsi:far.pvc-b");

        Csi.ControllerPublishVolumeResponse pub = stub.controllerPublishVolume(
            Csi.ControllerPublishVolumeRequest.newBuilder().setVolumeId(v.getVolumeId())
                .setNodeId("iqn.2026-11.org.example:node-b")
                .setVolumeCapability(Csi.VolumeCapability.newBuilder()
                    .setBlock(Csi.VolumeCapability.BlockVolume.getDefaultInstance())
                    .setAccessMode(Csi.VolumeCapability.AccessMode.newBuilder()
                        .setMode(Csi.VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER)))
                .build());
        assertThat(pub.getPublishContextOrThrow("portals"))
            .isEqualTo(remote.iscsiAddress().toString());

        long zoneA = stub.getCapacity(Csi.GetCapacityRequest.newBuilder()
            .setAccessibleTopology(zone("a")).build()).getAvailableCapacity();
        long all = stub.getCapacity(Csi.GetCapacityRequest.getDefaultInstance())
            .getAvailableCapacity();
        assertThat(zoneA).isPositive().isLessThan(all);
        assertThat(stub.getCapacity(Csi.GetCapacityRequest.newBuilder()
            .setAccessibleTopology(zone("c")).build()).getAvailableCapacity()).isZero();

        assertThatThrownBy(() -> stub.createVolume(Csi.CreateVolumeRequest.newBuilder()
            .setName("pvc-c").addVolumeCapabilities(Csi.VolumeCapability.newBuilder()
                .setBlock(Csi.VolumeCapability.BlockVolume.getDefaultInstance())
                .setAccessMode(Csi.VolumeCapability.AccessMode.newBuilder()
                    .setMode(Csi.VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER)))
            .setAccessibilityRequirements(Csi.TopologyRequirement.newBuilder()
                .addRequisite(zone("c"))).build()))
            .isInstanceOf(StatusRuntimeException.class)
            .extracting(e -> ((StatusRuntimeException) e).getStatus().getCode())
            .isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      } finally {
        ch.shutdownNow();
        server.shutdownNow();
      }
    }
  }
}
