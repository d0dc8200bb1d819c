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
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status.Code;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.net.InetAddress;
import java.net.InetSocketAddress;
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
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.engine.EngineDirectory;
import org.iscsicsi.controller.engine.EngineHealth;
import org.iscsicsi.controller.engine.EngineLease;
import org.iscsicsi.controller.engine.EngineState;
import org.iscsicsi.controller.engine.RemoteEngine;
import org.iscsicsi.controller.kube.EventRecorder;
import org.iscsicsi.controller.kube.NetworkNamespace;
import org.iscsicsi.controller.kube.PoolEngineProcess;
import org.iscsicsi.controller.kube.PoolFixture;
import org.iscsicsi.controller.kube.PvcEvents;
import org.iscsicsi.controller.kube.TcpRelay;
import org.iscsicsi.controller.testing.TargetEngineLauncher;
import org.iscsicsi.controller.volume.VolumeLabels;
import org.iscsicsi.target.testing.TestPki;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An engine cut off the network while its process runs: three {@code target-engine serve
 * --kubernetes} processes register in fabric8's mock API server, node-a and node-c on the test's
 * loopback, node-b in a network namespace of its own, linked to the test's by a veth pair
 * (portal and admin API on the namespace's address; the API server through a relay on the test's
 * end of the link). The controller's ControllerService, EngineDirectory, informers and probe
 * loop run in this process. Setting the test's end of the link down cuts node-b off: its
 * process keeps running, yet within Lease + probe time each of its PVCs gets
 * {@code VolumeEngineUnreachable} with no CSI call, its volumes are abnormal in ListVolumes and
 * ControllerGetVolume and UNAVAILABLE to publish, new volumes go to node-a and node-c, whose
 * volumes are published and read over iSCSI as before, and no call waits on node-b. With the
 * link up again the same incarnation is Ready, its volumes are normal and published and read
 * over iSCSI again.
 */
@EnableKubernetesMockClient(crud = true)
class PoolPartitionIT {

  static final List<String> NAMES = List.of("node-a", "node-b", "node-c");
  static final String CUT = "node-b";
  static final long MIB = 1 << 20;
  static final String PVC_NAMESPACE = "apps";
  static final Duration UNREACHABLE_BOUND = EngineLease.DEFAULT_DURATION
      .plus(EngineHealth.PROBE_INTERVAL).plus(EngineHealth.PROBE_DEADLINE);
  /** Time the informer and a loaded machine may add to the bound. */
  static final Duration SLACK = Duration.ofSeconds(4);
  static final Duration JOIN = Duration.ofSeconds(90);
  /** A call that touches only reachable engines answers within this, whatever node-b does. */
  static final Duration PROMPT = Duration.ofSeconds(3);
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

