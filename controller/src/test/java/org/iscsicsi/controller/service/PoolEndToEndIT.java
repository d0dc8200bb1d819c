package org.iscsicsi.controller.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.iscsicsi.controller.kube.PoolFixture.await;
import static org.iscsicsi.controller.service.ControllerFixture.NODE_A;
import static org.iscsicsi.controller.service.ControllerFixture.createRequest;
import static org.iscsicsi.controller.service.ControllerFixture.mount;
import static org.iscsicsi.controller.service.GrpcAssert.assertCode;

import csi.v1.ControllerGrpc;
import csi.v1.Csi;
import csi.v1.Csi.VolumeCapability.AccessMode.Mode;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaimBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.CustomResourceDefinitionContext;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status.Code;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.assertj.core.data.Percentage;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.engine.EngineDirectory;
import org.iscsicsi.controller.engine.EngineHealth;
import org.iscsicsi.controller.engine.EngineLease;
import org.iscsicsi.controller.engine.EngineState;
import org.iscsicsi.controller.engine.RemoteEngine;
import org.iscsicsi.controller.kube.EventRecorder;
import org.iscsicsi.controller.kube.IscsiVolumeSync;
import org.iscsicsi.controller.kube.PoolEngineProcess;
import org.iscsicsi.controller.kube.PoolFixture;
import org.iscsicsi.controller.kube.PvcEvents;
import org.iscsicsi.controller.testing.TargetEngineLauncher;
import org.iscsicsi.controller.volume.VolumeLabels;
import org.iscsicsi.target.testing.TestPki;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pool mode end to end with the real pieces: three {@code target-engine serve --kubernetes}
 * processes that register themselves (IscsiEngine, Lease) in fabric8's mock API server, mutual
 * TLS from TestPki, and in this process the controller's ControllerService over the real
 * EngineDirectory, informers and probe loop, PVC events through the mock API server. Pins:
 * CreateVolume spreads volumes over the three; GetCapacity is the sum of the three; a published
 * volume is reached by libiscsi with CHAP on its engine; after one engine is SIGKILLed, a
 * VolumeEngineUnreachable event lands on the PVC of each of its volumes with no CSI call, and
 * within Lease + probe time its volumes are abnormal in ListVolumes, publish is UNAVAILABLE,
 * GetCapacity drops to two engines' and new volumes go to the other two; restarted, the
 * conditions clear and its volumes are published and reached again. The IscsiVolume sync over
 * the same controller names each volume's engine, keeps node-b's objects while it is down and
 * finishes its pass without waiting on it.
 */
@EnableKubernetesMockClient(crud = true)
class PoolEndToEndIT {

  static final List<String> NAMES = List.of("node-a", "node-b", "node-c");
  static final long MIB = 1 << 20;
  static final String PVC_NAMESPACE = "apps";
  static final Duration UNREACHABLE_BOUND = EngineLease.DEFAULT_DURATION
      .plus(EngineHealth.PROBE_INTERVAL).plus(EngineHealth.PROBE_DEADLINE);
  /** Time the informer and a loaded machine may add to the bound. */
  static final Duration SLACK = Duration.ofSeconds(4);
  static final Duration JOIN = Duration.ofSeconds(90);
  /** Free space moves a little between two reads (other files on the same disk). */
  static final Percentage WITHIN_1_PERCENT = Percentage.withPercentage(1);
  static final Map<String, String> CHAP = Map.of("username", "pool-user",
      "password", "pool-secret-5678");

  static KubernetesClient client;
  static KubernetesMockServer server;

  static {
    PoolFixture.MOCK_LOG.setLevel(java.util.logging.Level.WARNING);
  }

  @TempDir Path dir;
  final Map<String, PoolEngineProcess> engines = new LinkedHashMap<>();
  final List<AutoCloseable> closing = new ArrayList<>();
  Server csiServer;
  ManagedChannel channel;
  ControllerGrpc.ControllerBlockingStub csi;
  EngineDirectory directory;
  ControllerService controller;

