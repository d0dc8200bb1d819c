package org.iscsicsi.target.kube;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.iscsicsi.target.testing.RealApiServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.TestInstance;

/**
 * The membership's compare-and-swap contract ({@link MembershipCasContract}) against fabric8's
 * mock API server in CRUD mode, which the fast tests use, and against the real kube-apiserver
 * (and etcd) of e2e/cluster's build, so the mock is relied on only as far as both agree. The
 * real part skips, naming the build to run, when that build is not in the cache.
 */
class MembershipCasContractTest {

  /** fabric8's mock API server in CRUD mode: a fresh one per test. */
  @Nested
  @EnableKubernetesMockClient(crud = true)
  class MockApiServer extends MembershipCasContract {

    KubernetesClient client;

    @BeforeEach
    void crd() throws IOException {
      installCrd(client);
    }

    @Override
    KubernetesClient client() {
      return client;
    }
  }

  /** etcd and kube-apiserver as processes, one pair for the class. */
  @Nested
  @TestInstance(TestInstance.Lifecycle.PER_CLASS)
  class RealKubeApiServer extends MembershipCasContract {

    private RealApiServer server;
    private KubernetesClient client;
    private Path dir;

    @BeforeAll
    void start() throws Exception {
      Optional<Path> built = RealApiServer.built();
      Assumptions.assumeTrue(built.isPresent(), "kube-apiserver is not built: run "
          + "e2e/cluster/build.sh (or set ISCSI_CSI_K8S_DIR)");
      dir = Files.createTempDirectory("membership-cas-");
      server = RealApiServer.start(built.get(), dir);
      client = server.client();
      installCrd(client);
    }

    @AfterAll
    void stop() throws IOException {
      if (client != null) {
        client.close();
      }
      if (server != null) {
        server.close();
      }
      if (dir != null) {
        try (var paths = Files.walk(dir)) {
          for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
            Files.deleteIfExists(p);
          }
        }
      }
    }

    @Override
    KubernetesClient client() {
      return client;
    }
  }
}
