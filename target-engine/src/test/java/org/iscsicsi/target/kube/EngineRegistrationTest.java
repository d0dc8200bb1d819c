package org.iscsicsi.target.kube;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.engine.EngineConfig;
import org.iscsicsi.target.engine.EngineNaming;
import org.iscsicsi.target.engine.TargetEngine;
import org.iscsicsi.target.v1.CreateLunRequest;
import org.iscsicsi.target.v1.CreateSnapshotRequest;
import org.iscsicsi.target.v1.CreateTargetRequest;
import org.iscsicsi.target.v1.GetEngineInfoRequest;
import org.iscsicsi.target.v1.LunRef;
import org.iscsicsi.target.v1.TargetAdminGrpc;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * A real engine (in process, iSCSI on a free port) registering with fabric8's mock API server in
 * CRUD mode, which serves the project's own IscsiEngine CRD (status subresource): the object is
 * created once and adopted after a restart, the Lease is renewed every 2 s with a new holder per
 * incarnation, the report carries the CRD's fields and a change within a second or two, close
 * reports shuttingDown, nothing is written while the Node lacks the storage-node label, an
 * object being deleted is adopted but never recreated once it is gone, and an unreachable API
 * server is retried without holding up the engine.
 */
@EnableKubernetesMockClient(crud = true)
class EngineRegistrationTest {

  static final String NS = "iscsi-csi";
  static final String NODE = "node-a";
  static final String ZONE = "topology.kubernetes.io/zone";
  static final Duration WAIT = Duration.ofSeconds(20);
  static final Path CRD = Path.of("../controller/src/main/resources/crd/iscsiengines.yaml");

  // instance fields: a fresh mock API server per test
  KubernetesClient client;
  KubernetesMockServer server;

  @TempDir Path dir;

  private final List<AutoCloseable> open = new ArrayList<>();
  private TargetEngine engine;

  @BeforeEach
  void crd() throws IOException {
    try (InputStream in = Files.newInputStream(CRD)) {
      CustomResourceDefinition crd = client.apiextensions().v1().customResourceDefinitions()
          .load(in).item();
      client.apiextensions().v1().customResourceDefinitions().resource(crd).create();
    }
  }

  @AfterEach
  void closeAll() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  /** First start creates the object; a restart adopts it and takes over the Lease. */
  @Test
  void createsOnceRenewsEveryTwoSecondsAndAdoptsAfterRestart() throws Exception {
    node(true);
    EngineRegistration first = register(startEngine());
    String incarnation1 = engine.identity().incarnation();
    GenericKubernetesResource created = awaitReport();
    String uid = created.getMetadata().getUid();

    Lease lease = awaitLease();
    assertThat(lease.getSpec().getHolderIdentity()).isEqualTo(NODE + "/" + incarnation1);
    assertThat(lease.getSpec().getLeaseDurationSeconds()).isEqualTo(6);
    assertThat(lease.getMetadata().getOwnerReferences()).as("deleted with the object")
        .singleElement().satisfies(o -> {
          assertThat(o.getKind()).isEqualTo("IscsiEngine");
          assertThat(o.getName()).isEqualTo(NODE);
          assertThat(o.getUid()).isEqualTo(uid);
        });
    ZonedDateTime renewed = lease.getSpec().getRenewTime();
    long start = System.nanoTime();
    await().atMost(WAIT).until(() -> lease().getSpec().getRenewTime().isAfter(renewed));
    ZonedDateTime renewedAgain = lease().getSpec().getRenewTime();
    await().atMost(WAIT).until(() -> lease().getSpec().getRenewTime().isAfter(renewedAgain));
    double twoRenewals = (System.nanoTime() - start) / 1e9;
    assertThat(twoRenewals).as("two renewals, 2 s apart").isBetween(2.0, 8.0);
    Duration apart = Duration.between(renewedAgain, lease().getSpec().getRenewTime());
    assertThat(apart).isBetween(Duration.ofMillis(1500), Duration.ofMillis(3500));

    first.close();
    assertThat(report(object())).containsEntry("shuttingDown", true);
    open.remove(first);
    closeEngine();

    EngineRegistration second = register(startEngine());
    String incarnation2 = engine.identity().incarnation();
    assertThat(incarnation2).isNotEqualTo(incarnation1);
    await().atMost(WAIT).until(() -> incarnation2.equals(report(object()).get("incarnation")));
    assertThat(object().getMetadata().getUid()).as("not created again").isEqualTo(uid);
    assertThat(report(object())).containsEntry("shuttingDown", false);
    await().atMost(WAIT).until(() -> (NODE + "/" + incarnation2)
        .equals(lease().getSpec().getHolderIdentity()));
    assertThat(lease().getSpec().getLeaseTransitions()).isEqualTo(1);
    assertThat(second.phase()).isEqualTo(EngineRegistration.Phase.REGISTERED);
    assertThat(client.genericKubernetesResources(IscsiEngines.CONTEXT).list().getItems())
        .hasSize(1);
  }

