package org.iscsicsi.controller.service;

import static org.assertj.core.api.Assertions.assertThat;

import csi.v1.ControllerGrpc;
import csi.v1.Csi;
import csi.v1.Csi.VolumeCapability.AccessMode.Mode;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.engine.EngineState;
import org.iscsicsi.controller.engine.EngineStatus;
import org.iscsicsi.controller.engine.Engines;
import org.iscsicsi.controller.volume.PoolLimits;
import org.iscsicsi.target.v1.PoolCapacity;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * GetCapacity per topology segment in a pool: over the schedulable engines reachable from the
 * segment (engines without topology count everywhere), available_capacity is the sum of their
 * rooms and maximum_volume_size the largest room, capped by the largest volume allowed; thin
 * room is what the overcommit ratio leaves, thick room also the free bytes; cordoned, draining,
 * unreachable and removing engines count for nothing and are not asked. Then the same through
 * the CSI service over real engines ({@link TestPool}): the segments' sums, a cordoned engine's
 * room gone, a stopped engine not failing the call, and unsupported capabilities 0. For
 * {@code replicas} copies: the sum divided by the count and the count-th largest room, nothing
 * with fewer engines than copies.
 */
class CapacityPerSegmentTest {

  static final long GI = 1L << 30;
  static final long MIB = 1 << 20;
  static final PoolLimits RATIO_1 = new PoolLimits(1, 0);

  @TempDir Path dir;

  private final Map<String, PoolCapacity> pools = new HashMap<>();

  private Engine engine(String name, Map<String, String> topology, long totalGi, long freeGi,
      long provisionedGi, EngineState state) {
    pools.put(name, PoolCapacity.newBuilder().setTotalBytes(totalGi * GI)
        .setAvailableBytes(freeGi * GI).setProvisionedBytes(provisionedGi * GI).build());
    return new Engine(name, null, topology, List.of())
        .withStatus(new EngineStatus(state, Instant.EPOCH, ""));
  }

  static Engines of(List<Engine> engines) {
    return new Engines() {
      @Override
      public List<Engine> all() {
        return engines;
      }

      @Override
      public Optional<Engine> byName(String name) {
        return engines.stream().filter(e -> e.name().equals(name)).findFirst();
      }

      @Override
      public void close() {}
    };
  }

  static Csi.Topology zone(String z) {
    return Csi.Topology.newBuilder().putSegments(Placement.ZONE_KEY, z).build();
  }

  private SegmentCapacity capacity(Engines engines, Csi.Topology segment, PoolLimits limits,
      boolean thick) {
    return SegmentCapacity.of(engines.schedulable(), Optional.ofNullable(segment), e -> {
      assertThat(e.state()).isEqualTo(EngineState.READY);
      return pools.get(e.name());
    }, limits, thick);
  }

  /** Sums and the largest room per segment, by kind of provisioning and volume size limit. */
  @Test
  void eachSegmentSumsItsSchedulableEnginesRooms() {
    Map<String, String> a = Map.of(Placement.ZONE_KEY, "a");
    Map<String, String> b = Map.of(Placement.ZONE_KEY, "b");
    Engines engines = of(List.of(
        engine("a1", a, 100, 20, 10, EngineState.READY),      // thin 90, thick 20
        engine("a2", a, 100, 60, 70, EngineState.READY),      // thin 30, thick 30
        engine("a3", a, 100, 100, 0, EngineState.CORDONED),
        engine("b1", b, 100, 80, 50, EngineState.READY),      // thin 50, thick 50
        engine("b2", b, 100, 100, 0, EngineState.DRAINING),
        engine("b3", b, 100, 100, 0, EngineState.UNREACHABLE),
        engine("b4", b, 100, 100, 0, EngineState.REMOVING),
        engine("any", Map.of(), 10, 10, 5, EngineState.READY))); // thin 5, thick 5
    assertThat(capacity(engines, zone("a"), RATIO_1, false))
        .isEqualTo(new SegmentCapacity(125 * GI, 90 * GI));
    assertThat(capacity(engines, zone("a"), RATIO_1, true))
        .isEqualTo(new SegmentCapacity(55 * GI, 30 * GI));
    assertThat(capacity(engines, zone("b"), RATIO_1, false))
        .isEqualTo(new SegmentCapacity(55 * GI, 50 * GI));
    assertThat(capacity(engines, zone("c"), RATIO_1, false))
        .isEqualTo(new SegmentCapacity(5 * GI, 5 * GI));
    assertThat(capacity(engines, null, RATIO_1, false))
        .isEqualTo(new SegmentCapacity(175 * GI, 90 * GI));
    assertThat(capacity(engines, zone("a"), new PoolLimits(1, 40 * GI), false))
        .isEqualTo(new SegmentCapacity(125 * GI, 40 * GI));
  }

