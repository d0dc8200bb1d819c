package org.iscsicsi.target.kube;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.testing.ServeProcess;
import org.iscsicsi.target.testing.TestPki;
import org.iscsicsi.target.v1.EngineInfo;
import org.iscsicsi.target.v1.GetEngineInfoRequest;
import org.iscsicsi.target.v1.TargetAdminGrpc;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged engine ({@code bin/target-engine serve --kubernetes}, its own process) against
 * fabric8's mock API server in this JVM (CRUD mode, the project's CRD): it registers under its
 * node's name, renews its Lease, reports the admin address at which a client with the
 * controller's certificate reaches it and finds the same name and incarnation (what the
 * controller checks before using an engine), and on SIGTERM reports shuttingDown before it exits,
 * after which the Lease is no longer renewed.
 */
@EnableKubernetesMockClient(crud = true, https = false)
class EngineRegistrationIT {

  static final String NS = "iscsi-csi";
  static final String NODE = "node-it";
  static final Duration WAIT = Duration.ofSeconds(90);

  KubernetesClient client;
  KubernetesMockServer server;

  @TempDir Path dir;

  Process engine;

  @AfterEach
  void stop() throws InterruptedException {
    if (engine != null) {
      engine.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void processRegistersRenewsAndAnnouncesItsShutdown() throws Exception {
    assumeThat(ServeProcess.unavailableReason()).as("packaged engine").isEmpty();
    assumeThat(TestPki.available()).as("openssl installed").isTrue();
    try (InputStream in = Files.newInputStream(EngineRegistrationTest.CRD)) {
      CustomResourceDefinition crd = client.apiextensions().v1().customResourceDefinitions()
          .load(in).item();
      client.apiextensions().v1().customResourceDefinitions().resource(crd).create();
    }
    client.nodes().resource(new NodeBuilder().withNewMetadata().withName(NODE)
        .addToLabels(IscsiEngines.STORAGE_NODE_LABEL, "true")
        .addToLabels("topology.kubernetes.io/zone", "zone-it").endMetadata().build()).create();
    TestPki engines = TestPki.create(dir, "engines");
    TestPki controllers = TestPki.create(dir, "controllers");
    TestPki.Identity serverId = engines.issue("engine");
    int portal = ServeProcess.freePort();
    int admin = ServeProcess.freePort();
    Path log = dir.resolve("engine.log");
    long started = System.nanoTime();
    engine = ServeProcess.start(List.of("--state-dir", dir.resolve("state").toString(),
        "--portal", "127.0.0.1:" + portal, "--admin", "127.0.0.1:" + admin,
        "--admin-tls-cert", serverId.certificate().toString(),
        "--admin-tls-key", serverId.key().toString(),
        "--admin-tls-client-ca", controllers.caCertificate().toString(),
        "--kubernetes", "--topology-keys", "topology.kubernetes.io/zone"), log,
        Map.of("KUBERNETES_MASTER", server.url("/"),
            "KUBERNETES_AUTH_TRYKUBECONFIG", "false",
            "KUBERNETES_AUTH_TRYSERVICEACCOUNT", "false",
            "NODE_NAME", NODE, "POD_NAMESPACE", NS));

    await().atMost(WAIT).pollInterval(Duration.ofMillis(100))
        .until(() -> Files.readString(log).contains("target engine serving"));
    double serving = (System.nanoTime() - started) / 1e9;
    await().atMost(WAIT).pollInterval(Duration.ofMillis(200)).until(() -> {
      assertThat(engine.isAlive()).as(Files.readString(log)).isTrue();
      return !report().isEmpty() && lease() != null;
    });
    double registered = (System.nanoTime() - started) / 1e9;
    Map<String, Object> r = report();
    assertThat(r).containsEntry("node", NODE)
        .containsEntry("portal", "127.0.0.1:" + portal)
        .containsEntry("adminAddress", "127.0.0.1:" + admin)
        .containsEntry("topology", Map.of("topology.kubernetes.io/zone", "zone-it"))
        .containsEntry("shuttingDown", false);
    String incarnation = (String) r.get("incarnation");
    assertThat(lease().getSpec().getHolderIdentity()).isEqualTo(NODE + "/" + incarnation);

    HostPort adminAddress = HostPort.parse((String) r.get("adminAddress"), -1);
    ManagedChannel ch = Grpc.newChannelBuilderForAddress(adminAddress.host(),
        adminAddress.port(),
        TestPki.tls(controllers.issue("controller"), engines).channelCredentials()).build();
    try {
      EngineInfo info = TargetAdminGrpc.newBlockingStub(ch).withDeadlineAfter(10,
          TimeUnit.SECONDS).getEngineInfo(GetEngineInfoRequest.getDefaultInstance());
      assertThat(info.getName()).isEqualTo(NODE);
      assertThat(info.getIncarnation()).isEqualTo(incarnation);
      assertThat(info.getTopologyMap()).containsEntry("topology.kubernetes.io/zone", "zone-it");
    } finally {
      ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    ZonedDateTime renewed = lease().getSpec().getRenewTime();
    await().atMost(WAIT).until(() -> lease().getSpec().getRenewTime().isAfter(renewed));

    String rss = Files.readAllLines(Path.of("/proc/" + engine.pid() + "/status")).stream()
        .filter(l -> l.startsWith("VmRSS:")).findFirst().orElse("VmRSS: unknown").substring(6)
        .strip();
    long stopping = System.nanoTime();
    engine.destroy(); // SIGTERM
    assertThat(engine.waitFor(60, TimeUnit.SECONDS)).as("engine exits on SIGTERM").isTrue();
    double stopped = (System.nanoTime() - stopping) / 1e9;
    assertThat(report()).containsEntry("shuttingDown", true);
    ZonedDateTime last = lease().getSpec().getRenewTime();
    Thread.sleep(3000);
    assertThat(lease().getSpec().getRenewTime()).as("no renewal after exit").isEqualTo(last);
    System.out.printf("registration: engine serving %.1f s after the process started, "
        + "IscsiEngine and Lease at %.1f s, RSS %s, SIGTERM to exit %.1f s%n", serving,
        registered, rss, stopped);
  }

  @SuppressWarnings("unchecked")
  private Map<String, Object> report() {
    GenericKubernetesResource o = client.genericKubernetesResources(IscsiEngines.CONTEXT)
        .withName(NODE).get();
    if (o == null || o.get("status") == null) {
      return Map.of();
    }
    return (Map<String, Object>) ((Map<String, Object>) o.get("status"))
        .getOrDefault("report", Map.of());
  }

  private Lease lease() {
    return client.leases().inNamespace(NS).withName(IscsiEngines.leaseName(NODE)).get();
  }
}
