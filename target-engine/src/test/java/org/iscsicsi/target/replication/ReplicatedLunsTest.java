package org.iscsicsi.target.replication;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.admin.AdminTls;
import org.iscsicsi.target.engine.EngineConfig;
import org.iscsicsi.target.engine.EngineNaming;
import org.iscsicsi.target.engine.TargetEngine;
import org.iscsicsi.target.kube.Membership;
import org.iscsicsi.target.kube.Membership.State;
import org.iscsicsi.target.kube.MembershipTransitions;
import org.iscsicsi.target.kube.MembershipWriter;
import org.iscsicsi.target.scsi.AccessState;
import org.iscsicsi.target.testing.TestPki;
import org.iscsicsi.target.transfer.ReplicationSettings;
import org.iscsicsi.target.transfer.ReplicationTls;
import org.iscsicsi.target.v1.AluaState;
import org.iscsicsi.target.v1.CreateLunRequest;
import org.iscsicsi.target.v1.CreateTargetRequest;
import org.iscsicsi.target.v1.GetReplicationStatusRequest;
import org.iscsicsi.target.v1.LunIdentity;
import org.iscsicsi.target.v1.ReplicaRole;
import org.iscsicsi.target.v1.ReplicationStatus;
import org.iscsicsi.target.v1.SetAluaStatesRequest;
import org.iscsicsi.target.v1.SetLunReplicationRequest;
import org.iscsicsi.target.v1.TargetAdminGrpc;
import org.iscsicsi.target.v1.TargetReplicationGrpc;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two engines in process (primary node-a, member node-b) with their replication ports on
 * loopback (mutual TLS from {@link TestPki}) and the membership in fabric8's mock API server
 * (CRUD mode, whose compare-and-swap MembershipCasContractTest holds to kube-apiserver's): a LUN
 * made replicated through target.v1 gets the ALUA states of section 6 on both engines, manual
 * SetAluaStates is refused on it, and a restarted primary comes back with its own port standby
 * and stays non-serving in the same epoch, even when SetLunReplication is repeated. When the
 * leader promotes the member (epoch 2), the member becomes primary on its own (it reads the
 * object fresh, waits out the old serve lease, serves alone on its engine-Lease renewals and
 * writes phase Serving), and the old primary, seeing the new epoch, is fenced: its port
 * unavailable and its status fenced. Once the renewals stop, the lone primary's lease lapses.
 */
@EnableKubernetesMockClient(crud = true)
class ReplicatedLunsTest {

  static final String T = "iqn.2026-12.org.example:pool.vol";
  static final String VOLUME = "pool.vol";
  static final Duration WAIT = Duration.ofSeconds(30);

  KubernetesClient client;

  @TempDir Path dir;

  private AdminTls tls;
  private volatile TargetEngine a; // read by the renewal feed's thread
  private TargetEngine b;

  @AfterEach
  void close() {
    if (a != null) {
      a.close();
    }
    if (b != null) {
      b.close();
    }
  }

  private TargetEngine engine(String name) throws Exception {
    TargetEngine e = TargetEngine.start(EngineConfig.of(dir.resolve(name)).withIscsi(false)
        .withNaming(new EngineNaming(name, null, false)), new ReplicationSettings(
            new HostPort("127.0.0.1", 0), tls, 1L << 30, ReplicationSettings.MAX_TRANSFERS));
    e.replication().useKubernetes(client);
    return e;
  }

  private static void lun(TargetEngine e, int slot) {
    var admin = TargetAdminGrpc.newBlockingStub(e.adminChannel());
    admin.createTarget(CreateTargetRequest.newBuilder().setName(T).build());
    admin.createLun(CreateLunRequest.newBuilder().setTarget(T).setLun(0).setSizeBytes(8 << 20)
        .setPortSlot(slot).setIdentity(LunIdentity.newBuilder()
            .setNaa("60014050123456789abcdef012345678").setSerial("VOL1")).build());
  }

  private static ReplicationStatus replicate(TargetEngine e, Map<String, String> members) {
    return TargetReplicationGrpc.newBlockingStub(e.adminChannel()).setLunReplication(
        SetLunReplicationRequest.newBuilder().setTarget(T).setLun(0).setVolume(VOLUME)
            .putAllMemberAddresses(members).setAckTimeoutMs(60_000).build());
  }

  private static ReplicationStatus status(TargetEngine e) {
    return TargetReplicationGrpc.newBlockingStub(e.adminChannel()).getReplicationStatus(
        GetReplicationStatusRequest.newBuilder().setTarget(T).setLun(0).build());
  }

  private static Map<Integer, AccessState> alua(TargetEngine e) {
    return e.registry().getTarget(T).lun(0).orElseThrow().alua().states();
  }

  private void crdAndTls() throws Exception {
    assumeThat(TestPki.available()).as("openssl installed").isTrue();
    try (InputStream in = Files.newInputStream(ReplicatedWriteTest.CRD)) {
      CustomResourceDefinition crd = client.apiextensions().v1().customResourceDefinitions()
          .load(in).item();
      client.apiextensions().v1().customResourceDefinitions().resource(crd).create();
    }
    TestPki ca = TestPki.create(dir, "engines");
    tls = TestPki.tls(ca.issue(ReplicationTls.ENGINE_CN), ca);
  }

  @Test
  void portsFollowTheRoleAndARestartedPrimaryStaysNonServing() throws Exception {
    crdAndTls();
    a = engine("node-a");
    b = engine("node-b");
    lun(a, 1);
    lun(b, 2);
    new MembershipWriter(client).create(VOLUME, 2, MembershipTransitions.create("node-a",
        List.of("node-a", "node-b"), State.InSync, 2, Instant.now()), Map.of());

    assertThat(replicate(b, Map.of()).getRole()).isEqualTo(ReplicaRole.REPLICA_ROLE_MEMBER);
    assertThat(replicate(a, Map.of("node-b", b.replicationAddress())).getRole())
        .isEqualTo(ReplicaRole.REPLICA_ROLE_PRIMARY);
    await().atMost(WAIT).until(() -> status(a).getServing());
    Map<Integer, AccessState> served = Map.of(1, AccessState.ACTIVE_OPTIMIZED,
        2, AccessState.STANDBY);
    await().atMost(WAIT).until(() -> alua(a).equals(served) && alua(b).equals(served));
    assertThat(status(a).getMembersList()).anySatisfy(m -> {
      assertThat(m.getEngine()).isEqualTo("node-b");
      assertThat(m.getLinked()).isTrue();
    });
    assertThat(status(b).getAcceptedEpoch()).isEqualTo(1);

    assertThatThrownBy(() -> TargetAdminGrpc.newBlockingStub(a.adminChannel()).setAluaStates(
        SetAluaStatesRequest.newBuilder().setTarget(T).setLun(0)
            .putStates(1, AluaState.ALUA_STANDBY).putStates(2, AluaState.ALUA_STANDBY).build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(
            e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION));

    a.close();
    a = TargetEngine.start(EngineConfig.of(dir.resolve("node-a")).withIscsi(false)
        .withNaming(new EngineNaming("node-a", null, false)), new ReplicationSettings(
            new HostPort("127.0.0.1", 0), tls, 1L << 30, ReplicationSettings.MAX_TRANSFERS));
    assertThat(alua(a)).as("held back before Kubernetes is reached")
        .containsEntry(1, AccessState.STANDBY);
    a.replication().useKubernetes(client);
    ReplicationStatus restarted = status(a);
    assertThat(restarted.getRole()).isEqualTo(ReplicaRole.REPLICA_ROLE_PRIMARY);
    assertThat(restarted.getServing()).isFalse();
    assertThat(restarted.getDetail()).contains("restarted");
    assertThat(replicate(a, Map.of("node-b", b.replicationAddress())).getServing()).isFalse();
    assertThat(alua(a)).containsEntry(1, AccessState.STANDBY);
  }

  @Test
  void aPromotedMemberServesAndTheOldPrimaryIsFenced() throws Exception {
    crdAndTls();
    a = engine("node-a");
    b = engine("node-b");
    lun(a, 1);
    lun(b, 2);
    MembershipWriter writer = new MembershipWriter(client);
    writer.create(VOLUME, 2, MembershipTransitions.create("node-a",
        List.of("node-a", "node-b"), State.InSync, 2, Instant.now()), Map.of());
    replicate(b, Map.of("node-a", a.replicationAddress()));
    replicate(a, Map.of("node-b", b.replicationAddress()));
    await().atMost(WAIT).until(() -> status(a).getServing());

    // no engine registration here: the test feeds both engines' Lease renewals every 500 ms
    var renewals = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
    try {
      renewals.scheduleWithFixedDelay(() -> {
        TargetEngine oldPrimary = a; // null once it is lost below
        if (oldPrimary != null) {
          oldPrimary.replication().engineLeaseRenewed(System.nanoTime());
        }
        b.replication().engineLeaseRenewed(System.nanoTime());
      }, 0, 500, java.util.concurrent.TimeUnit.MILLISECONDS);
      long t0 = System.nanoTime();
      writer.change(VOLUME, m -> MembershipTransitions.promote(m, "controller-1", 1, "node-b",
          Instant.now()));
      // the old primary sees the epoch from the watch while node-b still waits out its lease
      await().atMost(WAIT).until(() -> status(a).getFenced());
      ReplicationStatus fenced = status(a);
      assertThat(fenced.getServing()).isFalse();
      assertThat(fenced.getDetail()).contains("fenced");
      assertThat(alua(a).get(1)).isEqualTo(AccessState.UNAVAILABLE);
      await().atMost(WAIT).until(() -> status(b).getServing());
      long servedAfter = (System.nanoTime() - t0) / 1_000_000;
      assertThat(servedAfter).as("the old primary's lease was waited out (3.3 s + 100 ms)")
          .isGreaterThanOrEqualTo(3400 - 500);
      ReplicationStatus promoted = status(b);
      assertThat(promoted.getRole()).isEqualTo(ReplicaRole.REPLICA_ROLE_PRIMARY);
      assertThat(promoted.getEpoch()).isEqualTo(2);
      assertThat(promoted.getAcceptedEpoch()).isEqualTo(2);
      assertThat(alua(b).get(2)).isEqualTo(AccessState.ACTIVE_OPTIMIZED);
      // the new primary rebuilds the fenced old one, which rejoins as an in-sync member
      await().atMost(WAIT).until(() -> {
        Membership m = writer.read(VOLUME).orElseThrow().membership();
        return m.phase() == Membership.Phase.Serving && m.epoch() == 2
            && m.primary().equals("node-b");
      });
      await().atMost(WAIT).until(() -> alua(a).get(1) == AccessState.STANDBY);
      assertThat(status(a).getFenced()).isFalse();

      // node-a lost: node-b takes it out and serves alone on its Lease renewals beyond 3 s
      TargetEngine lost = a;
      a = null; // first: the renewal feed stops calling it
      lost.close();
      await().atMost(WAIT).until(() -> writer.read(VOLUME).orElseThrow().membership().phase()
          == Membership.Phase.Degraded);
      Duration beyondServeLease = ServeLease.SERVE_LEASE.plusMillis(500);
      await("alone in sync, on its Lease renewals").during(beyondServeLease)
          .atMost(beyondServeLease.plusSeconds(2)).until(() -> status(b).getServing());
    } finally {
      renewals.shutdownNow();
    }
    await().atMost(Duration.ofSeconds(ServeLease.ENGINE_LEASE.toSeconds() + 5))
        .until(() -> !status(b).getServing());
  }
}
