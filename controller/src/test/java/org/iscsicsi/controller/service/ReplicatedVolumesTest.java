package org.iscsicsi.controller.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.iscsicsi.controller.service.ControllerFixture.NODE_A;
import static org.iscsicsi.controller.service.ControllerFixture.NODE_B;
import static org.iscsicsi.controller.service.ControllerFixture.createRequest;
import static org.iscsicsi.controller.service.ControllerFixture.mount;
import static org.iscsicsi.controller.service.GrpcAssert.assertCode;

import csi.v1.ControllerGrpc;
import csi.v1.Csi;
import csi.v1.Csi.VolumeCapability.AccessMode.Mode;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status.Code;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.engine.EngineState;
import org.iscsicsi.controller.volume.QosParameters;
import org.iscsicsi.controller.volume.VolumeLabels;
import org.iscsicsi.csi.contract.PublishContext;
import org.iscsicsi.target.kube.Membership;
import org.iscsicsi.target.kube.MembershipTransitions;
import org.iscsicsi.target.v1.InitiatorGrant;
import org.iscsicsi.target.v1.Lun;
import org.iscsicsi.target.v1.SetLunReplicationRequest;
import org.iscsicsi.target.v1.Target;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replicated volumes through the CSI Controller service in one process, over real embedded
 * engines ({@link TestPool}). The membership store and SetLunReplication are a stand-in
 * ({@link Recorded}): embedded engines run without Kubernetes, where memberships live, so they
 * cannot take a replicated role here (ReplicatedPoolIT runs that part for real). Pins:
 * {@code replicas: 2} lands on two engines in different zones, accessible from both zones, both
 * with the volume's IQN, LUN 0 of one NAA and serial and slots 1 and 2, the same CHAP user, one
 * volume in ListVolumes; the membership is epoch 1 with every member InSync and the primary in
 * slot 1; SetLunReplication goes to the member before the primary, each with the other's
 * replication address; a retried CreateVolume is the same volume and one with another count is
 * ALREADY_EXISTS; fewer eligible engines than replicas is RESOURCE_EXHAUSTED naming each
 * engine's reason; a failed SetLunReplication leaves nothing behind; Publish grants on every
 * member and returns the multipath context, Unpublish revokes everywhere; a member OutOfSync
 * makes the volume abnormal with a message; ModifyVolume's I/O limits reach every member (one
 * that did not answer by the leader's pass); expansion grows every member and is UNAVAILABLE,
 * growing nothing on the primary, while a member does not answer; snapshots and clones are
 * FAILED_PRECONDITION; Delete leaves no target on any engine and no membership; after a
 * failover the volume's record follows its primary ({@link ReplicaRecords}), and members get
 * the grants they missed.
 */
class ReplicatedVolumesTest {

  static final long MIB = 1 << 20;
  static final Map<String, String> REPLICAS_2 = Map.of("replicas", "2");

  /** A stand-in for the IscsiVolume store and the engines' TargetReplication service. */
  static final class Recorded implements Memberships {
    final Map<String, Membership> memberships = new ConcurrentHashMap<>();
    final List<String> activated = new ArrayList<>();
    final List<SetLunReplicationRequest> requests = new ArrayList<>();
    final Set<String> withoutListener = ConcurrentHashMap.newKeySet();
    volatile boolean failActivation;

    @Override
    public void create(String volume, int replicas, Membership created) {
      if (memberships.putIfAbsent(volume, created) != null) {
        throw new IllegalStateException("membership exists");
      }
    }

    @Override
    public Optional<Membership> read(String volume) {
      return Optional.ofNullable(memberships.get(volume));
    }

    @Override
    public Optional<Map<String, Membership>> list() {
      return Optional.of(Map.copyOf(memberships));
    }

    @Override
    public void delete(String volume) {
      memberships.remove(volume);
    }

    @Override
    public String replicationAddress(Engine engine) {
      return withoutListener.contains(engine.name()) ? ""
          : "127.0.0.1:" + (20000 + engine.name().hashCode() % 1000);
    }