  /** The report's fields, and a new volume, snapshot or capacity reported without waiting 15 s. */
  @Test
  void reportFieldsAndChangesPushedAtOnce() throws Exception {
    node(true);
    register(startEngine());
    Map<String, Object> r = report(awaitReport());
    String portal = engine.iscsiAddress().toString();
    assertThat(r).containsEntry("node", NODE)
        .containsEntry("incarnation", engine.identity().incarnation())
        .containsEntry("portals", List.of(portal)).containsEntry("portal", portal)
        .containsEntry("adminAddress", "10.0.0.11:3262").containsEntry("replicationAddress", "")
        .containsEntry("topology", Map.of(ZONE, "zone-a"))
        .containsEntry("volumes", 0).containsEntry("snapshots", 0).containsEntry("sessions", 0)
        .containsEntry("shuttingDown", false).containsEntry("allocated", "0 (0%)")
        .containsKeys("version", "reportedAt");
    assertThat((String) r.get("capacity")).matches("[0-9]+(Ki|Mi|Gi|Ti|Pi)");
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> backends = (List<Map<String, Object>>) r.get("backends");
    assertThat(backends).singleElement().satisfies(b -> {
      assertThat(b).containsEntry("name", "fileio").containsEntry("type", "fileio")
          .containsKeys("totalBytes", "availableBytes", "provisionedBytes", "allocatedBytes");
      assertThat(((Number) b.get("totalBytes")).longValue()).isPositive();
    });
    assertThat(TargetAdminGrpc.newBlockingStub(engine.adminChannel())
        .getEngineInfo(GetEngineInfoRequest.getDefaultInstance()).getTopologyMap())
        .as("GetEngineInfo too").isEqualTo(Map.of(ZONE, "zone-a"));

    var admin = TargetAdminGrpc.newBlockingStub(engine.adminChannel());
    String iqn = "iqn.2026-11.org.example:pushed";
    long before = System.nanoTime();
    admin.createTarget(CreateTargetRequest.newBuilder().setName(iqn).build());
    admin.createLun(CreateLunRequest.newBuilder().setTarget(iqn).setLun(0)
        .setSizeBytes(64L << 20).build());
    admin.createSnapshot(CreateSnapshotRequest.newBuilder().setId("snap-1")
        .setSource(LunRef.newBuilder().setTarget(iqn).setLun(0)).build());
    await().atMost(WAIT).until(() -> {
      Map<String, Object> now = report(object());
      return Integer.valueOf(1).equals(now.get("volumes"))
          && Integer.valueOf(1).equals(now.get("snapshots"))
          && !"0 (0%)".equals(now.get("allocated"));
    });
    assertThat((System.nanoTime() - before) / 1e9).as("well before the 15 s period")
        .isLessThan(10);
    assertThat((String) report(object()).get("allocated")).startsWith("64Mi (");
  }

