package org.iscsicsi.controller.identity;

import static org.assertj.core.api.Assertions.assertThat;

import csi.v1.Csi;
import csi.v1.IdentityGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.controller.engine.EmbeddedEngine;
import org.iscsicsi.controller.engine.EngineChannels;
import org.iscsicsi.controller.engine.EngineDirectory;
import org.iscsicsi.controller.engine.EngineObject;
import org.iscsicsi.controller.engine.EngineSet;
import org.iscsicsi.csi.HostPort;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Identity against the real embedded engine: the configured driver name, the build's version,
 * the three plugin capabilities, and Probe readiness that follows the engine's serving state.
 */
class IdentityServiceTest {

  @TempDir Path dir;

  @Test
  void describesTheDriverAndProbesTheEngine() throws Exception {
    try (EngineSet engines = new EngineSet()) {
      var engine = EmbeddedEngine.start(engines, "local", dir, new HostPort("127.0.0.1", 0),
          List.of(), Map.of(), Duration.ofSeconds(10));
      Server server = InProcessServerBuilder.forName("identity-test").directExecutor()
          .addService(new IdentityService(new DriverInfo("iscsi.example.org", "9.9"), engines))
          .build().start();
      ManagedChannel ch = InProcessChannelBuilder.forName("identity-test").directExecutor()
          .build();
      try {
        var stub = IdentityGrpc.newBlockingStub(ch);
        Csi.GetPluginInfoResponse info = stub.getPluginInfo(
            Csi.GetPluginInfoRequest.getDefaultInstance());
        assertThat(info.getName()).isEqualTo("iscsi.example.org");
        assertThat(info.getVendorVersion()).isEqualTo("9.9");
        assertThat(stub.getPluginCapabilities(Csi.GetPluginCapabilitiesRequest
            .getDefaultInstance()).getCapabilitiesList()).extracting(Object::toString)
            .anyMatch(s -> s.contains("CONTROLLER_SERVICE"))
            .anyMatch(s -> s.contains("VOLUME_ACCESSIBILITY_CONSTRAINTS"))
            .anyMatch(s -> s.contains("ONLINE"));
        assertThat(stub.probe(Csi.ProbeRequest.getDefaultInstance()).getReady().getValue())
            .isEqualTo(engine.client().info().getServing());
      } finally {
        ch.shutdownNow();
        server.shutdownNow();
      }
    }
  }

  /**
   * In pool mode Probe asks no engine (an engine that never answers must not make the liveness
   * probe restart the controller): ready at once, with an engine whose admin address is a
   * black hole in the directory.
   */
  @Test
  void poolModeProbeAsksNoEngine() throws Exception {
    EngineChannels blackHole = address -> {
      throw new AssertionError("Probe opened a channel to " + address);
    };
    try (EngineDirectory directory = new EngineDirectory(blackHole, Duration.ofMinutes(5),
        Clock.systemUTC())) {
      directory.observe(new EngineObject("node-a", "192.0.2.1:3262", "i1", List.of(),
          Map.of(), false, false, false));
      Server server = InProcessServerBuilder.forName("identity-pool").directExecutor()
          .addService(new IdentityService(new DriverInfo("iscsi.example.org", "9.9"),
              directory)).build().start();
      ManagedChannel ch = InProcessChannelBuilder.forName("identity-pool").directExecutor()
          .build();
      try {
        assertThat(IdentityGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
            .probe(Csi.ProbeRequest.getDefaultInstance()).getReady().getValue()).isTrue();
      } finally {
        ch.shutdownNow();
        server.shutdownNow();
      }
    }
  }

  @Test
  void theBuildStampsAVersion() {
    assertThat(DriverInfo.buildVersion()).isNotEmpty().doesNotContain("${");
  }
}