  /** Through the CSI service on real engines in two zones. */
  @Test
  void getCapacityAnswersPerZoneOverRealEngines() throws Exception {
    try (TestPool pool = new TestPool(dir)) {
      pool.start("a1", Map.of(Placement.ZONE_KEY, "a"));
      pool.start("a2", Map.of(Placement.ZONE_KEY, "a"));
      pool.start("b1", Map.of(Placement.ZONE_KEY, "b"));
      String name = "capacity-" + UUID.randomUUID();
      Server server = InProcessServerBuilder.forName(name).directExecutor()
          .addService(new ControllerService(pool, ControllerConfig.defaults()
              .withLimits(RATIO_1))).build().start();
      ManagedChannel channel = InProcessChannelBuilder.forName(name).directExecutor().build();
      try {
        var csi = ControllerGrpc.newBlockingStub(channel);
        long total = pool.get("a1").client().capacity().getTotalBytes();
        csi.createVolume(ControllerFixture.createRequest("pvc-1", 64 * MIB)
            .setAccessibilityRequirements(Csi.TopologyRequirement.newBuilder()
                .addRequisite(zone("b"))).build());
        assertThat(capacity(csi, zone("a"))).isEqualTo(2 * total);
        assertThat(capacity(csi, zone("b"))).isEqualTo(total - 64 * MIB);
        assertThat(csi.getCapacity(Csi.GetCapacityRequest.newBuilder()
            .setAccessibleTopology(zone("a")).build()).getMaximumVolumeSize().getValue())
            .isEqualTo(total);

        pool.status("a2", EngineState.CORDONED, "");
        assertThat(capacity(csi, zone("a"))).isEqualTo(total);
        pool.stop("a1"); // the directory has not noticed yet: counted as full, no error
        assertThat(capacity(csi, zone("a"))).isZero();
        assertThat(capacity(csi, null)).isEqualTo(total - 64 * MIB);

        assertThat(csi.getCapacity(Csi.GetCapacityRequest.newBuilder()
            .addVolumeCapabilities(ControllerFixture.mount(Mode.MULTI_NODE_MULTI_WRITER))
            .build()).getAvailableCapacity()).isZero();
      } finally {
        channel.shutdownNow();
        server.shutdownNow();
      }
    }
  }

  private static long capacity(ControllerGrpc.ControllerBlockingStub csi, Csi.Topology segment) {
    Csi.GetCapacityRequest.Builder req = Csi.GetCapacityRequest.newBuilder()
        .putParameters("placement", "spreadZones");
    if (segment != null) {
      req.setAccessibleTopology(segment);
    }
    return csi.getCapacity(req.build()).getAvailableCapacity();
  }

  @Test
  void replicatedVolumesTakeOneRoomPerCopy() {
    List<Engine> three = List.of(
        engine("a", Map.of(), 100, 100, 40, EngineState.READY),
        engine("b", Map.of(), 100, 100, 10, EngineState.READY),
        engine("c", Map.of(), 100, 100, 70, EngineState.READY));
    java.util.function.Function<Engine, PoolCapacity> room = e -> pools.get(e.name());
    SegmentCapacity two = SegmentCapacity.of(three, Optional.empty(), room, RATIO_1,
        false, 2);
    assertThat(two.availableBytes()).isEqualTo((60 + 90 + 30) * GI / 2);
    assertThat(two.maximumVolumeBytes()).isEqualTo(60 * GI);
    assertThat(SegmentCapacity.of(three, Optional.empty(), room, RATIO_1, false, 3)
        .maximumVolumeBytes()).isEqualTo(30 * GI);
    assertThat(SegmentCapacity.of(three.subList(0, 1), Optional.empty(), room, RATIO_1,
        false, 2)).isEqualTo(SegmentCapacity.NONE);
  }
}
