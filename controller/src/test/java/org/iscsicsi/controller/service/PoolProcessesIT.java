package org.iscsicsi.controller.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;
import static org.iscsicsi.controller.service.ControllerFixture.createRequest;
import static org.iscsicsi.controller.service.ControllerFixture.mount;
import static org.iscsicsi.controller.service.GrpcAssert.assertCode;

import csi.v1.ControllerGrpc;
import csi.v1.Csi;
import csi.v1.Csi.VolumeCapability.AccessMode.Mode;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaimBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status.Code;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.engine.EngineDirectory;
import org.iscsicsi.controller.engine.EngineHealth;
import org.iscsicsi.controller.engine.EngineState;
import org.iscsicsi.controller.engine.RemoteEngine;
import org.iscsicsi.controller.kube.EngineDrainStatus;
import org.iscsicsi.controller.kube.EngineInformer;
import org.iscsicsi.controller.kube.EngineRemoval;
import org.iscsicsi.controller.kube.EventRecorder;
import org.iscsicsi.controller.kube.PoolEngineProcess;
import org.iscsicsi.controller.kube.PoolFixture;
import org.iscsicsi.controller.kube.PvcEvents;
import org.iscsicsi.controller.testing.TargetEngineLauncher;
import org.iscsicsi.target.admin.AdminTls;
import org.iscsicsi.target.kube.IscsiEngines;
import org.iscsicsi.target.testing.Exec;
import org.iscsicsi.target.testing.PoolObjects;
import org.iscsicsi.target.testing.QemuIo;
import org.iscsicsi.target.testing.RealApiServer;
import org.iscsicsi.target.testing.TestPki;
import org.iscsicsi.target.v1.ListSnapshotsRequest;
import org.iscsicsi.target.v1.Lun;
import org.iscsicsi.target.v1.Snapshot;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cordon, drain and remove over real parts: three {@code target-engine serve --kubernetes
 * --replication} processes (own state directories, portals, admin and replication ports, mutual
 * TLS from TestPki) that register themselves in a real kube-apiserver and etcd
 * ({@link RealApiServer}), and in this process the controller as {@code serve --pool} wires it:
 * the EngineDirectory with its informer and probe loop, ControllerService, the drainer reporting
 * to EngineDrainStatus, and EngineRemoval (their passes run by the test instead of timers).
 * Pins: cordoned engines ({@code spec.unschedulable}) get no new volume; {@code spec.drain} moves
 * a detached volume written by qemu-io over iSCSI, with its snapshot, to another engine process
 * (volume id, NAA, serial and snapshot id unchanged, SHA-256 of the LUN and snapshot files
 * equal, the pattern read back over iSCSI from the new engine) with {@code status.drain} and
 * the DrainStarted, VolumeMoved (also on the PVC) and DrainBlocked events, while an attached
 * volume is listed and stays; deleting the engine's IscsiEngine is held by the finalizer while
 * it holds a volume (RemoveBlocked), and once that volume is detached and moved the object goes
 * (Drained, EngineRemoved); the force-remove annotation lets an engine holding volumes go at
 * once (EngineForceRemoved), after which they are NOT_FOUND and DeleteVolume succeeds. Prints
 * the drain's MiB/s and times.
 */
class PoolProcessesIT {

  static final List<String> NAMES = List.of("node-a", "node-b", "node-c");
  static final String NS = PoolFixture.NAMESPACE;
  static final String APPS = "apps";
  /** Where the events about IscsiEngines (cluster-scoped) are. */
  static final String ENGINE_EVENTS = EventRecorder.CLUSTER_SCOPED_NAMESPACE;
  static final String INI = "iqn.2026-12.org.example:qemu";
  static final long MIB = 1 << 20;
  static final long SIZE = 64 * MIB;
  /** What qemu-io writes into the volume that is moved, before and after its snapshot. */
  static final long WRITTEN = 40 * MIB;
  static final long REWRITTEN = 4 * MIB;
  static final Duration WAIT = Duration.ofSeconds(60);
  static final Duration QEMU_IO = Duration.ofSeconds(120);

