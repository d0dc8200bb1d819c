package org.iscsicsi.controller.kube;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Leader election on a Lease: one of two replicas leads, the Lease names it, and when it stops
 * the other takes over; a leader that lost its Lease campaigns again (fabric8's elector alone ends
 * for good). Runs against fabric8's mock API server in CRUD mode; against a real kube-apiserver,
 * e2e's VolumeLifecycleTest pins the takeover after a SIGKILL and the new campaign after the
 * controller's RBAC was gone for longer than the renew deadline.
 */
@EnableKubernetesMockClient(crud = true)
class LeaderElectionTest {

  static KubernetesClient client;

  static void await(java.util.function.BooleanSupplier condition, String what) {
    PoolFixture.await(condition, Duration.ofSeconds(60), what);
  }

  @Test
  void oneReplicaLeadsAndTheOtherTakesOver() throws Exception {
    LeaderElection a = LeaderElection.start(client, "storage", "iscsi-csi", "replica-a",
        Duration.ofSeconds(10));
    await(a, "replica-a to lead");
    LeaderElection b = LeaderElection.start(client, "storage", "iscsi-csi", "replica-b",
        Duration.ofSeconds(10));
    try {
      PoolFixture.holds(() -> a.getAsBoolean() && !b.getAsBoolean(), Duration.ofSeconds(3),
          "replica-a keeps the lead, replica-b follows");
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

  /**
   * A leader that loses its Lease (another holder wrote it, as after an API server outage longer
   * than the renew deadline) stops leading, and campaigns again: once the other holder's Lease
   * expires it leads again, instead of serving UNAVAILABLE until restarted.
   */
  @Test
  void aLeaderThatLostTheLeaseCampaignsAgain() throws Exception {
    LeaderElection a = LeaderElection.start(client, "storage", "again", "replica-a",
        Duration.ofSeconds(3));
    try {
      await(a, "replica-a to lead");
      // an intruder takes the Lease for 6 s: replica-a cannot renew it (retried on a conflict
      // with replica-a's own renewals)
      for (int attempt = 0; ; attempt++) {
        try {
          client.leases().inNamespace("storage").withName("again").edit(l -> {
            l.getSpec().setHolderIdentity("intruder");
            l.getSpec().setLeaseDurationSeconds(6);
            l.getSpec().setRenewTime(java.time.ZonedDateTime.now());
            l.getSpec().setAcquireTime(java.time.ZonedDateTime.now());
            return l;
          });
          break;
        } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
          if (e.getCode() != 409 || attempt > 50) {
            throw e;
          }
        }
      }
      await(() -> !a.getAsBoolean(), "replica-a to stop leading");
      await(a, "replica-a to lead again after the intruder's Lease expired");
      assertThat(client.leases().inNamespace("storage").withName("again").get()
          .getSpec().getHolderIdentity()).isEqualTo("replica-a");
    } finally {
      a.close();
    }
  }
}