  /** Without the storage-node label nothing is written; once labelled, the engine registers. */
  @Test
  void waitsForTheStorageNodeLabel() throws Exception {
    node(false);
    EngineRegistration r = register(startEngine());
    await("nothing written while unlabelled").during(Duration.ofSeconds(3))
        .atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(200))
        .until(() -> client.genericKubernetesResources(IscsiEngines.CONTEXT).list().getItems()
            .isEmpty() && client.leases().inNamespace(NS).list().getItems().isEmpty()
            && r.phase() == EngineRegistration.Phase.WAITING);
    node(true);
    awaitReport();
    awaitLease();
  }

  /** An object being deleted is adopted, never replaced; once gone it is not created again. */
  @Test
  void deletingObjectIsNotRecreated() throws Exception {
    node(true);
    var objects = client.genericKubernetesResources(IscsiEngines.CONTEXT);
    objects.resource(new GenericKubernetesResourceBuilder()
        .withApiVersion("iscsi.csi.iscsicsi.org/v1alpha1").withKind("IscsiEngine")
        .withNewMetadata().withName(NODE)
        .withFinalizers("iscsi.csi.iscsicsi.org/engine-volumes").endMetadata().build()).create();
    objects.withName(NODE).delete();
    GenericKubernetesResource deleting = object();
    assertThat(deleting.getMetadata().getDeletionTimestamp()).isNotNull();

    EngineRegistration r = register(startEngine());
    awaitReport();
    assertThat(object().getMetadata().getUid()).isEqualTo(deleting.getMetadata().getUid());
    assertThat(object().getMetadata().getDeletionTimestamp()).isNotNull();
    awaitLease();

    objects.withName(NODE).edit(o -> {
      o.getMetadata().setFinalizers(List.of());
      return o;
    });
    await().atMost(WAIT).until(() -> objects.withName(NODE).get() == null);
    await().atMost(WAIT).until(() -> r.phase() == EngineRegistration.Phase.REMOVED);
    await("a removed engine does not come back").during(Duration.ofMillis(2500))
        .atMost(Duration.ofSeconds(4)).pollInterval(Duration.ofMillis(200))
        .until(() -> objects.withName(NODE).get() == null);
  }

  /**
   * An API server that does not answer leaves the engine serving: registration stays WAITING,
   * says what failed (the object, the node and the error) and retries with growing delays,
   * while the engine's own admin API answers at once.
   */
  @Test
  void unreachableApiServerIsRetriedAndNeverBlocksTheEngine() throws Exception {
    Logger registrationLog = (Logger) LoggerFactory.getLogger(EngineRegistration.class);
    ListAppender<ILoggingEvent> lines = new ListAppender<>();
    lines.start();
    registrationLog.addAppender(lines);
    Level level = registrationLog.getLevel();
    registrationLog.setLevel(Level.DEBUG); // repeated failures are logged at DEBUG
    Config config = Config.empty();
    config.setMasterUrl("http://127.0.0.1:" + closedPort());
    config.setRequestRetryBackoffLimit(0);
    config.setRequestTimeout(1000);
    try (KubernetesClient unreachable = new KubernetesClientBuilder().withConfig(config).build()) {
      TargetEngine e = startEngine();
      EngineRegistration r = EngineRegistration.start(unreachable, RegistrationSettings.of(NODE,
          e.identity().incarnation(), NODE, NS, List.of(), ""),
          EngineView.of(e.adminChannel(), Duration.ofSeconds(10)), e::topology);
      open.add(r);
      await().atMost(WAIT).until(() -> lines.list.stream().map(ILoggingEvent::getFormattedMessage)
          .anyMatch(m -> m.startsWith("registering IscsiEngine/" + NODE + " (Node " + NODE
              + ") failed (attempt 1), retrying in 1000 ms") && m.contains("Connection refused")));
      await().atMost(WAIT).until(() -> lines.list.stream().map(ILoggingEvent::getFormattedMessage)
          .anyMatch(m -> m.contains("failed again (attempt 3)")));
      long t = System.nanoTime();
      assertThat(TargetAdminGrpc.newBlockingStub(e.adminChannel())
          .getEngineInfo(GetEngineInfoRequest.getDefaultInstance()).getName()).isEqualTo(NODE);
      assertThat((System.nanoTime() - t) / 1e9).as("admin API not held up").isLessThan(2);
      assertThat(r.phase()).isEqualTo(EngineRegistration.Phase.WAITING);
    } finally {
      registrationLog.detachAppender(lines);
      registrationLog.setLevel(level);
    }
  }

  private static int closedPort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private TargetEngine startEngine() throws IOException {
    engine = TargetEngine.start(EngineConfig.of(dir.resolve("state"))
        .withPortal(new HostPort("127.0.0.1", 0))
        .withNaming(new EngineNaming(null, NODE, false)));
    open.add(this::closeEngine);
    return engine;
  }

  private void closeEngine() {
    if (engine != null) {
      engine.close();
      engine = null;
    }
  }

  private EngineRegistration register(TargetEngine e) {
    RegistrationSettings s = RegistrationSettings.of(e.identity().name(),
        e.identity().incarnation(), e.identity().node(), NS, List.of(ZONE, "absent-key"),
        "10.0.0.11:3262");
    EngineRegistration r = EngineRegistration.start(client, s,
        EngineView.of(e.adminChannel(), Duration.ofSeconds(10)), e::topology);
    open.add(r);
    return r;
  }

  private void node(boolean storage) {
    Map<String, String> labels = storage
        ? Map.of(ZONE, "zone-a", IscsiEngines.STORAGE_NODE_LABEL, "true") : Map.of(ZONE, "zone-a");
    if (client.nodes().withName(NODE).get() == null) {
      client.nodes().resource(new NodeBuilder().withNewMetadata().withName(NODE)
          .withLabels(labels).endMetadata().build()).create();
    } else {
      client.nodes().withName(NODE).edit(n -> {
        n.getMetadata().setLabels(labels);
        return n;
      });
    }
  }

  private GenericKubernetesResource object() {
    return client.genericKubernetesResources(IscsiEngines.CONTEXT).withName(NODE).get();
  }

  private GenericKubernetesResource awaitReport() {
    await().atMost(WAIT).until(() -> object() != null && !report(object()).isEmpty());
    return object();
  }

  @SuppressWarnings("unchecked")
  private Map<String, Object> report(GenericKubernetesResource o) {
    Map<String, Object> status = o.get("status");
    return status == null ? Map.of()
        : (Map<String, Object>) status.getOrDefault("report", Map.of());
  }

  private Lease lease() {
    return client.leases().inNamespace(NS).withName("iscsi-engine-" + NODE).get();
  }

  private Lease awaitLease() {
    await().atMost(WAIT).until(() -> lease() != null);
    return lease();
  }
}