    @Override
    public synchronized void activate(Engine engine, SetLunReplicationRequest request) {
      if (failActivation) {
        throw io.grpc.Status.UNAVAILABLE.withDescription("engine said no").asRuntimeException();
      }
      activated.add(engine.name());
      requests.add(request);
    }
  }

  @TempDir Path dir;
  TestPool pool;
  Recorded recorded = new Recorded();
  Server server;
  ManagedChannel channel;
  ControllerService service;
  ControllerGrpc.ControllerBlockingStub csi;

  @BeforeEach
  void start() throws Exception {
    pool = new TestPool(dir);
    pool.start("e1", Map.of(TestPool.ZONE, "a"));
    pool.start("e2", Map.of(TestPool.ZONE, "a"));
    pool.start("e3", Map.of(TestPool.ZONE, "b"));
    String name = "replicated-" + UUID.randomUUID();
    service = new ControllerService(pool, ControllerConfig.defaults(),
        () -> true, new ClusterObjects(ChapSecretStore.ENGINE_ONLY, VolumeEvents.NONE, recorded));
    server = InProcessServerBuilder.forName(name).directExecutor().addService(service).build()
        .start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    csi = ControllerGrpc.newBlockingStub(channel);
  }

  @AfterEach
  void stop() throws InterruptedException {
    channel.shutdownNow();
    server.shutdownNow();
    server.awaitTermination(5, TimeUnit.SECONDS);
    pool.close();
  }

  Csi.Volume create(String name, Map<String, String> params) {
    return csi.createVolume(createRequest(name, MIB).putAllParameters(params).build())
        .getVolume();
  }

  Optional<Target> target(String engine, String iqn) {
    return pool.byName(engine).orElseThrow().client().findTarget(iqn);
  }

  List<String> holders(String iqn) {
    return List.of("e1", "e2", "e3").stream().filter(e -> target(e, iqn).isPresent()).toList();
  }

  static String iqn(Csi.Volume v) {
    return ControllerConfig.defaults().iqnPrefix() + ":" + v.getVolumeId();
  }

