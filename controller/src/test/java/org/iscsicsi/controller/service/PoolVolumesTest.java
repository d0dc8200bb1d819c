package org.iscsicsi.controller.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.iscsicsi.controller.service.ControllerFixture.NODE_A;
import static org.iscsicsi.controller.service.ControllerFixture.createRequest;
import static org.iscsicsi.controller.service.ControllerFixture.mount;
import static org.iscsicsi.controller.service.GrpcAssert.assertCode;

import csi.v1.ControllerGrpc;
import csi.v1.Csi;
import csi.v1.Csi.VolumeCapability.AccessMode.Mode;
import csi.v1.GroupControllerGrpc;
import csi.v1.IdentityGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status.Code;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.engine.EngineState;
import org.iscsicsi.controller.identity.DriverInfo;
import org.iscsicsi.controller.identity.IdentityService;
import org.iscsicsi.controller.volume.PoolLimits;
import org.iscsicsi.target.v1.Target;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pool mode end to end in one process: the CSI Controller service over three real embedded
 * target engines behind {@link TestPool} (the directory is a stand-in, the engines are real).
 * Pins: {@code pool.<local>} ids and IQNs; 30 volumes spread by least allocated and by zone; a
 * full engine's next volume lands elsewhere and a requisite topology with only full engines is
 * refused naming the reason; concurrent creates never over-promise an engine; an engine marked
 * unreachable and really stopped leaves its volumes in ListVolumes and ControllerGetVolume as
 * abnormal, answers UNAVAILABLE naming it to publish, unpublish, delete, expand and snapshot,
 * takes no new volume, and the other engines serve on; Probe stays ready; its volumes resume
 * when it is back; a new ControllerService (a controller restart) finds every volume and
 * snapshot; the embedded default refuses the pool parameters.
 */
class PoolVolumesTest {

  static final long MIB = 1 << 20;
  static final Map<String, String> ZONE_A = Map.of(TestPool.ZONE, "a");
  static final Map<String, String> ZONE_B = Map.of(TestPool.ZONE, "b");

  @TempDir Path dir;
  TestPool pool;
  Server server;
  ManagedChannel channel;
  ControllerGrpc.ControllerBlockingStub csi;
  IdentityGrpc.IdentityBlockingStub identity;
  GroupControllerGrpc.GroupControllerBlockingStub groups;

  @BeforeEach
  void startPool() {
    pool = new TestPool(dir);
  }

  @AfterEach
  void stop() throws InterruptedException {
    stopController();
    pool.close();
  }

  /** A controller on the pool (again: a restart of the controller, the engines kept). */
  void startController(ControllerConfig config) throws IOException, InterruptedException {
    stopController();
    String name = "pool-" + UUID.randomUUID();
    ControllerService service = new ControllerService(pool, config);
    server = InProcessServerBuilder.forName(name).directExecutor()
        .addService(service)
        .addService(service.groupController())
        .addService(new IdentityService(new DriverInfo(config.driverName(), "test"), pool))
        .build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    csi = ControllerGrpc.newBlockingStub(channel);
    identity = IdentityGrpc.newBlockingStub(channel);
    groups = GroupControllerGrpc.newBlockingStub(channel);
  }

