package org.iscsicsi.controller.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.iscsicsi.controller.engine.RemoteEngine;
import org.iscsicsi.controller.kube.PoolEngineProcess;
import org.iscsicsi.controller.kube.PoolFixture;
import org.iscsicsi.controller.testing.TargetEngineLauncher;
import org.iscsicsi.csi.CsiSanityBinary;
import org.iscsicsi.target.testing.TestPki;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * csi-sanity's Identity and Controller specs (as {@link CsiSanityIT} runs them on the embedded
 * default) against {@code bin/controller serve --pool} over three {@code target-engine serve
 * --kubernetes} processes that register themselves in fabric8's mock API server, mutual TLS
 * from TestPki: the pool must pass the same specs, mount and block.
 */
@EnableKubernetesMockClient(crud = true)
class PoolCsiSanityIT {

  static final List<String> NAMES = List.of("node-a", "node-b", "node-c");

  static KubernetesClient client;
  static KubernetesMockServer server;

  static {
    PoolFixture.MOCK_LOG.setLevel(java.util.logging.Level.WARNING);
  }

  @TempDir Path dir;
  final List<PoolEngineProcess> engines = new ArrayList<>();

  @AfterEach
  void stop() throws InterruptedException {
    for (PoolEngineProcess e : engines) {
      e.stop();
    }
  }

  @Test
  void identityAndControllerSpecsPassOnAPoolOfThree() throws Exception {
    assumeThat(TargetEngineLauncher.missing()).as("target-engine launcher").isEmpty();
    assumeThat(TestPki.available()).as("openssl installed").isTrue();
    Path sanity = CsiSanityBinary.find();
    TestPki engineCa = TestPki.create(dir, "engines");
    TestPki controllerCa = TestPki.create(dir, "controllers");
    TestPki.Identity engineCert = engineCa.issue("engine",
        List.of(RemoteEngine.POOL_SERVER_NAME));
    TestPki.Identity controllerCert = controllerCa.issue("controller");
    PoolFixture pool = new PoolFixture(server, client);
    pool.installCrd();
    Path kubeconfig = pool.kubeconfig(dir);
    for (String name : NAMES) {
      pool.storageNode(name);
      PoolEngineProcess e = new PoolEngineProcess(name, dir, engineCert, controllerCa,
          kubeconfig);
      engines.add(e);
      e.start();
    }
    for (PoolEngineProcess e : engines) {
      e.awaitServing();
    }
    Path socket = dir.resolve("controller.sock");
    Path nodeSocket = dir.resolve("node.sock");
    try (ControllerProcess controller = ControllerProcess.startPool(socket,
        dir.resolve("controller.log"), kubeconfig,
        "--namespace", PoolFixture.NAMESPACE,
        "--engine-tls-cert", controllerCert.certificate().toString(),
        "--engine-tls-key", controllerCert.key().toString(),
        "--engine-tls-ca", engineCa.caCertificate().toString());
        NodeStandIn node = NodeStandIn.start(nodeSocket, controller.channel)) {
      // the controller's status writer marks each IscsiEngine Ready once it answered
      PoolFixture.await(() -> NAMES.stream().allMatch(n -> pool.get(n) != null
          && pool.get(n).get("status") instanceof java.util.Map<?, ?> status
          && "Ready".equals(status.get("state"))),
          java.time.Duration.ofSeconds(90), "three Ready engines behind the controller");
      for (String accessType : List.of("mount", "block")) {
        CsiSanityIT.Result r = CsiSanityIT.run(sanity, accessType, socket, nodeSocket, dir,
            "pool-sanity-");
        System.out.printf("csi-sanity %s on a pool of three, %s access type: ran %d of %d "
            + "specs: %d passed, %d failed, %d pending, %d skipped%n", CsiSanityIT.VERSION,
            accessType, r.ran(), r.total(), r.passed(), r.failed(), r.pending(), r.skipped());
        r.skippedSpecs().forEach((name, why) -> System.out.printf("  skipped: %s (%s)%n", name,
            why));
        assertThat(r.failed()).as("failed specs, see %s", r.output()).isZero();
        // the pool passes exactly what the embedded default passes (README's table)
        assertThat(r.ran()).as("specs run, see %s", r.output())
            .isEqualTo(CsiSanityIT.EXPECTED_RAN);
        assertThat(r.passed()).as("passed specs, see %s", r.output())
            .isEqualTo(CsiSanityIT.EXPECTED_RAN);
        assertThat(r.skipped()).as("skipped specs, see %s", r.output())
            .isEqualTo(CsiSanityIT.EXPECTED_SKIPPED);
      }
    }
  }
}