  @Test
  void createsMembersWithOneIdentityAndTheirSlotsAndPublishesForMultipath() throws Exception {
    Csi.Volume v = create("pvc-r2", REPLICAS_2);
    String iqn = iqn(v);
    List<String> holders = holders(iqn);
    assertThat(holders).hasSize(2).contains("e3"); // zones a and b
    assertThat(v.getAccessibleTopologyList()).as("any member may serve it")
        .map(t -> t.getSegmentsMap().get(TestPool.ZONE)).containsExactlyInAnyOrder("a", "b");
    Membership m = recorded.read(v.getVolumeId()).orElseThrow();
    assertThat(m.epoch()).isEqualTo(1);
    assertThat(m.members()).allSatisfy(x -> assertThat(x.state())
        .isEqualTo(Membership.State.InSync));
    assertThat(m.members().stream().map(Membership.Member::engine).toList())
        .containsExactlyInAnyOrderElementsOf(holders);
    String primary = m.primary();
    String member = holders.stream().filter(h -> !h.equals(primary)).findFirst().orElseThrow();
    assertThat(m.member(primary).orElseThrow().slot()).isEqualTo(1);
    Lun p = target(primary, iqn).orElseThrow().getLuns(0);
    Lun r = target(member, iqn).orElseThrow().getLuns(0);
    assertThat(r.getNaa()).isEqualTo(p.getNaa());
    assertThat(r.getSerial()).isEqualTo(p.getSerial());
    assertThat(p.getPortSlot()).isEqualTo(1);
    assertThat(r.getPortSlot()).isEqualTo(2);
    assertThat(target(member, iqn).orElseThrow().getChap().getUser())
        .isEqualTo(target(primary, iqn).orElseThrow().getChap().getUser()).isNotEmpty();
    assertThat(recorded.activated).containsExactly(member, primary);
    assertThat(recorded.requests.getLast().getMemberAddressesMap()).containsOnlyKeys(member);
    assertThat(recorded.requests.getFirst().getMemberAddressesMap()).containsOnlyKeys(primary);

    var listed = csi.listVolumes(Csi.ListVolumesRequest.getDefaultInstance());
    assertThat(listed.getEntriesList()).singleElement().satisfies(e -> assertThat(
        e.getStatus().getVolumeCondition().getAbnormal()).isFalse());

    // retried: the same volume, nothing new; another count: ALREADY_EXISTS
    assertThat(create("pvc-r2", REPLICAS_2).getVolumeId()).isEqualTo(v.getVolumeId());
    assertThat(holders(iqn)).isEqualTo(holders);
    assertThat(recorded.activated).hasSize(2);
    assertCode(() -> create("pvc-r2", Map.of("replicas", "3")), Code.ALREADY_EXISTS,
        "replicas");

    var published = csi.controllerPublishVolume(Csi.ControllerPublishVolumeRequest.newBuilder()
        .setVolumeId(v.getVolumeId()).setNodeId(NODE_A)
        .setVolumeCapability(mount(Mode.SINGLE_NODE_WRITER)).build()).getPublishContextMap();
    assertThat(published).containsEntry(PublishContext.MULTIPATH, "true")
        .containsEntry(PublishContext.WWID, "3" + p.getNaa().toLowerCase())
        .containsEntry(PublishContext.NAA, p.getNaa())
        .containsEntry(PublishContext.TARGET_IQN, iqn);
    List<String> portals = new ArrayList<>();
    portals.addAll(pool.byName(primary).orElseThrow().advertisedPortals());
    portals.addAll(pool.byName(member).orElseThrow().advertisedPortals());
    assertThat(published.get(PublishContext.PORTALS)).isEqualTo(String.join(",", portals));
    for (String h : holders) {
      assertThat(target(h, iqn).orElseThrow().getGrantsList()).as(h)
          .anySatisfy(g -> assertThat(g.getInitiator()).isEqualTo(NODE_A));
    }
    csi.controllerUnpublishVolume(Csi.ControllerUnpublishVolumeRequest.newBuilder()
        .setVolumeId(v.getVolumeId()).setNodeId(NODE_A).build());
    for (String h : holders) {
      assertThat(target(h, iqn).orElseThrow().getGrantsList()).as(h)
          .noneSatisfy(g -> assertThat(g.getInitiator()).isEqualTo(NODE_A));
    }

    // a member out of sync: abnormal, naming it
    recorded.memberships.put(v.getVolumeId(), MembershipTransitions.outOfSync(m, primary, 1,
        member, "silent", Instant.now()));
    var got = csi.controllerGetVolume(Csi.ControllerGetVolumeRequest.newBuilder()
        .setVolumeId(v.getVolumeId()).build());
    assertThat(got.getStatus().getVolumeCondition().getAbnormal()).isTrue();
    assertThat(got.getStatus().getVolumeCondition().getMessage()).contains("1/2 in sync")
        .contains(member + " OutOfSync");

    // not supported on replicated volumes yet
    assertCode(() -> csi.createSnapshot(Csi.CreateSnapshotRequest.newBuilder()
        .setName("snap").setSourceVolumeId(v.getVolumeId()).build()),
        Code.FAILED_PRECONDITION, "snapshots are not supported on replicated volumes");
    // QoS: every member holds the limits, so a new primary enforces them; one that did not
    // answer gets them from the leader's pass
    csi.controllerModifyVolume(Csi.ControllerModifyVolumeRequest.newBuilder()
        .setVolumeId(v.getVolumeId()).putMutableParameters(QosParameters.READ_IOPS, "500")
        .build());
    for (String h : holders) {
      assertThat(target(h, iqn).orElseThrow().getLuns(0).getQos().getReadIops()).as(h)
          .isEqualTo(500);
    }
    pool.status(member, EngineState.UNREACHABLE, "away");
    csi.controllerModifyVolume(Csi.ControllerModifyVolumeRequest.newBuilder()
        .setVolumeId(v.getVolumeId()).putMutableParameters(QosParameters.READ_IOPS, "700")
        .build());
    assertThat(target(member, iqn).orElseThrow().getLuns(0).getQos().getReadIops())
        .isEqualTo(500);
    pool.status(member, EngineState.READY, "");
    try (AutoCloseable pass = service.replicaRecords(Duration.ofMillis(100), () -> true)) {
      await().atMost(Duration.ofSeconds(20)).until(() -> target(member, iqn).orElseThrow()
          .getLuns(0).getQos().getReadIops() == 700);
    }

    // expansion: every member's LUN grows (the members before the primary)
    var expanded = csi.controllerExpandVolume(Csi.ControllerExpandVolumeRequest.newBuilder()
        .setVolumeId(v.getVolumeId()).setCapacityRange(Csi.CapacityRange.newBuilder()
            .setRequiredBytes(2 * MIB)).build());
    assertThat(expanded.getCapacityBytes()).isEqualTo(2 * MIB);
    for (String h : holders) {
      assertThat(target(h, iqn).orElseThrow().getLuns(0).getSizeBytes()).as(h)
          .isEqualTo(2 * MIB);
    }
    pool.status(member, EngineState.UNREACHABLE, "away");
    assertCode(() -> csi.controllerExpandVolume(Csi.ControllerExpandVolumeRequest.newBuilder()
        .setVolumeId(v.getVolumeId()).setCapacityRange(Csi.CapacityRange.newBuilder()
            .setRequiredBytes(3 * MIB)).build()), Code.UNAVAILABLE, member);
    assertThat(target(primary, iqn).orElseThrow().getLuns(0).getSizeBytes())
        .as("the primary does not grow past a member it cannot reach").isEqualTo(2 * MIB);
    pool.status(member, EngineState.READY, "");
    assertCode(() -> csi.createVolume(createRequest("clone", MIB)
        .setVolumeContentSource(Csi.VolumeContentSource.newBuilder().setVolume(
            Csi.VolumeContentSource.VolumeSource.newBuilder().setVolumeId(v.getVolumeId())))
        .build()), Code.FAILED_PRECONDITION, "clones are not supported on replicated volumes");

    csi.deleteVolume(Csi.DeleteVolumeRequest.newBuilder().setVolumeId(v.getVolumeId()).build());
    assertThat(holders(iqn)).isEmpty();
    assertThat(recorded.read(v.getVolumeId())).isEmpty();
  }