  @AfterEach
  void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow();
      csiServer.shutdownNow();
      csiServer.awaitTermination(5, TimeUnit.SECONDS);
    }
    for (AutoCloseable c : closing.reversed()) {
      c.close();
    }
    for (PoolEngineProcess e : engines.values()) {
      e.stop();
    }
  }

  @Test
  void threeRegisteredEnginesServeLoseOneAndGetItBack() throws Exception {
    assumeThat(TargetEngineLauncher.missing()).as("target-engine launcher").isEmpty();
    assumeThat(TestPki.available()).as("openssl installed").isTrue();
    assumeThat(Libiscsi.installed()).as("libiscsi-bin (iscsi-inq) installed").isTrue();
    TestPki engineCa = TestPki.create(dir, "engines");
    TestPki controllerCa = TestPki.create(dir, "controllers");
    TestPki.Identity engineCert = engineCa.issue("engine",
        List.of(RemoteEngine.POOL_SERVER_NAME));
    PoolFixture pool = new PoolFixture(server, client);
    pool.installCrd();
    Path kubeconfig = pool.kubeconfig(dir);
    long t0 = System.nanoTime();
    for (String name : NAMES) {
      pool.storageNode(name);
      PoolEngineProcess e = new PoolEngineProcess(name, dir, engineCert, controllerCa,
          kubeconfig);
      engines.put(name, e);
      e.start();
    }
    for (PoolEngineProcess e : engines.values()) {
      e.awaitServing();
    }
    directory = pool.directory(TestPki.tls(controllerCa.issue("controller"), engineCa), closing);
    await(() -> NAMES.stream().allMatch(n -> state(n) == EngineState.READY), JOIN,
        "all three engines registered and Ready");
    System.out.printf("pool e2e: three engines registered and Ready %d ms after start%n",
        millisSince(t0));
    startController();

    // placement: nine volumes, three on each engine (least allocated)
    for (int i = 0; i < 9; i++) {
      create("pvc-" + i);
    }
    Map<String, String> holders = holders();
    assertThat(perEngine(holders)).containsOnlyKeys(NAMES.toArray(String[]::new))
        .allSatisfy((engine, count) -> assertThat(count).isEqualTo(3L));

    // capacity: the sum of the three engines' rooms
    long one = directory.byName("node-a").orElseThrow().client().capacity().getAvailableBytes();
    assertThat(capacity()).isCloseTo(3 * one, WITHIN_1_PERCENT);

    // publish and a CHAP login on the engine holding the volume
    String onB = volumeOn(holders, "node-b");
    Csi.ControllerPublishVolumeResponse r = publish(onB);
    assertThat(r.getPublishContextOrThrow("portals"))
        .isEqualTo("127.0.0.1:" + engines.get("node-b").portal);
    assertInquiry(r);

    server.expectCustomResource(new CustomResourceDefinitionContext.Builder()
        .withGroup(IscsiVolumeSync.CONTEXT.getGroup())
        .withVersion(IscsiVolumeSync.CONTEXT.getVersion())
        .withKind(IscsiVolumeSync.CONTEXT.getKind())
        .withPlural(IscsiVolumeSync.CONTEXT.getPlural()).withScope("Cluster").build());
    IscsiVolumeSync sync = new IscsiVolumeSync(client, controller.inventory().orElseThrow(),
        ControllerConfig.defaults());
    assertThat(sync.syncOnce()).isEqualTo(9);
    assertThat(placements()).isEqualTo(holders.entrySet().stream().collect(
        Collectors.toMap(Map.Entry::getKey, e -> List.of(e.getValue()))));

    // SIGKILL node-b: events at the transition, with no CSI call
    engines.get("node-b").kill();
    long killed = System.nanoTime();
    List<String> lostPvcs = holders.entrySet().stream()
        .filter(e -> e.getValue().equals("node-b"))
        .map(e -> e.getKey().substring("pool.".length())).sorted().toList();
    await(() -> unreachableEvents().keySet().containsAll(lostPvcs),
        UNREACHABLE_BOUND.plus(SLACK), "VolumeEngineUnreachable on node-b's PVCs");
    long eventsMs = millisSince(killed);
    assertThat(unreachableEvents()).containsOnlyKeys(lostPvcs.toArray(String[]::new));
    List<Csi.ListVolumesResponse.Entry> entries = csi.listVolumes(
        Csi.ListVolumesRequest.getDefaultInstance()).getEntriesList();
    assertThat(entries).hasSize(9);
    for (Csi.ListVolumesResponse.Entry e : entries) {
      boolean onDead = holders.get(e.getVolume().getVolumeId()).equals("node-b");
      assertThat(e.getStatus().getVolumeCondition().getAbnormal())
          .as(e.getVolume().getVolumeId()).isEqualTo(onDead);
      if (onDead) {
        assertThat(e.getStatus().getVolumeCondition().getMessage())
            .startsWith("engine node-b unreachable since ");
      }
    }
    System.out.printf("pool e2e: node-b's %d PVC events and abnormal volumes %d ms after "
        + "SIGKILL (bound %d ms)%n", lostPvcs.size(), eventsMs, UNREACHABLE_BOUND.toMillis());
    assertThat(Duration.ofMillis(eventsMs)).isLessThan(UNREACHABLE_BOUND.plus(SLACK));
    assertCode(() -> publish(onB), Code.UNAVAILABLE, "engine node-b unreachable");
    long syncStart = System.nanoTime();
    sync.syncOnce();
    long syncMs = millisSince(syncStart);
    System.out.printf("pool e2e: IscsiVolume pass with node-b down took %d ms%n", syncMs);
    assertThat(Duration.ofMillis(syncMs)).isLessThan(IscsiVolumeSync.POOL_DEADLINE);
    assertThat(placements()).as("node-b's volumes kept").hasSize(9)
        .containsEntry(onB, List.of("node-b"));
    assertThat(capacity()).isCloseTo(2 * one, WITHIN_1_PERCENT);
    for (int i = 9; i < 13; i++) {
      create("pvc-" + i);
    }
    Map<String, Long> after = perEngine(holders());
    assertThat(after).containsEntry("node-a", 5L).containsEntry("node-c", 5L);
    Thread.sleep(EngineHealth.PROBE_INTERVAL.toMillis());
    assertThat(unreachableEvents().values()).as("one event per PVC for the transition")
        .allSatisfy(n -> assertThat(n).isEqualTo(1));

    // restarted: a new incarnation registers, conditions clear, its volumes serve again
    long restarted = System.nanoTime();
    engines.get("node-b").start();
    engines.get("node-b").awaitServing();
    await(() -> state("node-b") == EngineState.READY, JOIN, "node-b Ready again");
    System.out.printf("pool e2e: node-b Ready %d ms after its restart began%n",
        millisSince(restarted));
    assertThat(csi.listVolumes(Csi.ListVolumesRequest.getDefaultInstance()).getEntriesList())
        .hasSize(13).allSatisfy(e -> assertThat(e.getStatus().getVolumeCondition()
            .getAbnormal()).as(e.getVolume().getVolumeId()).isFalse());
    assertInquiry(publish(onB));
    sync.syncOnce();
    assertThat(placements()).hasSize(13).containsEntry(onB, List.of("node-b"));
    assertThat(capacity()).isCloseTo(3 * one, WITHIN_1_PERCENT);
  }

  private void startController() throws Exception {
    String name = "pool-e2e-" + UUID.randomUUID();
    ClusterObjects objects = new ClusterObjects(ChapSecretStore.ENGINE_ONLY,
        new PvcEvents(client, new EventRecorder(client, "pool-e2e")));
    controller = new ControllerService(directory, ControllerConfig.defaults(), () -> true,
        objects);
    csiServer = InProcessServerBuilder.forName(name).directExecutor().addService(controller)
        .build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    csi = ControllerGrpc.newBlockingStub(channel);
  }

  private EngineState state(String name) {
    return directory.byName(name).map(Engine::state).orElse(null);
  }

  /** Creates a volume for PVC {@code name} in {@link #PVC_NAMESPACE} (the PVC exists too). */
  private void create(String name) {
    client.persistentVolumeClaims().inNamespace(PVC_NAMESPACE).resource(
        new PersistentVolumeClaimBuilder().withNewMetadata().withName(name)
            .withNamespace(PVC_NAMESPACE).endMetadata().build()).create();
    csi.createVolume(createRequest(name, MIB)
        .putParameters("csi.storage.k8s.io/pvc/name", name)
        .putParameters("csi.storage.k8s.io/pvc/namespace", PVC_NAMESPACE).build());
  }

  /** Volume id → engine, read from the reachable engines themselves. */
  private Map<String, String> holders() {
    Map<String, String> out = new HashMap<>();
    for (Engine e : directory.all()) {
      if (!e.state().reachable()) {
        continue;
      }
      for (var t : e.client().listTargets(VolumeLabels.selector(
          ControllerConfig.defaults().driverName()))) {
        out.put(t.getName().substring(t.getName().indexOf(':') + 1), e.name());
      }
    }
    return out;
  }

  private static Map<String, Long> perEngine(Map<String, String> holders) {
    return holders.values().stream().collect(Collectors.groupingBy(e -> e,
        Collectors.counting()));
  }

  private static String volumeOn(Map<String, String> holders, String engine) {
    return holders.entrySet().stream().filter(e -> e.getValue().equals(engine))
        .map(Map.Entry::getKey).sorted().findFirst().orElseThrow();
  }

  /** IscsiVolume name → its status.placement. */
  private static Map<String, Object> placements() {
    Map<String, Object> out = new HashMap<>();
    for (var r : client.genericKubernetesResources(IscsiVolumeSync.CONTEXT).list().getItems()) {
      Map<String, Object> status = r.get("status");
      out.put(r.getMetadata().getName(), status.get("placement"));
    }
    return out;
  }

  private long capacity() {
    return csi.getCapacity(Csi.GetCapacityRequest.getDefaultInstance()).getAvailableCapacity();
  }

  private Csi.ControllerPublishVolumeResponse publish(String volumeId) {
    return csi.controllerPublishVolume(Csi.ControllerPublishVolumeRequest.newBuilder()
        .setVolumeId(volumeId).setNodeId(NODE_A).setVolumeCapability(
            mount(Mode.SINGLE_NODE_WRITER)).putAllSecrets(CHAP).build());
  }

  private static void assertInquiry(Csi.ControllerPublishVolumeResponse r) throws Exception {
    Libiscsi.Result inq = Libiscsi.run(CHAP, "iscsi-inq", "-i", NODE_A, Libiscsi.url(r));
    assertThat(inq.exit()).as(inq.output()).isZero();
    assertThat(Libiscsi.run(Map.of(), "iscsi-inq", "-i", NODE_A, Libiscsi.url(r)).exit())
        .as("no login without the credentials").isNotZero();
  }

  /** PVC name → how many VolumeEngineUnreachable events it has. */
  private static Map<String, Integer> unreachableEvents() {
    Map<String, Integer> out = new HashMap<>();
    for (Event e : client.v1().events().inNamespace(PVC_NAMESPACE).list().getItems()) {
      if (VolumeEvents.ENGINE_UNREACHABLE.equals(e.getReason())
          && "PersistentVolumeClaim".equals(e.getInvolvedObject().getKind())) {
        out.merge(e.getInvolvedObject().getName(), 1, Integer::sum);
      }
    }
    return out;
  }

  private static long millisSince(long nanos) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - nanos);
  }
}