  void stopController() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow();
      server.shutdownNow();
      server.awaitTermination(5, TimeUnit.SECONDS);
      channel = null;
    }
  }

  /** Engines e1 and e2 in zone a, e3 in zone b, and a controller on them. */
  void startTwoZones() throws IOException, InterruptedException {
    pool.start("e1", ZONE_A);
    pool.start("e2", ZONE_A);
    pool.start("e3", ZONE_B);
    startController(ControllerConfig.defaults());
  }

  Csi.Volume create(String name, Map<String, String> params) {
    return csi.createVolume(createRequest(name, MIB).putAllParameters(params).build())
        .getVolume();
  }

  /** Which engine holds each volume id, read from the engines themselves. */
  Map<String, String> holders() {
    Map<String, String> out = new HashMap<>();
    for (Engine e : pool.all()) {
      if (pool.engine(e.name()) == null) {
        continue;
      }
      for (var t : pool.engine(e.name()).registry().listTargets(Map.of())) {
        out.put(t.name().substring(t.name().indexOf(':') + 1), e.name());
      }
    }
    return out;
  }

  static Map<String, Long> perEngine(Map<String, String> holders) {
    return holders.values().stream().collect(Collectors.groupingBy(e -> e,
        Collectors.counting()));
  }

  /** Volume ids are pool ids, their targets {@code <prefix>:pool.<local>}, spread evenly. */
  @Test
  void thirtyVolumesSpreadOverTheLeastAllocatedEngines() throws Exception {
    startTwoZones();
    for (int i = 0; i < 30; i++) {
      Csi.Volume v = create("pvc-" + i, Map.of());
      assertThat(v.getVolumeId()).isEqualTo("pool.pvc-" + i);
    }
    Map<String, String> holders = holders();
    assertThat(holders).hasSize(30).containsKey("pool.pvc-7");
    assertThat(perEngine(holders)).isEqualTo(Map.of("e1", 10L, "e2", 10L, "e3", 10L));
    Target t = pool.get("e1").client().listTargets(Map.of()).getFirst();
    assertThat(t.getName()).startsWith("iqn.2026-11.org.iscsicsi:pool.pvc-");
    // a retry finds the volume wherever it went
    assertThat(create("pvc-7", Map.of()).getVolumeId()).isEqualTo("pool.pvc-7");
    assertThat(holders()).hasSize(30);
  }

  /** spreadZones fills the zones evenly (zone a has two engines, zone b one). */
  @Test
  void spreadZonesBalancesTheZonesNotTheEngines() throws Exception {
    startTwoZones();
    for (int i = 0; i < 30; i++) {
      create("pvc-" + i, Map.of("placement", "spreadZones"));
    }
    Map<String, Long> counts = perEngine(holders());
    assertThat(counts.get("e3")).isEqualTo(15L);
    assertThat(counts.get("e1") + counts.get("e2")).isEqualTo(15L);
    assertThat(Math.abs(counts.get("e1") - counts.get("e2"))).isLessThanOrEqualTo(1);
  }

  /**
   * With the overcommit ratio 1, an engine whose pool is promised away is skipped even when the
   * preferred topology names it; a requisite topology with only that engine is refused with its
   * reason.
   */
  @Test
  void aFullEnginesNextVolumeLandsElsewhere() throws Exception {
    Engine e1 = pool.start("e1", ZONE_A);
    pool.start("e2", ZONE_B);
    pool.start("e3", ZONE_B);
    startController(ControllerConfig.defaults().withLimits(new PoolLimits(1, 0)));
    long total = e1.client().capacity().getTotalBytes();
    Csi.TopologyRequirement onlyA = Csi.TopologyRequirement.newBuilder()
        .addRequisite(topology(ZONE_A)).build();
    csi.createVolume(createRequest("pvc-big", (total - MIB) / MIB * MIB)
        .setAccessibilityRequirements(onlyA).build());
    assertThat(holders()).containsEntry("pool.pvc-big", "e1");

    Csi.TopologyRequirement preferA = Csi.TopologyRequirement.newBuilder()
        .addRequisite(topology(ZONE_A)).addRequisite(topology(ZONE_B))
        .addPreferred(topology(ZONE_A)).addPreferred(topology(ZONE_B)).build();
    Csi.Volume next = csi.createVolume(createRequest("pvc-next", 4 * MIB)
        .setAccessibilityRequirements(preferA).build()).getVolume();
    assertThat(holders().get(next.getVolumeId())).isIn("e2", "e3");
    assertThat(next.getAccessibleTopologyList()).containsExactly(topology(ZONE_B));

    assertCode(() -> csi.createVolume(createRequest("pvc-none", 4 * MIB)
        .setAccessibilityRequirements(onlyA).build()), Code.RESOURCE_EXHAUSTED,
        "e2: outside the requisite topology");
    assertCode(() -> csi.createVolume(createRequest("pvc-none", 4 * MIB)
        .setAccessibilityRequirements(onlyA).build()), Code.RESOURCE_EXHAUSTED,
        "left under overcommit ratio 1.0 < 4Mi");
    // a volume above the largest allowed is OUT_OF_RANGE, whatever the engines' room
    assertCode(() -> csi.createVolume(createRequest("pvc-none", 4 * MIB)
        .putParameters("maxVolumeSize", "2Mi").setAccessibilityRequirements(onlyA).build()),
        Code.OUT_OF_RANGE, "above the largest volume allowed");
  }

  /**
   * Concurrent CreateVolume calls for the last room: each engine admits what its ratio allows,
   * calls that lose a race fall through to the next engine, and the rest are refused; no engine
   * promises more than its pool.
   */
  @Test
  void concurrentCreatesNeverOverPromiseAnEngine() throws Exception {
    pool.start("e1", Map.of());
    pool.start("e2", Map.of());
    pool.start("e3", Map.of());
    startController(ControllerConfig.defaults().withLimits(new PoolLimits(1, 0)));
    long total = pool.get("e1").client().capacity().getTotalBytes();
    long size = total * 2 / 5 / MIB * MIB; // two fit an engine, a third does not
    int calls = 8;
    ExecutorService threads = Executors.newFixedThreadPool(calls);
    CountDownLatch go = new CountDownLatch(1);
    List<Future<Code>> results = new ArrayList<>();
    for (int i = 0; i < calls; i++) {
      String name = "pvc-" + i;
      results.add(threads.submit(() -> {
        go.await();
        try {
          csi.createVolume(createRequest(name, size).build());
          return Code.OK;
        } catch (StatusRuntimeException e) {
          return e.getStatus().getCode();
        }
      }));
    }
    go.countDown();
    List<Code> codes = new ArrayList<>();
    for (Future<Code> f : results) {
      codes.add(f.get(60, TimeUnit.SECONDS));
    }
    threads.shutdown();
    assertThat(codes).filteredOn(c -> c == Code.OK).hasSize(6);
    assertThat(codes).filteredOn(c -> c != Code.OK).containsOnly(Code.RESOURCE_EXHAUSTED);
    assertThat(perEngine(holders())).isEqualTo(Map.of("e1", 2L, "e2", 2L, "e3", 2L));
    for (Engine e : pool.all()) {
      assertThat(e.client().capacity().getProvisionedBytes()).isLessThanOrEqualTo(total);
    }
  }

  static Csi.Topology topology(Map<String, String> segments) {
    return Csi.Topology.newBuilder().putAllSegments(segments).build();
  }

  /**
   * An engine marked unreachable and really stopped: its volumes stay listed, abnormal with the
   * engine's status; every call that would change them is UNAVAILABLE naming it; new volumes go
   * elsewhere; the other engines' volumes publish as before and Probe stays ready; back again,
   * its volumes resume.
   */
  @Test
  void anUnreachableEnginesVolumesAreAbnormalAndUnavailable() throws Exception {
    pool.start("e1", Map.of());
    pool.start("e2", Map.of());
    pool.start("e3", Map.of());
    startController(ControllerConfig.defaults());
    for (int i = 0; i < 6; i++) {
      create("pvc-" + i, Map.of());
    }
    Map<String, String> holders = holders();
    String lost = holders.entrySet().stream().filter(e -> e.getValue().equals("e2"))
        .map(Map.Entry::getKey).findFirst().orElseThrow();
    String kept = holders.entrySet().stream().filter(e -> !e.getValue().equals("e2"))
        .map(Map.Entry::getKey).findFirst().orElseThrow();
    csi.createSnapshot(Csi.CreateSnapshotRequest.newBuilder().setName("snap-lost")
        .setSourceVolumeId(lost).build());
    pool.status("e2", EngineState.UNREACHABLE, "lease expired");
    pool.stop("e2");

    List<Csi.ListVolumesResponse.Entry> entries = csi.listVolumes(
        Csi.ListVolumesRequest.getDefaultInstance()).getEntriesList();
    assertThat(entries).hasSize(6);
    for (Csi.ListVolumesResponse.Entry e : entries) {
      Csi.VolumeCondition c = e.getStatus().getVolumeCondition();
      boolean onE2 = holders.get(e.getVolume().getVolumeId()).equals("e2");
      assertThat(c.getAbnormal()).isEqualTo(onE2);
      if (onE2) {
        assertThat(c.getMessage()).startsWith("engine e2 unreachable since ")
            .endsWith(": lease expired");
        assertThat(e.getVolume().getCapacityBytes()).isEqualTo(MIB);
      }
    }
    assertThat(csi.controllerGetVolume(Csi.ControllerGetVolumeRequest.newBuilder()
        .setVolumeId(lost).build()).getStatus().getVolumeCondition().getMessage())
        .contains("engine e2 unreachable");

    assertCode(() -> publish(lost), Code.UNAVAILABLE, "engine e2 unreachable");
    assertCode(() -> csi.controllerUnpublishVolume(Csi.ControllerUnpublishVolumeRequest
        .newBuilder().setVolumeId(lost).setNodeId(NODE_A).build()), Code.UNAVAILABLE, "e2");
    assertCode(() -> csi.deleteVolume(Csi.DeleteVolumeRequest.newBuilder().setVolumeId(lost)
        .build()), Code.UNAVAILABLE, "e2");
    assertCode(() -> csi.controllerExpandVolume(Csi.ControllerExpandVolumeRequest.newBuilder()
        .setVolumeId(lost).setCapacityRange(Csi.CapacityRange.newBuilder()
            .setRequiredBytes(2 * MIB)).build()), Code.UNAVAILABLE, "e2");
    assertCode(() -> csi.createSnapshot(Csi.CreateSnapshotRequest.newBuilder()
        .setName("snap-2").setSourceVolumeId(lost).build()), Code.UNAVAILABLE, "e2");
    assertCode(() -> csi.deleteSnapshot(Csi.DeleteSnapshotRequest.newBuilder()
        .setSnapshotId("pool.snap-lost").build()), Code.UNAVAILABLE, "e2");
    // a retried CreateVolume of the lost volume cannot tell, so it makes no second copy
    assertCode(() -> create(lost.substring("pool.".length()), Map.of()), Code.UNAVAILABLE,
        "e2");

    for (int i = 6; i < 12; i++) {
      create("pvc-" + i, Map.of());
    }
    assertThat(perEngine(holders())).containsOnlyKeys("e1", "e3");
    assertThat(identity.probe(Csi.ProbeRequest.getDefaultInstance()).getReady().getValue())
        .isTrue();
    assertThat(publish(kept).getPublishContextOrThrow("targetIqn")).endsWith(":" + kept);

    pool.restart("e2");
    assertThat(publish(lost).getPublishContextOrThrow("targetIqn")).endsWith(":" + lost);
    assertThat(csi.controllerGetVolume(Csi.ControllerGetVolumeRequest.newBuilder()
        .setVolumeId(lost).build()).getStatus().getVolumeCondition().getAbnormal()).isFalse();
  }

  /**
   * While one engine is unreachable and stopped, a volume on another engine is published and
   * reached over iSCSI with its CHAP credentials (libiscsi as the initiator).
   */
  @Test
  void theOtherEnginesServeIscsiWhileOneIsUnreachable() throws Exception {
    Assumptions.assumeTrue(Libiscsi.installed(), "libiscsi-bin (iscsi-inq) is not installed");
    pool.start("e1", Map.of());
    pool.start("e2", Map.of());
    startController(ControllerConfig.defaults());
    create("pvc-0", Map.of());
    create("pvc-1", Map.of());
    Map<String, String> holders = holders();
    String kept = holders.get("pool.pvc-0").equals("e1") ? "pool.pvc-0" : "pool.pvc-1";
    pool.status("e2", EngineState.UNREACHABLE, "lease expired");
    pool.stop("e2");
    Map<String, String> chap = Map.of("username", "pool-user", "password", "pool-secret-1234");
    Csi.ControllerPublishVolumeResponse r = csi.controllerPublishVolume(
        Csi.ControllerPublishVolumeRequest.newBuilder().setVolumeId(kept).setNodeId(NODE_A)
            .setVolumeCapability(mount(Mode.SINGLE_NODE_WRITER)).putAllSecrets(chap).build());
    Libiscsi.Result inq = Libiscsi.run(chap, "iscsi-inq", "-i", NODE_A, Libiscsi.url(r));
    assertThat(inq.exit()).as(inq.output()).isZero();
    Libiscsi.Result cap = Libiscsi.run(chap, "iscsi-readcapacity16", "-i", NODE_A,
        Libiscsi.url(r));
    assertThat(cap.exit()).as(cap.output()).isZero();
    assertThat(cap.output()).containsPattern(
        "(?i)returned logical block address:\\s*" + (MIB / 512 - 1) + "\\b");
    assertThat(Libiscsi.run(Map.of(), "iscsi-inq", "-i", NODE_A, Libiscsi.url(r)).exit())
        .as("no login without the credentials").isNotZero();
  }

  /**
   * An engine that stops answering before the directory notices: its volumes abnormal and
   * UNAVAILABLE, not an error for the others, and new volumes go elsewhere.
   */
  @Test
  void anEngineThatStopsAnsweringIsReportedNotFatal() throws Exception {
    pool.start("e1", Map.of());
    pool.start("e2", Map.of());
    startController(ControllerConfig.defaults());
    create("pvc-0", Map.of());
    create("pvc-1", Map.of());
    csi.listVolumes(Csi.ListVolumesRequest.getDefaultInstance());
    String silent = holders().get("pool.pvc-0");
    pool.stop(silent);
    List<Csi.ListVolumesResponse.Entry> entries = csi.listVolumes(
        Csi.ListVolumesRequest.getDefaultInstance()).getEntriesList();
    assertThat(entries).extracting(e -> e.getStatus().getVolumeCondition().getAbnormal())
        .containsExactly(true, false);
    assertThat(entries.getFirst().getStatus().getVolumeCondition().getMessage())
        .contains("engine " + silent + " unreachable since").contains("did not answer");
    assertCode(() -> publish("pool.pvc-0"), Code.UNAVAILABLE, silent);
    Csi.Volume next = create("pvc-2", Map.of());
    assertThat(holders().get(next.getVolumeId())).isNotEqualTo(silent);
  }

  /** A new controller on the same engines finds every volume and snapshot through its index. */
  @Test
  void aRestartedControllerFindsEveryVolumeAndSnapshot() throws Exception {
    startTwoZones();
    for (int i = 0; i < 9; i++) {
      create("pvc-" + i, Map.of());
      csi.createSnapshot(Csi.CreateSnapshotRequest.newBuilder().setName("snap-" + i)
          .setSourceVolumeId("pool.pvc-" + i).build());
    }
    startController(ControllerConfig.defaults());
    assertThat(csi.listVolumes(Csi.ListVolumesRequest.getDefaultInstance()).getEntriesList())
        .hasSize(9);
    for (int i = 0; i < 9; i++) {
      String id = "pool.pvc-" + i;
      assertThat(csi.controllerGetVolume(Csi.ControllerGetVolumeRequest.newBuilder()
          .setVolumeId(id).build()).getVolume().getVolumeId()).isEqualTo(id);
      Csi.Snapshot s = csi.getSnapshot(Csi.GetSnapshotRequest.newBuilder()
          .setSnapshotId("pool.snap-" + i).build()).getSnapshot();
      assertThat(s.getSourceVolumeId()).isEqualTo(id);
      assertThat(csi.listSnapshots(Csi.ListSnapshotsRequest.newBuilder().setSourceVolumeId(id)
          .build()).getEntriesList()).extracting(e -> e.getSnapshot().getSnapshotId())
          .containsExactly("pool.snap-" + i);
    }
    assertThat(csi.listSnapshots(Csi.ListSnapshotsRequest.getDefaultInstance())
        .getEntriesList()).hasSize(9);
    Csi.Volume restored = csi.createVolume(createRequest("pvc-restored", MIB)
        .setVolumeContentSource(Csi.VolumeContentSource.newBuilder().setSnapshot(
            Csi.VolumeContentSource.SnapshotSource.newBuilder().setSnapshotId("pool.snap-4")))
        .build()).getVolume();
    assertThat(holders().get(restored.getVolumeId())).isEqualTo(holders().get("pool.pvc-4"));
    csi.deleteSnapshot(Csi.DeleteSnapshotRequest.newBuilder().setSnapshotId("pool.snap-4")
        .build());
    csi.deleteVolume(Csi.DeleteVolumeRequest.newBuilder().setVolumeId("pool.pvc-4").build());
    assertThat(holders()).doesNotContainKey("pool.pvc-4");
    assertCode(() -> csi.getSnapshot(Csi.GetSnapshotRequest.newBuilder()
        .setSnapshotId("pool.snap-4").build()), Code.NOT_FOUND);
  }

  /** The embedded default refuses placement, backends and replicas, naming the pool mode. */
  /**
   * A group snapshot is one instant because one engine holds its members' writes: volumes on one
   * engine group (with pool ids), volumes on two are FAILED_PRECONDITION, naming the engines.
   */
  @Test
  void aGroupSnapshotNeedsItsVolumesOnOneEngine() throws Exception {
    pool.start("e1", ZONE_A);
    startController(ControllerConfig.defaults());
    Csi.Volume one = create("pvc-one", Map.of());
    Csi.Volume two = create("pvc-two", Map.of());
    Csi.VolumeGroupSnapshot g = groups.createVolumeGroupSnapshot(
        Csi.CreateVolumeGroupSnapshotRequest.newBuilder().setName("groupsnapshot-1")
            .addSourceVolumeIds(one.getVolumeId()).addSourceVolumeIds(two.getVolumeId())
            .build()).getGroupSnapshot();
    assertThat(g.getGroupSnapshotId()).startsWith("pool.");
    assertThat(g.getSnapshotsList()).allSatisfy(s -> assertThat(s.getSnapshotId())
        .startsWith("pool."));

    pool.start("e2", ZONE_A);
    startController(ControllerConfig.defaults());
    Csi.Volume three = create("pvc-three", Map.of()); // least allocated: e2
    assertThat(holders().get(three.getVolumeId())).isEqualTo("e2");
    assertThatThrownBy(() -> groups.createVolumeGroupSnapshot(
        Csi.CreateVolumeGroupSnapshotRequest.newBuilder().setName("groupsnapshot-2")
            .addSourceVolumeIds(one.getVolumeId()).addSourceVolumeIds(three.getVolumeId())
            .build()))
        .isInstanceOfSatisfying(io.grpc.StatusRuntimeException.class, e -> assertThat(
            e.getStatus().getCode()).isEqualTo(io.grpc.Status.Code.FAILED_PRECONDITION))
        .hasMessageContaining("[e1, e2]");
  }

  @Test
  void theEmbeddedDefaultRefusesPoolParameters() throws Exception {
    try (ControllerFixture f = new ControllerFixture(dir.resolve("embedded"))) {
      for (Map<String, String> p : List.of(Map.of("placement", "spreadZones"),
          Map.of("backend", "lvm"), Map.of("replicas", "3"))) {
        assertCode(() -> f.controller.createVolume(createRequest("pvc-x", MIB)
            .putAllParameters(p).build()), Code.INVALID_ARGUMENT, "engines.mode: pool");
      }
      assertThat(f.create("pvc-y", MIB).getVolumeId()).isEqualTo("local.pvc-y");
    }
  }

  Csi.ControllerPublishVolumeResponse publish(String volumeId) {
    return csi.controllerPublishVolume(Csi.ControllerPublishVolumeRequest.newBuilder()
        .setVolumeId(volumeId).setNodeId(NODE_A).setVolumeCapability(
            mount(Mode.SINGLE_NODE_WRITER)).build());
  }
}