  @Test
  void threeReplicasTakeThreeEnginesAndAFourthIsNotThere() {
    Csi.Volume v = create("pvc-r3", Map.of("replicas", "3"));
    assertThat(holders(iqn(v))).containsExactlyInAnyOrder("e1", "e2", "e3");
    Membership m = recorded.read(v.getVolumeId()).orElseThrow();
    assertThat(m.members().stream().map(Membership.Member::slot).toList())
        .containsExactly(1, 2, 3);
    assertThat(recorded.activated.getLast()).isEqualTo(m.primary());

    recorded.withoutListener.add("e2");
    assertCode(() -> create("pvc-r3b", Map.of("replicas", "3")), Code.RESOURCE_EXHAUSTED,
        "e2: has no replication listener");
    assertCode(() -> create("pvc-r4", Map.of("replicas", "4")), Code.INVALID_ARGUMENT,
        "replicas");
    assertThat(holders(ControllerConfig.defaults().iqnPrefix() + ":pool.pvc-r3b")).isEmpty();
  }

  @Test
  void aFailedActivationLeavesNothingBehind() {
    recorded.failActivation = true;
    assertCode(() -> create("pvc-fail", REPLICAS_2), Code.UNAVAILABLE, "engine said no");
    assertThat(holders(ControllerConfig.defaults().iqnPrefix() + ":pool.pvc-fail")).isEmpty();
    assertThat(recorded.memberships).isEmpty();
    recorded.failActivation = false;
    Csi.Volume v = create("pvc-fail", REPLICAS_2);
    assertThat(holders(iqn(v))).hasSize(2);
  }

