package org.iscsicsi.controller.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;
import static org.iscsicsi.controller.service.ControllerFixture.createRequest;
import static org.iscsicsi.controller.service.ControllerFixture.mount;

import csi.v1.ControllerGrpc;
import csi.v1.Csi;
import csi.v1.Csi.VolumeCapability.AccessMode.Mode;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.engine.EngineClient;
import org.iscsicsi.controller.engine.Engines;
import org.iscsicsi.controller.testing.TargetEngineLauncher;
import org.iscsicsi.csi.contract.PublishContext;
import org.iscsicsi.target.kube.IscsiVolumes;
import org.iscsicsi.target.kube.Membership;
import org.iscsicsi.target.kube.MembershipWriter;
import org.iscsicsi.target.testing.Exec;
import org.iscsicsi.target.testing.LunFiles;
import org.iscsicsi.target.testing.PoolObjects;
import org.iscsicsi.target.testing.QemuIo;
import org.iscsicsi.target.testing.RealApiServer;
import org.iscsicsi.target.testing.ServeProcess;
import org.iscsicsi.target.testing.TestPki;
import org.iscsicsi.target.v1.TargetAdminGrpc;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replicated volumes made by the controller with real parts: three packaged engines
 * ({@code target-engine serve --kubernetes --replication}, each its own process, replica streams
 * over mutual TLS from {@link TestPki}) against a real kube-apiserver and etcd
 * ({@link RealApiServer}), and in this process the ControllerService with
 * {@link KubeMemberships} over the three engines' admin APIs. Pins, for {@code replicas: 2} and
 * {@code 3} through the CSI API: the IscsiVolume's membership is epoch 1 with every member
 * InSync; the primary serves; the publish context lists every member's portal in slot order with
 * {@code multipath} and {@code wwid}; qemu-io's writes (libiscsi) to the primary's portal leave
 * every member's LUN file identical, and so do writes past the old end after
 * ControllerExpandVolume grew every member; DeleteVolume leaves no target on any engine and no
 * IscsiVolume.
 */
class ReplicatedPoolIT {

  static final String NS = "iscsi-csi";
  static final String INI = "iqn.2026-12.org.example:qemu";
  static final List<String> NAMES = List.of("node-a", "node-b", "node-c");
  static final long MIB = 1 << 20;
  static final long SIZE = 16 * MIB;
  static final Duration WAIT = Duration.ofSeconds(60);
  static final int CHUNK = 64 << 10;

  @TempDir Path dir;
  RealApiServer server;
  KubernetesClient client;
  final List<Process> processes = new ArrayList<>();
  final Map<String, Engine> engines = new LinkedHashMap<>();
  final List<ManagedChannel> channels = new ArrayList<>();
  Server csiServer;
  ManagedChannel csiChannel;

  /** The three engines as a pool, always Ready (no directory: this test is about volumes). */
  final class StaticPool implements Engines {
    @Override
    public List<Engine> all() {
      return List.copyOf(engines.values());
    }

    @Override
    public Optional<Engine> byName(String name) {
      return Optional.ofNullable(engines.get(name));
    }

    @Override
    public boolean pooled() {
      return true;
    }

    @Override
    public void close() {
    }
  }

