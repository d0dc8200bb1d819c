package org.iscsicsi.controller.kube;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Leader election on a Lease: one of two replicas leads, the Lease names it, and when it stops
 * the other takes over. Runs against fabric8's mock API server in CRUD mode (a mock: no real
 * kube-apiserver can run on this machine yet; the e2e issue will provide one).
 */
@EnableKubernetesMockClient(crud = true)
class LeaderElectionTest {

  static KubernetesClient client;

  static void await(java.util.function.BooleanSupplier condition, String what)
      throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(50);
    }
  }

  @Test
  void oneReplicaLeadsAndTheOtherTakesOver() throws Exception {
    LeaderElection a = LeaderElection.start(client, "storage", "iscsi-csi", "replica-a",
        Duration.ofSeconds(10));
    await(a, "replica-a to lead");
    LeaderElection b = LeaderElection.start(client, "storage", "iscsi-csi", "replica-b",
        Duration.ofSeconds(10));
    try {
      Thread.sleep(3000);
      assertThat(a.getAsBoolean()).isTrue();
      assertThat(b.getAsBoolean()).isFalse();
      Lease lease = client.leases().inNamespace("storage").withName("iscsi-csi").get();
      assertThat(lease.getSpec().getHolderIdentity()).isEqualTo("replica-a");

      a.close();
      await(b, "replica-b to take over");
      assertThat(a.getAsBoolean()).isFalse();
      assertThat(client.leases().inNamespace("storage").withName("iscsi-csi").get()
          .getSpec().getHolderIdentity()).isEqualTo("replica-b");
    } finally {
      a.close();
      b.close();
    }
  }
}