  Map<String, String> publish(String volumeId, String node) {
    return csi.controllerPublishVolume(Csi.ControllerPublishVolumeRequest.newBuilder()
        .setVolumeId(volumeId).setNodeId(node)
        .setVolumeCapability(mount(Mode.SINGLE_NODE_WRITER)).build()).getPublishContextMap();
  }

  List<String> grants(String engine, String iqn) {
    return target(engine, iqn).orElseThrow().getGrantsList().stream()
        .map(InitiatorGrant::getInitiator).sorted().toList();
  }

  /**
   * The first primary's engine is lost with its node and the supervisor promoted the other
   * member: the lost node is unpublished and another published on the new primary (the record
   * moves there, the context lists every member's portals); when the old primary's engine
   * returns, the leader's pass gives it a member's labels, the grant it missed and not the one
   * revoked while it was away, and the volume is listed once.
   */
  @Test
  void aFailoverMovesTheRecordToTheNewPrimaryAndMembersGetTheGrantsTheyMissed()
      throws Exception {
    Csi.Volume v = create("pvc-fo", REPLICAS_2);
    String id = v.getVolumeId();
    String iqn = iqn(v);
    publish(id, NODE_A);
    Membership m = recorded.read(id).orElseThrow();
    String first = m.primary();
    String second = holders(iqn).stream().filter(h -> !h.equals(first)).findFirst()
        .orElseThrow();
    recorded.memberships.put(id, MembershipTransitions.promote(m, "test", m.epoch(), second,
        Instant.now()));
    pool.stop(first);
    pool.status(first, EngineState.UNREACHABLE, "node lost");

    // the lost node's attachment goes (Kubernetes detaches it), the pod starts on node B
    csi.controllerUnpublishVolume(Csi.ControllerUnpublishVolumeRequest.newBuilder()
        .setVolumeId(id).setNodeId(NODE_A).build());
    Target record = target(second, iqn).orElseThrow();
    assertThat(record.getLabelsMap()).containsEntry(VolumeLabels.MANAGED_BY,
        ControllerConfig.defaults().driverName()).containsKey(ReplicaMembers.MEMBERS)
        .doesNotContainKey(ReplicaMembers.MEMBER_OF);
    assertThat(grants(second, iqn)).isEmpty();
    Map<String, String> context = publish(id, NODE_B);
    assertThat(context.get(PublishContext.PORTALS).split(","))
        .containsAll(pool.byName(second).orElseThrow().advertisedPortals());
    assertThat(context).containsEntry(PublishContext.MULTIPATH, "true");
    assertThat(grants(second, iqn)).containsExactly(NODE_B);

    pool.restart(first);
    assertThat(grants(first, iqn)).as("as the old primary left it").containsExactly(NODE_A);
    try (AutoCloseable pass = service.replicaRecords(Duration.ofMillis(100), () -> true)) {
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
        assertThat(target(first, iqn).orElseThrow().getLabelsMap())
            .containsKey(ReplicaMembers.MEMBER_OF).doesNotContainKey(VolumeLabels.MANAGED_BY);
        assertThat(grants(first, iqn)).containsExactly(NODE_B);
      });
    }
    assertThat(csi.listVolumes(Csi.ListVolumesRequest.getDefaultInstance()).getEntriesList())
        .singleElement().satisfies(e -> assertThat(e.getVolume().getVolumeId()).isEqualTo(id));
    assertThat(target(second, iqn).orElseThrow().getLabelsMap())
        .containsEntry(VolumeLabels.MANAGED_BY, ControllerConfig.defaults().driverName());
  }
}