  @TempDir Path dir;
  RealApiServer server;
  KubernetesClient client;
  PoolFixture objects;
  final Map<String, PoolEngineProcess> engines = new LinkedHashMap<>();
  final List<AutoCloseable> closing = new ArrayList<>();
  Server csiServer;
  ManagedChannel channel;
  ControllerGrpc.ControllerBlockingStub csi;
  EngineDirectory directory;
  EngineInformer informer;
  ControllerService controller;
  EngineDrainStatus drainStatus;
  EngineRemoval removal;

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
    if (client != null) {
      client.close();
    }
    if (server != null) {
      server.close();
    }
  }

  @Test
  void cordonDrainAndRemoveEngineProcesses() throws Exception {
    assumeThat(TargetEngineLauncher.missing()).as("target-engine launcher").isEmpty();
    assumeThat(TestPki.available()).as("openssl installed").isTrue();
    assumeThat(Exec.available("qemu-io")).as("qemu-io (qemu-utils, qemu-block-extra)")
        .isTrue();
    Optional<Path> k8s = RealApiServer.built();
    assumeThat(k8s).as("kube-apiserver built (e2e/cluster/build.sh or ISCSI_CSI_K8S_DIR)")
        .isPresent();
    long t0 = System.nanoTime();
    server = RealApiServer.start(k8s.get(), Files.createDirectories(dir.resolve("k8s")));
    client = server.client();
    PoolObjects.install(client, Path.of("src/main/resources/crd"), NS, NAMES, WAIT);
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(APPS)
        .endMetadata().build()).create();
    objects = new PoolFixture(client);
    TestPki engineCa = TestPki.create(dir, "engines");
    TestPki controllerCa = TestPki.create(dir, "controllers");
    TestPki.Identity engineCert = engineCa.issue("engine",
        List.of(RemoteEngine.POOL_SERVER_NAME));
    for (String name : NAMES) {
      PoolEngineProcess e = new PoolEngineProcess(name, dir, engineCert, controllerCa,
          server.kubeconfig()).withReplication(engineCa);
      engines.put(name, e);
      e.start();
    }
    for (PoolEngineProcess e : engines.values()) {
      e.awaitServing();
    }
    startController(TestPki.tls(controllerCa.issue("controller"), engineCa));
    awaitStates(Map.of("node-a", EngineState.READY, "node-b", EngineState.READY,
        "node-c", EngineState.READY));
    assertThat(removal.pass()).as("the finalizer on every engine").hasSize(3)
        .containsValue(EngineRemoval.Step.FINALIZER_ADDED);
    System.out.printf("PoolProcessesIT: API server and three engines Ready %d ms after start%n",
        millisSince(t0));

    // cordon: with node-b and node-c cordoned, new volumes land on node-a only
    objects.setSpec("node-b", "unschedulable", true);
    objects.setSpec("node-c", "unschedulable", true);
    awaitStates(Map.of("node-b", EngineState.CORDONED, "node-c", EngineState.CORDONED));
    String moved = create("pvc-moved");
    String attached = create("pvc-attached");
    assertThat(holder(moved)).isEqualTo("node-a");
    assertThat(holder(attached)).isEqualTo("node-a");
    objects.setSpec("node-b", "unschedulable", false);
    objects.setSpec("node-c", "unschedulable", false);
    objects.setSpec("node-a", "unschedulable", true);
    awaitStates(Map.of("node-a", EngineState.CORDONED, "node-b", EngineState.READY,
        "node-c", EngineState.READY));
    String elsewhere = create("pvc-elsewhere");
    assertThat(holder(elsewhere)).as("not the cordoned node-a").isNotEqualTo("node-a");

    // the volume to move: a pattern, a snapshot of it, part of it written over afterwards
    qemuIo(moved, "write -P 0x5a 0 " + WRITTEN);
    Csi.Snapshot snap = csi.createSnapshot(Csi.CreateSnapshotRequest.newBuilder()
        .setName("snap-moved").setSourceVolumeId(moved).build()).getSnapshot();
    qemuIo(moved, "write -P 0xa5 0 " + REWRITTEN);
    Engine a = directory.byName("node-a").orElseThrow();
    Lun before = lun(a, moved);
    Snapshot snapBefore = snapshots(a).getFirst();
    String lunSha = ReplicatingPool.sha256(Path.of(before.getPath()));
    String snapSha = ReplicatingPool.sha256(Path.of(snapBefore.getPath()));
    publish(attached);

    // drain node-a: the detached volume moves with its snapshot, the attached one stays
    objects.setSpec("node-a", "drain", true);
    awaitStates(Map.of("node-a", EngineState.DRAINING));
    long drainStart = System.nanoTime();
    List<Drainer.Result> results = controller.drainer().pass();
    long drainMs = millisSince(drainStart);
    drainStatus.flush();
    Drainer.Result move = results.stream().filter(r -> r.outcome() == Drainer.Outcome.MOVED)
        .findFirst().orElseThrow(() -> new AssertionError("nothing moved: " + results));
    assertThat(results).extracting(Drainer.Result::volumeId, Drainer.Result::outcome)
        .containsExactlyInAnyOrder(tuple(moved,
            Drainer.Outcome.MOVED), tuple(attached,
            Drainer.Outcome.ATTACHED));
    String destination = move.detail();
    assertThat(destination).isIn("node-b", "node-c");
    assertThat(holder(moved)).isEqualTo(destination);
    assertThat(holder(attached)).isEqualTo("node-a");
    Engine to = directory.byName(destination).orElseThrow();
    Lun after = lun(to, moved);
    assertThat(after.getNaa()).isEqualTo(before.getNaa());
    assertThat(after.getSerial()).isEqualTo(before.getSerial());
    assertThat(after.getSizeBytes()).isEqualTo(SIZE);
    assertThat(ReplicatingPool.sha256(Path.of(after.getPath()))).isEqualTo(lunSha);
    assertThat(snapshots(to)).singleElement().satisfies(s -> {
      assertThat(s.getId()).isEqualTo(snapBefore.getId());
      assertThat(s.getCreatedUnixNanos()).isEqualTo(snapBefore.getCreatedUnixNanos());
      assertThat(ReplicatingPool.sha256(Path.of(s.getPath()))).isEqualTo(snapSha);
    });
    assertThat(snapshots(a)).as("the source's snapshot deleted").isEmpty();
    assertThat(csi.getSnapshot(Csi.GetSnapshotRequest.newBuilder()
        .setSnapshotId(snap.getSnapshotId()).build()).getSnapshot().getSourceVolumeId())
        .isEqualTo(moved);
    assertThat(drain("node-a")).containsEntry("total", 2).containsEntry("moved", 1)
        .containsEntry("remaining", 1).containsEntry("attached", List.of(attached));
    await().atMost(WAIT).until(() -> events(ENGINE_EVENTS, DrainEvent.BLOCKED).size() == 1);
    assertThat(events(ENGINE_EVENTS, DrainEvent.STARTED)).singleElement().satisfies(m ->
        assertThat(m).contains("node-a").contains("2 volume(s)"));
    assertThat(events(ENGINE_EVENTS, DrainEvent.MOVED)).singleElement().satisfies(m ->
        assertThat(m).startsWith("volume " + moved + " moved to engine " + destination));
    assertThat(events(ENGINE_EVENTS, DrainEvent.BLOCKED)).singleElement().satisfies(m ->
        assertThat(m).contains(attached));
    await().atMost(WAIT).until(() -> events(APPS, VolumeEvents.MOVED).size() == 1);
    double mibPerS = move.bytes() / (double) MIB / (drainMs / 1000.0);
    System.out.printf("PoolProcessesIT: drain pass moved %d MiB (volume of %d MiB with a "
        + "snapshot) node-a -> %s in %d ms, %.1f MiB/s%n", move.bytes() / MIB, SIZE / MIB,
        destination, drainMs, mibPerS);
    // the bytes over iSCSI from the new engine: the rewrite, then the snapshot's pattern
    qemuIo(moved, "read -P 0xa5 0 " + REWRITTEN,
        "read -P 0x5a " + REWRITTEN + " " + (WRITTEN - REWRITTEN));

    // remove node-a: held while it holds the attached volume, let go once that moved too
    client.nodes().withName("node-a").edit(n -> {
      n.getMetadata().getLabels().remove(IscsiEngines.STORAGE_NODE_LABEL);
      return n;
    });
    objects.delete("node-a");
    assertThat(objects.get("node-a")).as("held by the finalizer").isNotNull();
    awaitStates(Map.of("node-a", EngineState.REMOVING));
    await().atMost(WAIT).until(() -> informer.object("node-a")
        .filter(o -> o.getMetadata().getDeletionTimestamp() != null).isPresent());
    assertThat(removal.pass()).containsExactly(Map.entry("node-a",
        EngineRemoval.Step.BLOCKED));
    await().atMost(WAIT).until(() -> events(ENGINE_EVENTS, EngineRemoval.BLOCKED).size() == 1);
    assertThat(events(ENGINE_EVENTS, EngineRemoval.BLOCKED).getFirst()).contains(attached);
    csi.controllerUnpublishVolume(Csi.ControllerUnpublishVolumeRequest.newBuilder()
        .setVolumeId(attached).setNodeId(INI).build());
    long secondStart = System.nanoTime();
    assertThat(controller.drainer().pass()).extracting(Drainer.Result::volumeId,
        Drainer.Result::outcome).containsExactly(tuple(attached,
        Drainer.Outcome.MOVED));
    long secondMs = millisSince(secondStart);
    await().atMost(WAIT).until(() -> events(ENGINE_EVENTS, DrainEvent.DRAINED).size() == 1);
    long removeStart = System.nanoTime();
    assertThat(removal.pass()).containsExactly(Map.entry("node-a",
        EngineRemoval.Step.REMOVED));
    await().atMost(WAIT).until(() -> objects.get("node-a") == null);
    await().atMost(WAIT).until(() -> events(ENGINE_EVENTS, EngineRemoval.REMOVED).size() == 1);
    System.out.printf("PoolProcessesIT: second drain pass (the unpublished volume) %d ms; "
        + "node-a's object gone %d ms after its removal pass began%n", secondMs,
        millisSince(removeStart));
    assertThat(holder(attached)).isNotEqualTo("node-a");
    assertThat(csi.controllerGetVolume(Csi.ControllerGetVolumeRequest.newBuilder()
        .setVolumeId(attached).build()).getStatus().getVolumeCondition().getAbnormal())
        .isFalse();

    // forced: the engine holding the moved volume goes at once, its volumes leave the pool
    String forced = holder(moved);
    List<String> lost = List.of(moved, attached, elsewhere).stream()
        .filter(v -> forced.equals(holder(v))).sorted().toList();
    client.genericKubernetesResources(EngineInformer.CONTEXT).withName(forced).edit(o -> {
      o.getMetadata().getAnnotations().put(EngineRemoval.FORCE, "true");
      return o;
    });
    objects.delete(forced);
    await().atMost(WAIT).until(() -> informer.object(forced).filter(o ->
        o.getMetadata().getDeletionTimestamp() != null && "true".equals(
            o.getMetadata().getAnnotations().get(EngineRemoval.FORCE))).isPresent());
    assertThat(removal.pass()).containsExactly(Map.entry(forced, EngineRemoval.Step.FORCED));
    await().atMost(WAIT).until(() -> objects.get(forced) == null);
    await().atMost(WAIT).until(() -> events(ENGINE_EVENTS, EngineRemoval.FORCED).size() == 1);
    assertThat(events(ENGINE_EVENTS, EngineRemoval.FORCED).getFirst()).contains(lost);
    for (String v : lost) {
      assertCode(() -> csi.controllerGetVolume(Csi.ControllerGetVolumeRequest.newBuilder()
          .setVolumeId(v).build()), Code.NOT_FOUND, v);
      csi.deleteVolume(Csi.DeleteVolumeRequest.newBuilder().setVolumeId(v).build());
    }
    assertThat(csi.listVolumes(Csi.ListVolumesRequest.getDefaultInstance()).getEntriesList())
        .extracting(e -> e.getVolume().getVolumeId()).doesNotContainAnyElementsOf(lost)
        .hasSize(3 - lost.size());
    System.out.printf("PoolProcessesIT: %s force-removed with %d volume(s); whole test %d ms%n",
        forced, lost.size(), millisSince(t0));
  }

  private void startController(AdminTls tls) throws Exception {
    directory = new EngineDirectory(RemoteEngine.poolChannels(tls), Duration.ofSeconds(30),
        Clock.systemUTC());
    closing.add(directory);
    closing.add(EngineHealth.start(directory));
    informer = EngineInformer.start(client, NS, directory);
    closing.add(informer);
    EventRecorder events = new EventRecorder(client, "pool-processes");
    controller = new ControllerService(directory, ControllerConfig.defaults(), () -> true,
        new ClusterObjects(ChapSecretStore.ENGINE_ONLY, new PvcEvents(client, events)));
    drainStatus = new EngineDrainStatus(client, informer, events, EngineDrainStatus.FLUSH);
    closing.add(drainStatus);
    controller.drainer().listen(drainStatus);
    removal = new EngineRemoval(client, informer, controller.inventory().orElseThrow(), events,
        () -> true);
    closing.add(removal);
    String name = "pool-processes-" + UUID.randomUUID();
    csiServer = InProcessServerBuilder.forName(name).directExecutor().addService(controller)
        .build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    csi = ControllerGrpc.newBlockingStub(channel);
  }

  private void awaitStates(Map<String, EngineState> wanted) {
    await().atMost(WAIT).pollInterval(Duration.ofMillis(100)).until(() ->
        wanted.entrySet().stream().allMatch(w -> directory.byName(w.getKey())
            .map(Engine::state).orElse(null) == w.getValue()));
  }

  /** Creates a 64 MiB volume without CHAP for PVC {@code name} in {@link #APPS}. */
  private String create(String name) {
    client.persistentVolumeClaims().inNamespace(APPS).resource(
        new PersistentVolumeClaimBuilder().withNewMetadata().withName(name)
            .withNamespace(APPS).endMetadata().withNewSpec().withAccessModes("ReadWriteOnce")
            .withNewResources().addToRequests("storage", new Quantity("64Mi")).endResources()
            .endSpec().build()).create();
    return csi.createVolume(createRequest(name, SIZE).putParameters("chap", "false")
        .putParameters("csi.storage.k8s.io/pvc/name", name)
        .putParameters("csi.storage.k8s.io/pvc/namespace", APPS).build()).getVolume()
        .getVolumeId();
  }

  /** The engine whose target holds {@code volumeId}, asked of every reachable engine. */
  private String holder(String volumeId) {
    List<String> on = directory.all().stream().filter(e -> e.state().reachable())
        .filter(e -> e.client().findTarget(iqn(volumeId)).isPresent()).map(Engine::name)
        .toList();
    assertThat(on).as("engines holding " + volumeId).hasSize(1);
    return on.getFirst();
  }

  private static String iqn(String volumeId) {
    return ControllerConfig.defaults().iqnPrefix() + ":" + volumeId;
  }

  private static Lun lun(Engine e, String volumeId) {
    return e.client().findTarget(iqn(volumeId)).orElseThrow().getLuns(0);
  }

  private static List<Snapshot> snapshots(Engine e) {
    return e.client().listSnapshots(ListSnapshotsRequest.getDefaultInstance());
  }

  private Csi.ControllerPublishVolumeResponse publish(String volumeId) {
    return csi.controllerPublishVolume(Csi.ControllerPublishVolumeRequest.newBuilder()
        .setVolumeId(volumeId).setNodeId(INI)
        .setVolumeCapability(mount(Mode.SINGLE_NODE_WRITER)).build());
  }

  /** Publishes the volume to {@link #INI}, runs qemu-io's {@code commands} on it, unpublishes. */
  private void qemuIo(String volumeId, String... commands) throws Exception {
    String portal = publish(volumeId).getPublishContextOrThrow("portals").split(",")[0];
    Exec.Result r = Exec.run(QEMU_IO, QemuIo.argv(portal, iqn(volumeId), 0, INI,
        List.of(commands)));
    assertThat(r.exit()).as(r.output()).isZero();
    assertThat(r.output()).doesNotContain("error").doesNotContain("failed");
    csi.controllerUnpublishVolume(Csi.ControllerUnpublishVolumeRequest.newBuilder()
        .setVolumeId(volumeId).setNodeId(INI).build());
  }

  /** The messages of events with {@code reason} in {@code namespace}. */
  private List<String> events(String namespace, String reason) {
    return client.v1().events().inNamespace(namespace).list().getItems().stream()
        .filter(e -> reason.equals(e.getReason())).map(Event::getMessage).toList();
  }

  @SuppressWarnings("unchecked")
  private Map<String, Object> drain(String engine) {
    Map<String, Object> status = (Map<String, Object>) objects.get(engine)
        .getAdditionalProperties().get("status");
    return (Map<String, Object>) status.get("drain");
  }

  private static long millisSince(long nanos) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - nanos);
  }
}