  @AfterEach
  void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow();
      csiServer.shutdownNow();
      csiServer.awaitTermination(5, TimeUnit.SECONDS);
    }
    // the engines first, while the link and the relay still carry node-b's goodbye to the API
    // server; then the controller's side, the relay (none of its connections left) and the
    // namespace
    for (PoolEngineProcess e : engines.values()) {
      e.stop();
    }
    for (AutoCloseable c : closing.reversed()) {
      c.close();
    }
  }

  @Test
  void cutOffEngineIsAbnormalOthersUntouchedAndItResumes() throws Exception {
    assumeThat(TargetEngineLauncher.missing()).as("target-engine launcher").isEmpty();
    assumeThat(TestPki.available()).as("openssl installed").isTrue();
    assumeThat(Libiscsi.installed()).as("libiscsi-bin (iscsi-inq) installed").isTrue();
    assumeThat(NetworkNamespace.unavailable()).as("network namespaces").isNull();
    TestPki engineCa = TestPki.create(dir, "engines");
    TestPki controllerCa = TestPki.create(dir, "controllers");
    TestPki.Identity engineCert = engineCa.issue("engine",
        List.of(RemoteEngine.POOL_SERVER_NAME));
    PoolFixture pool = new PoolFixture(server, client);
    pool.installCrd();
    NetworkNamespace ns = NetworkNamespace.create();
    closing.add(ns);
    TcpRelay relay = new TcpRelay(ns.hostAddress, new InetSocketAddress(
        InetAddress.getLoopbackAddress(), client.getMasterUrl().getPort()));
    closing.add(relay);
    Path kubeconfig = pool.kubeconfig(dir);
    Path kubeconfigInside = PoolFixture.kubeconfig(dir.resolve("kubeconfig-" + CUT),
        "https://" + ns.hostAddress + ":" + relay.port());
    for (String name : NAMES) {
      pool.storageNode(name);
      boolean cut = name.equals(CUT);
      PoolEngineProcess e = new PoolEngineProcess(name, dir, engineCert, controllerCa,
          cut ? kubeconfigInside : kubeconfig);
      if (cut) {
        e.inNamespace(ns.name, ns.address);
      }
      engines.put(name, e);
      e.start();
    }
    String incarnation = null;
    for (PoolEngineProcess e : engines.values()) {
      String i = e.awaitServing();
      if (e.name.equals(CUT)) {
        incarnation = i;
      }
    }
    directory = pool.directory(TestPki.tls(controllerCa.issue("controller"), engineCa), closing);
    await(() -> NAMES.stream().allMatch(n -> state(n) == EngineState.READY), JOIN,
        "all three engines registered and Ready");
    assertThat(directory.byName(CUT).orElseThrow().advertisedPortals())
        .containsExactly(engines.get(CUT).portalAddress());
    startController();

    for (int i = 0; i < 9; i++) {
      create("pvc-" + i);
    }
    Map<String, String> holders = holders();
    assertThat(perEngine(holders)).containsOnlyKeys(NAMES.toArray(String[]::new))
        .allSatisfy((engine, count) -> assertThat(count).isEqualTo(3L));
    String onB = volumeOn(holders, CUT);
    String onA = volumeOn(holders, "node-a");
    Csi.ControllerPublishVolumeResponse inside = publish(onB);
    assertThat(inside.getPublishContextOrThrow("portals"))
        .isEqualTo(engines.get(CUT).portalAddress());
    assertInquiry(inside);

    // cut node-b off: its process keeps running
    ns.cut();
    long cut = System.nanoTime();
    List<String> lostPvcs = holders.entrySet().stream()
        .filter(e -> e.getValue().equals(CUT))
        .map(e -> e.getKey().substring("pool.".length())).sorted().toList();
    await(() -> unreachableEvents().keySet().containsAll(lostPvcs),
        UNREACHABLE_BOUND.plus(SLACK), "VolumeEngineUnreachable on node-b's PVCs");
    long eventsMs = millisSince(cut);
    assertThat(engines.get(CUT).alive()).as("node-b's process runs on").isTrue();
    assertThat(state(CUT)).isEqualTo(EngineState.UNREACHABLE);
    assertThat(unreachableEvents()).containsOnlyKeys(lostPvcs.toArray(String[]::new));
    long listStart = System.nanoTime();
    List<Csi.ListVolumesResponse.Entry> entries = csi.listVolumes(
        Csi.ListVolumesRequest.getDefaultInstance()).getEntriesList();
    long listMs = millisSince(listStart);
    assertThat(entries).hasSize(9);
    for (Csi.ListVolumesResponse.Entry e : entries) {
      boolean onCut = holders.get(e.getVolume().getVolumeId()).equals(CUT);
      assertThat(e.getStatus().getVolumeCondition().getAbnormal())
          .as(e.getVolume().getVolumeId()).isEqualTo(onCut);
      if (onCut) {
        assertThat(e.getStatus().getVolumeCondition().getMessage())
            .startsWith("engine node-b unreachable since ");
      }
    }
    Csi.ControllerGetVolumeResponse got = csi.controllerGetVolume(
        Csi.ControllerGetVolumeRequest.newBuilder().setVolumeId(onB).build());
    assertThat(got.getStatus().getVolumeCondition().getAbnormal()).isTrue();
    assertThat(got.getStatus().getVolumeCondition().getMessage())
        .startsWith("engine node-b unreachable since ");
    assertCode(() -> publish(onB), Code.UNAVAILABLE, "engine node-b unreachable");
    System.out.printf("pool partition: node-b's %d PVC events and abnormal volumes %d ms after "
        + "the link went down (bound %d ms); ListVolumes took %d ms%n", lostPvcs.size(),
        eventsMs, UNREACHABLE_BOUND.toMillis(), listMs);
    assertThat(Duration.ofMillis(eventsMs)).isLessThan(UNREACHABLE_BOUND.plus(SLACK));
    assertThat(Duration.ofMillis(listMs)).as("ListVolumes waits on no engine").isLessThan(PROMPT);

    // the other engines: untouched, new volumes land there, nothing waits on node-b
    long publishStart = System.nanoTime();
    Csi.ControllerPublishVolumeResponse onNodeA = publish(onA);
    long publishMs = millisSince(publishStart);
    assertThat(Duration.ofMillis(publishMs)).as("publish on node-a").isLessThan(PROMPT);
    assertInquiry(onNodeA);
    long createStart = System.nanoTime();
    for (int i = 9; i < 13; i++) {
      create("pvc-" + i);
    }
    long createMs = millisSince(createStart);
    assertThat(perEngine(holders())).containsEntry("node-a", 5L).containsEntry("node-c", 5L)
        .doesNotContainKey(CUT);
    assertThat(Duration.ofMillis(createMs)).as("4 CreateVolume calls")
        .isLessThan(PROMPT.multipliedBy(4));
    System.out.printf("pool partition: with node-b cut off, publish on node-a %d ms, "
        + "4 CreateVolume %d ms%n", publishMs, createMs);
    Thread.sleep(EngineHealth.PROBE_INTERVAL.toMillis());
    assertThat(unreachableEvents().values()).as("one event per PVC for the transition")
        .allSatisfy(n -> assertThat(n).isEqualTo(1));

    // the link is back: the same process, the same incarnation, Ready; its volumes resume
    ns.restore();
    long restored = System.nanoTime();
    await(() -> state(CUT) == EngineState.READY, JOIN, "node-b Ready again");
    long readyMs = millisSince(restored);
    assertThat(directory.member(CUT).orElseThrow().incarnation()).isEqualTo(incarnation);
    await(() -> csi.listVolumes(Csi.ListVolumesRequest.getDefaultInstance()).getEntriesList()
        .stream().noneMatch(e -> e.getStatus().getVolumeCondition().getAbnormal()),
        PROMPT, "every volume normal");
    assertThat(csi.listVolumes(Csi.ListVolumesRequest.getDefaultInstance()).getEntriesList())
        .hasSize(13);
    assertInquiry(publish(onB));
    System.out.printf("pool partition: node-b Ready %d ms after the link came back%n", readyMs);
  }

  private void startController() throws Exception {
    String name = "pool-partition-" + UUID.randomUUID();
    ClusterObjects objects = new ClusterObjects(ChapSecretStore.ENGINE_ONLY,
        new PvcEvents(client, new EventRecorder(client, "pool-partition")));
    ControllerService controller = new ControllerService(directory, ControllerConfig.defaults(),
        () -> true, objects);
    csiServer = InProcessServerBuilder.forName(name).directExecutor().addService(controller)
        .build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    csi = ControllerGrpc.newBlockingStub(channel);
  }

  private EngineState state(String name) {
    return directory.byName(name).map(Engine::state).orElse(null);
  }

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

  private Csi.ControllerPublishVolumeResponse publish(String volumeId) {
    return csi.controllerPublishVolume(Csi.ControllerPublishVolumeRequest.newBuilder()
        .setVolumeId(volumeId).setNodeId(NODE_A).setVolumeCapability(
            mount(Mode.SINGLE_NODE_WRITER)).putAllSecrets(CHAP).build());
  }

  private static void assertInquiry(Csi.ControllerPublishVolumeResponse r) throws Exception {
    Libiscsi.Result inq = Libiscsi.run(CHAP, "iscsi-inq", "-i", NODE_A, Libiscsi.url(r));
    assertThat(inq.exit()).as(inq.output()).isZero();
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