  @AfterEach
  void stop() throws Exception {
    if (csiChannel != null) {
      csiChannel.shutdownNow();
      csiServer.shutdownNow();
    }
    for (ManagedChannel c : channels) {
      c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    for (Process p : processes) {
      p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }
    if (client != null) {
      client.close();
    }
    if (server != null) {
      server.close();
    }
  }

  @Test
  void twoAndThreeReplicasThroughTheCsiApi() throws Exception {
    assumeThat(TargetEngineLauncher.missing()).as("target-engine launcher").isEmpty();
    assumeThat(TestPki.available()).as("openssl installed").isTrue();
    assumeThat(Exec.available("qemu-io")).as("qemu-io (qemu-utils, qemu-block-extra)")
        .isTrue();
    Optional<Path> k8s = RealApiServer.built();
    assumeThat(k8s).as("kube-apiserver built (e2e/cluster/build.sh or ISCSI_CSI_K8S_DIR)")
        .isPresent();
    server = RealApiServer.start(k8s.get(), Files.createDirectories(dir.resolve("k8s")));
    client = server.client();
    installCrds();
    TestPki ca = TestPki.create(dir, "engines");
    TestPki.Identity id = ca.issue("engine");
    for (String name : NAMES) {
      start(name, ca, id);
    }
    String service = "replicated-pool-" + UUID.randomUUID();
    ControllerService controller = new ControllerService(new StaticPool(),
        ControllerConfig.defaults(), () -> true, new ClusterObjects(ChapSecretStore.ENGINE_ONLY,
            VolumeEvents.NONE, new KubeMemberships(client)));
    csiServer = InProcessServerBuilder.forName(service).addService(controller).build().start();
    csiChannel = InProcessChannelBuilder.forName(service).build();
    var csi = ControllerGrpc.newBlockingStub(csiChannel);
    MembershipWriter memberships = new MembershipWriter(client);

    for (int replicas : List.of(2, 3)) {
      Csi.Volume v = csi.createVolume(createRequest("pvc-r" + replicas, SIZE)
          .putParameters("replicas", Integer.toString(replicas)).putParameters("chap", "false")
          .build()).getVolume();
      String iqn = ControllerConfig.defaults().iqnPrefix() + ":" + v.getVolumeId();
      Membership m = memberships.read(v.getVolumeId()).orElseThrow().membership();
      assertThat(new KubeMemberships(client).list().orElseThrow())
          .as("the leader pass's one listing").containsEntry(v.getVolumeId(), m);
      assertThat(m.epoch()).isEqualTo(1);
      assertThat(m.members()).hasSize(replicas).allSatisfy(x ->
          assertThat(x.state()).isEqualTo(Membership.State.InSync));
      Engine primary = engines.get(m.primary());
      await().atMost(WAIT).until(() -> primary.client().replicationStatus(iqn, 0).getServing());

      var ctx = csi.controllerPublishVolume(Csi.ControllerPublishVolumeRequest.newBuilder()
          .setVolumeId(v.getVolumeId()).setNodeId(INI)
          .setVolumeCapability(mount(Mode.SINGLE_NODE_WRITER)).build()).getPublishContextMap();
      List<String> portals = new ArrayList<>();
      m.members().forEach(x -> portals.addAll(engines.get(x.engine()).advertisedPortals()));
      assertThat(ctx).containsEntry(PublishContext.MULTIPATH, "true")
          .containsEntry(PublishContext.PORTALS, String.join(",", portals))
          .containsEntry(PublishContext.WWID,
              "3" + ctx.get(PublishContext.NAA).toLowerCase());

      List<String> commands = new ArrayList<>();
      for (int i = 0; i < 64; i++) {
        commands.add("write -P 0x" + Integer.toHexString(1 + i % 250) + " "
            + (long) i * 3 * CHUNK % (SIZE - CHUNK) + " " + CHUNK);
      }
      commands.add("flush");
      var written = Exec.run(Duration.ofSeconds(120), QemuIo.argv(
          primary.advertisedPortals().getFirst(), iqn, 0, INI, commands));
      assertThat(written.exit()).as(written.output()).isZero();
      assertThat(written.output()).doesNotContain("error").doesNotContain("failed");

      Map<String, Path> files = new LinkedHashMap<>();
      for (Membership.Member x : m.members()) {
        var lun = engines.get(x.engine()).client().findTarget(iqn).orElseThrow().getLuns(0);
        assertThat(lun.getPortSlot()).as(x.engine()).isEqualTo(x.slot());
        files.put(x.engine(), Path.of(lun.getPath()));
      }
      LunFiles.assertIdentical(files, List.copyOf(files.keySet()), SIZE);
      assertThat(memberships.read(v.getVolumeId()).orElseThrow().membership().inSyncCount())
          .as("no member was taken out").isEqualTo(replicas);

      // expansion grows every member; writes past the old end are replicated like any other
      assertThat(csi.controllerExpandVolume(Csi.ControllerExpandVolumeRequest.newBuilder()
          .setVolumeId(v.getVolumeId()).setCapacityRange(Csi.CapacityRange.newBuilder()
              .setRequiredBytes(2 * SIZE)).build()).getCapacityBytes()).isEqualTo(2 * SIZE);
      var grown = Exec.run(Duration.ofSeconds(120), QemuIo.argv(
          primary.advertisedPortals().getFirst(), iqn, 0, INI, List.of(
              "write -P 0xfe " + (SIZE + CHUNK) + " " + CHUNK,
              "write -P 0xfd " + (2 * SIZE - CHUNK) + " " + CHUNK, "flush")));
      assertThat(grown.exit()).as(grown.output()).isZero();
      assertThat(grown.output()).doesNotContain("error").doesNotContain("failed");
      LunFiles.assertIdentical(files, List.copyOf(files.keySet()), 2 * SIZE);
      assertThat(memberships.read(v.getVolumeId()).orElseThrow().membership().inSyncCount())
          .as("no member was taken out by the growth").isEqualTo(replicas);

      csi.controllerUnpublishVolume(Csi.ControllerUnpublishVolumeRequest.newBuilder()
          .setVolumeId(v.getVolumeId()).setNodeId(INI).build());
      csi.deleteVolume(Csi.DeleteVolumeRequest.newBuilder().setVolumeId(v.getVolumeId())
          .build());
      for (Engine e : engines.values()) {
        assertThat(e.client().findTarget(iqn)).as(e.name()).isEmpty();
      }
      assertThat(client.genericKubernetesResources(IscsiVolumes.CONTEXT)
          .withName(v.getVolumeId()).get()).isNull();
      System.out.printf("ReplicatedPoolIT: replicas %d on %s, primary %s, %d writes of %d KiB "
          + "identical on every member%n", replicas, files.keySet(), m.primary(),
          commands.size() - 1, CHUNK >> 10);
    }
  }

  private void start(String name, TestPki ca, TestPki.Identity id) throws Exception {
    int iscsi = ServeProcess.freePort();
    int admin = ServeProcess.freePort();
    int replication = ServeProcess.freePort();
    ProcessBuilder pb = TargetEngineLauncher.builder("serve",
        "--state-dir", Files.createDirectories(dir.resolve(name)).toString(),
        "--portal", "127.0.0.1:" + iscsi, "--admin", "127.0.0.1:" + admin,
        "--replication", "127.0.0.1:" + replication,
        "--replication-tls-cert", id.certificate().toString(),
        "--replication-tls-key", id.key().toString(),
        "--replication-tls-ca", ca.caCertificate().toString(),
        "--kubernetes", "--namespace", NS, "--node", name)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(name + ".log").toFile()));
    pb.environment().put("KUBECONFIG", server.kubeconfig().toString());
    pb.environment().put("KUBERNETES_AUTH_TRYSERVICEACCOUNT", "false");
    Process p = pb.start();
    processes.add(p);
    ManagedChannel ch = Grpc.newChannelBuilderForAddress("127.0.0.1", admin,
        InsecureChannelCredentials.create()).build();
    channels.add(ch);
    ServeProcess.awaitServing(TargetAdminGrpc.newBlockingStub(ch), p);
    engines.put(name, new Engine(name, new EngineClient(ch, Duration.ofSeconds(20)), Map.of(),
        List.of()));
  }

  private void installCrds() throws IOException {
    PoolObjects.install(client, Path.of("src/main/resources/crd"), NS, NAMES, WAIT);
  }

}
