package org.iscsicsi.controller.kube;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.iscsicsi.controller.kube.PoolFixture.NAMESPACE;
import static org.iscsicsi.controller.kube.PoolFixture.await;
import static org.iscsicsi.controller.service.ControllerFixture.NODE_A;
import static org.iscsicsi.controller.service.ControllerFixture.createRequest;
import static org.iscsicsi.controller.service.ControllerFixture.mount;
import static org.iscsicsi.controller.service.GrpcAssert.assertCode;

import csi.v1.ControllerGrpc;
import csi.v1.Csi;
import csi.v1.Csi.VolumeCapability.AccessMode.Mode;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.grpc.Status.Code;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.iscsicsi.controller.engine.EngineDirectory;
import org.iscsicsi.controller.engine.EngineState;
import org.iscsicsi.controller.service.ControllerService;
import org.iscsicsi.controller.service.DrainEvent;
import org.iscsicsi.controller.service.ReplicatingPool;
import org.iscsicsi.controller.service.TestPool;
import org.iscsicsi.target.testing.TestPki;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Removing an engine and the drain as the API shows it, over two real engines with replication
 * ports behind {@link TestPool} (the CSI service, the index and the drainer on them in process)
 * and their IscsiEngine objects in fabric8's mock API server (CRUD mode, which keeps an object
 * with finalizers as deleting, as the API server does), read by the real informer. The engines'
 * states come from {@link TestPool#status}, as the directory would derive them from the objects.
 * Pins: every object gets the finalizer; a deleted one is held while the index places volumes on
 * it ({@code RemoveBlocked} once per change, naming the attached volume), its detached volume is
 * moved away ({@code status.drain} and the drain events on the object), and once it holds
 * nothing the finalizer goes and so does the object ({@code EngineRemoved}); the force
 * annotation lets an engine holding a volume go at once ({@code EngineForceRemoved}), after
 * which its volume is NOT_FOUND and DeleteVolume of it succeeds.
 */
@EnableKubernetesMockClient(crud = true)
class EngineRemovalTest {

  private static final long MIB = 1 << 20;
  private static final Duration WAIT = Duration.ofSeconds(20);

  static KubernetesClient client;
  static KubernetesMockServer server;

  static {
    PoolFixture.MOCK_LOG.setLevel(java.util.logging.Level.WARNING);
  }

  @TempDir Path dir;
  private PoolFixture objects;
  private ReplicatingPool fixture;
  private TestPool pool;
  private ControllerService service;
  private ControllerGrpc.ControllerBlockingStub csi;
  private EngineDirectory directory;
  private EngineInformer informer;
  private EngineDrainStatus drainStatus;
  private EngineRemoval removal;

  @BeforeEach
  void start() throws Exception {
    assumeThat(TestPki.available()).as("openssl installed").isTrue();
    objects = new PoolFixture(server, client);
    if (client.apiextensions().v1().customResourceDefinitions()
        .withName("iscsiengines.iscsi.csi.iscsicsi.org").get() == null) {
      objects.installCrd(); // as the chart does: status is a subresource
    }
    fixture = new ReplicatingPool(dir);
    pool = fixture.pool;
    service = fixture.service;
    csi = fixture.csi;
    // the informer needs a directory to feed; nothing probes it, the states are the TestPool's
    directory = new EngineDirectory(StandInEngine.CHANNELS, Duration.ofSeconds(5),
        Clock.systemUTC());
    informer = EngineInformer.start(client, NAMESPACE, directory);
    EventRecorder events = new EventRecorder(client, "controller-0");
    drainStatus = new EngineDrainStatus(client, informer, events, Duration.ofHours(1));
    service.drainer().listen(drainStatus);
    removal = new EngineRemoval(client, informer, service.inventory().orElseThrow(), events,
        () -> true);
    objects.register("e1", "127.0.0.1:1", "inc-e1");
    objects.register("e2", "127.0.0.1:2", "inc-e2");
    await(() -> informer.objects().size() == 2, WAIT, "the informer to list both objects");
  }

  @AfterEach
  void stop() throws Exception {
    if (fixture == null) {
      return;
    }
    drainStatus.close();
    removal.close();
    informer.close();
    directory.close();
    fixture.close();
    objects.deleteAll();
    client.v1().events().inNamespace(EventRecorder.CLUSTER_SCOPED_NAMESPACE).delete();
  }

  @Test
  void deletedEngineIsDrainedThenLetGo() throws Exception {
    assertThat(removal.pass()).containsExactlyInAnyOrderEntriesOf(Map.of(
        "e1", EngineRemoval.Step.FINALIZER_ADDED, "e2", EngineRemoval.Step.FINALIZER_ADDED));
    assertThat(objects.get("e1").getMetadata().getFinalizers())
        .containsExactly(EngineRemoval.FINALIZER);
    awaitInformer("e1", o -> o.getMetadata().getFinalizers().contains(EngineRemoval.FINALIZER));
    awaitInformer("e2", o -> o.getMetadata().getFinalizers().contains(EngineRemoval.FINALIZER));
    assertThat(removal.pass()).as("nothing more to do").isEmpty();

    pool.status("e2", EngineState.CORDONED, "so both volumes land on e1");
    String detached = csi.createVolume(createRequest("pvc-free", 8 * MIB).build()).getVolume()
        .getVolumeId();
    String attached = csi.createVolume(createRequest("pvc-used", 4 * MIB).build()).getVolume()
        .getVolumeId();
    Csi.ControllerPublishVolumeRequest publish = Csi.ControllerPublishVolumeRequest.newBuilder()
        .setVolumeId(attached).setNodeId(NODE_A)
        .setVolumeCapability(mount(Mode.SINGLE_NODE_WRITER)).build();
    csi.controllerPublishVolume(publish);
    pool.status("e2", EngineState.READY, "");

    objects.delete("e1");
    assertThat(objects.get("e1")).as("held by the finalizer").isNotNull()
        .satisfies(o -> assertThat(o.getMetadata().getDeletionTimestamp()).isNotNull());
    awaitInformer("e1", o -> o.getMetadata().getDeletionTimestamp() != null);
    pool.status("e1", EngineState.REMOVING, "deleted");

    assertThat(removal.pass()).containsExactly(Map.entry("e1", EngineRemoval.Step.BLOCKED));
    assertThat(removal.pass()).as("announced once while nothing changes").isEmpty();
    assertThat(events("e1", EngineRemoval.BLOCKED)).singleElement().satisfies(m -> assertThat(m)
        .contains("holds 2 volume(s)").contains("attached (stay until detached): " + attached)
        .contains(EngineRemoval.FORCE + "=true"));

    service.drainer().pass();
    drainStatus.flush();
    assertThat(drain("e1")).containsEntry("total", 2).containsEntry("moved", 1)
        .containsEntry("remaining", 1).containsEntry("pending", 0)
        .containsEntry("attached", List.of(attached)).doesNotContainKey("current");
    await(() -> events("e1", DrainEvent.BLOCKED).size() == 1, WAIT, "DrainBlocked");
    assertThat(events("e1", DrainEvent.STARTED)).singleElement().satisfies(m -> assertThat(m)
        .isEqualTo("engine e1 is being removed: moving its 2 volume(s) to other engines first"));
    assertThat(events("e1", DrainEvent.MOVED)).singleElement().satisfies(m -> assertThat(m)
        .startsWith("volume " + detached + " moved to engine e2"));
    assertThat(pool.get("e2").client().findTarget(ReplicatingPool.iqn(detached))).isPresent();
    assertThat(removal.pass()).as("what it holds changed").containsExactly(
        Map.entry("e1", EngineRemoval.Step.BLOCKED));

    csi.controllerUnpublishVolume(Csi.ControllerUnpublishVolumeRequest.newBuilder()
        .setVolumeId(attached).setNodeId(NODE_A).build());
    service.drainer().pass();
    await(() -> events("e1", DrainEvent.DRAINED).size() == 1, WAIT, "Drained");
    assertThat(drain("e1")).containsEntry("total", 2).containsEntry("moved", 2)
        .containsEntry("remaining", 0).containsEntry("attached", List.of());

    assertThat(removal.pass()).containsExactly(Map.entry("e1", EngineRemoval.Step.REMOVED));
    await(() -> objects.get("e1") == null, WAIT, "the object gone once its finalizer went");
    assertThat(events("e1", EngineRemoval.REMOVED)).hasSize(1);
    assertThat(csi.controllerGetVolume(Csi.ControllerGetVolumeRequest.newBuilder()
        .setVolumeId(attached).build()).getStatus().getVolumeCondition().getAbnormal())
        .as("served from e2").isFalse();
  }

  @Test
  void forcedRemovalLetsAnEngineHoldingVolumesGo() throws Exception {
    removal.pass();
    awaitInformer("e2", o -> o.getMetadata().getFinalizers().contains(EngineRemoval.FINALIZER));
    pool.status("e1", EngineState.CORDONED, "so the volume lands on e2");
    String lost = csi.createVolume(createRequest("pvc-lost", 4 * MIB).build()).getVolume()
        .getVolumeId();
    client.genericKubernetesResources(EngineInformer.CONTEXT).withName("e2").edit(o -> {
      o.getMetadata().getAnnotations().put(EngineRemoval.FORCE, "true");
      return o;
    });
    objects.delete("e2");
    awaitInformer("e2", o -> o.getMetadata().getDeletionTimestamp() != null
        && "true".equals(o.getMetadata().getAnnotations().get(EngineRemoval.FORCE)));

    assertThat(removal.pass()).containsExactly(Map.entry("e2", EngineRemoval.Step.FORCED));
    await(() -> objects.get("e2") == null, WAIT, "the forced object gone");
    assertThat(events("e2", EngineRemoval.FORCED)).singleElement().satisfies(m -> assertThat(m)
        .contains("1 volume(s) and 0 snapshot(s) left the pool: " + lost));
    pool.stop("e2"); // the engine goes with its object
    assertCode(() -> csi.controllerGetVolume(Csi.ControllerGetVolumeRequest.newBuilder()
        .setVolumeId(lost).build()), Code.NOT_FOUND, lost);
    csi.deleteVolume(Csi.DeleteVolumeRequest.newBuilder().setVolumeId(lost).build());
    assertThat(csi.listVolumes(Csi.ListVolumesRequest.getDefaultInstance()).getEntriesList())
        .isEmpty();
  }

  private void awaitInformer(String name,
      java.util.function.Predicate<GenericKubernetesResource> what) throws Exception {
    await(() -> informer.object(name).filter(what).isPresent(), WAIT,
        "the informer's copy of " + name);
  }

  /** The messages of the events with {@code reason} about IscsiEngine {@code engine}. */
  private static List<String> events(String engine, String reason) {
    return client.v1().events().inNamespace(EventRecorder.CLUSTER_SCOPED_NAMESPACE).list()
        .getItems().stream()
        .filter(e -> "IscsiEngine".equals(e.getInvolvedObject().getKind())
            && engine.equals(e.getInvolvedObject().getName()) && reason.equals(e.getReason()))
        .map(Event::getMessage).toList();
  }

  @SuppressWarnings("unchecked")
  private Map<String, Object> drain(String engine) {
    Map<String, Object> status = (Map<String, Object>) objects.get(engine)
        .getAdditionalProperties().get("status");
    return (Map<String, Object>) status.get("drain");
  }
}
