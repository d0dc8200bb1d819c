package org.iscsicsi.target.replication;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.iscsicsi.target.kube.Membership;
import org.iscsicsi.target.kube.Membership.State;
import org.iscsicsi.target.kube.MembershipTransitions;
import org.iscsicsi.target.kube.MembershipWriter;
import org.iscsicsi.target.testing.Exec;
import org.iscsicsi.target.testing.LunFiles;
import org.iscsicsi.target.testing.PoolObjects;
import org.iscsicsi.target.testing.QemuIo;
import org.iscsicsi.target.testing.RealApiServer;
import org.iscsicsi.target.testing.ServeProcess;
import org.iscsicsi.target.testing.TestPki;
import org.iscsicsi.target.v1.CreateLunRequest;
import org.iscsicsi.target.v1.CreateTargetRequest;
import org.iscsicsi.target.v1.GetReplicationStatusRequest;
import org.iscsicsi.target.v1.GrantInitiatorRequest;
import org.iscsicsi.target.v1.LunIdentity;
import org.iscsicsi.target.v1.ReplicaRole;
import org.iscsicsi.target.v1.ReplicationStatus;
import org.iscsicsi.target.v1.SetLunReplicationRequest;
import org.iscsicsi.target.v1.TargetAdminGrpc;
import org.iscsicsi.target.v1.TargetAdminGrpc.TargetAdminBlockingStub;
import org.iscsicsi.target.v1.TargetReplicationGrpc;
import org.iscsicsi.target.v1.TargetReplicationGrpc.TargetReplicationBlockingStub;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three packaged engines ({@code bin/target-engine serve --kubernetes --replication}, each its
 * own process) against a real kube-apiserver and etcd ({@link RealApiServer}), with the replica
 * streams on their replication ports (mutual TLS 1.3, {@link TestPki}). The test plays the
 * controller: it creates the volume's LUN with one identity and each member's port slot on every
 * engine, the IscsiVolume's membership (epoch 1, primary node-a, all InSync), and makes the LUN
 * replicated through target.v1 (members first). It pins that the primary serves and the members
 * accept epoch 1 and follow its stream; that qemu-io's writes with patterns (libiscsi) to the
 * primary leave the three LUN files identical block by block; and that a member SIGKILLed while
 * writes run costs no write: every write is acknowledged, the member is OutOfSync in the
 * IscsiVolume, and the primary and the remaining member are still identical; and that the member,
 * restarted while qemu-io keeps writing, is rebuilt by the primary (Bitmap: the primary saw it
 * leave; progress in
 * GetReplicationStatus), InSync again with no write failing, and the three LUN files are
 * identical block by block and by SHA-256. It prints the rebuild's time and MiB/s.
 */
class ReplicatedEnginesIT {

  static final String NS = "iscsi-csi";
  static final String VOLUME = "pool.replicated-it";
  static final String T = "iqn.2026-12.org.example:pool.replicated-it";
  static final String INI = "iqn.2026-12.org.example:qemu";
  static final String NAA = "6001405" + "0123456789abcdef0123456789".substring(0, 25);
  static final String SERIAL = "REPLIT0001";
  static final long LUN_BYTES = 64L << 20;
  static final List<String> ENGINES = List.of("node-a", "node-b", "node-c");
  static final Duration WAIT = Duration.ofSeconds(60);
  /** Not about slow members: a loaded CI machine's fsync may outlast the production 4 s. */
  static final int TOLERANT_ACK_MS = 60_000;
  static final int CHUNK = 64 << 10;
  static final Pattern WROTE = Pattern.compile("wrote (\\d+)/(\\d+) bytes at offset (\\d+)");

  @TempDir
  Path dir;

  private RealApiServer server;
  private KubernetesClient client;
  private final Map<String, Engine> engines = new LinkedHashMap<>();
  private final List<Process> clients = new ArrayList<>();

  /** One engine process and its channels. */
  record Engine(String name, Process process, int iscsiPort, int adminPort, int replicationPort,
      ManagedChannel channel, TargetAdminBlockingStub admin,
      TargetReplicationBlockingStub replication, Path log) {
  }

  @AfterEach
  void stop() throws Exception {
    for (Process p : clients) {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    for (Engine e : engines.values()) {
      e.channel().shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      e.process().destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }
    if (client != null) {
      client.close();
    }
    if (server != null) {
      server.close();
    }
  }

  @Test
  void writesReachEveryMemberAndAKilledMemberIsTakenOut() throws Exception {
    assumeThat(ServeProcess.unavailableReason()).as("packaged engine").isEmpty();
    assumeThat(TestPki.available()).as("openssl installed").isTrue();
    assumeThat(Exec.available("qemu-io") && Exec.available("stdbuf"))
        .as("qemu-io (qemu-utils, qemu-block-extra) and stdbuf installed").isTrue();
    Optional<Path> k8s = RealApiServer.built();
    assumeThat(k8s).as("kube-apiserver built (e2e/cluster/build.sh or ISCSI_CSI_K8S_DIR)")
        .isPresent();
    server = RealApiServer.start(k8s.get(), Files.createDirectories(dir.resolve("k8s")));
    client = server.client();
    installCrds();
    TestPki ca = TestPki.create(dir, "engines");
    TestPki.Identity id = ca.issue("engine");
    for (String name : ENGINES) {
      engines.put(name, start(name, ca, id));
    }
    int slot = 1;
    Map<String, Path> files = new LinkedHashMap<>();
    for (Engine e : engines.values()) {
      ServeProcess.awaitServing(e.admin(), e.process());
      e.admin().createTarget(CreateTargetRequest.newBuilder().setName(T).build());
      var lun = e.admin().createLun(CreateLunRequest.newBuilder().setTarget(T).setLun(0)
          .setSizeBytes(LUN_BYTES).setPortSlot(slot++)
          .setIdentity(LunIdentity.newBuilder().setNaa(NAA).setSerial(SERIAL)).build());
      files.put(e.name(), Path.of(lun.getPath()));
      e.admin().grantInitiator(GrantInitiatorRequest.newBuilder().setTarget(T)
          .setInitiator(INI).build());
    }
    MembershipWriter writer = new MembershipWriter(client);
    writer.create(VOLUME, 3, MembershipTransitions.create("node-a", ENGINES, State.InSync, 3,
        Instant.now()), Map.of());
    for (String name : List.of("node-b", "node-c", "node-a")) {
      Engine e = engines.get(name);
      var req = SetLunReplicationRequest.newBuilder().setTarget(T).setLun(0).setVolume(VOLUME)
          .setAckTimeoutMs(TOLERANT_ACK_MS);
      for (Engine other : engines.values()) {
        if (!other.name().equals(name)) {
          req.putMemberAddresses(other.name(), "127.0.0.1:" + other.replicationPort());
        }
      }
      ReplicationStatus s = e.replication().setLunReplication(req.build());
      assertThat(s.getRole()).isEqualTo(name.equals("node-a") ? ReplicaRole.REPLICA_ROLE_PRIMARY
          : ReplicaRole.REPLICA_ROLE_MEMBER);
    }
    Engine a = engines.get("node-a");
    await().atMost(WAIT).until(() -> status(a).getServing());
    ReplicationStatus primary = status(a);
    assertThat(primary.getEpoch()).isEqualTo(1);
    assertThat(primary.getAcceptedEpoch()).isEqualTo(1);
    assertThat(primary.getMembersList()).filteredOn(m -> !m.getEngine().equals("node-a"))
        .allSatisfy(m -> assertThat(m.getLinked()).as(m.getEngine()).isTrue());
    for (String name : List.of("node-b", "node-c")) {
      ReplicationStatus m = status(engines.get(name));
      assertThat(m.getAcceptedEpoch()).as(name + " accepted the epoch at HELLO").isEqualTo(1);
      assertThat(m.getPrimary()).isEqualTo("node-a");
    }

    // Writes with patterns, one chunk each, then a flush: every file holds the same blocks.
    List<String> commands = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      commands.add("write -P 0x" + Integer.toHexString(1 + i % 250) + " "
          + (long) i * 3 * CHUNK % (LUN_BYTES - CHUNK) + " " + CHUNK);
    }
    commands.add("write -f -P 0x5a " + (LUN_BYTES - (1 << 20)) + " 1M");
    commands.add("flush");
    var first = Exec.run(Duration.ofSeconds(120), qemuIo(a, commands));
    assertThat(first.exit()).as(first.output()).isZero();
    assertThat(acked(first.output())).hasSize(201);
    assertThat(block(files.get("node-a"), LUN_BYTES - 4096)[0]).isEqualTo((byte) 0x5a);
    assertIdentical(files, List.of("node-a", "node-b", "node-c"));

    // A member killed while writes run: none fails, and the member is taken out.
    List<String> stream = new ArrayList<>();
    int writes = 1500;
    for (int i = 0; i < writes; i++) {
      stream.add("write -P 0x" + Integer.toHexString(1 + (i * 7) % 250) + " "
          + (long) i * CHUNK % (LUN_BYTES - CHUNK) + " " + CHUNK);
    }
    Path streamLog = dir.resolve("stream.log");
    Process writing = new ProcessBuilder(qemuIo(a, stream)).redirectErrorStream(true)
        .redirectOutput(streamLog.toFile()).start();
    clients.add(writing);
    await().atMost(WAIT).pollInterval(Duration.ofMillis(20))
        .until(() -> acked(Files.readString(streamLog)).size() >= 100 || !writing.isAlive());
    Engine c = engines.get("node-c");
    int before = acked(Files.readString(streamLog)).size();
    c.process().destroyForcibly(); // SIGKILL: the launcher execs java, so this is the JVM
    assertThat(c.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(writing.waitFor(180, TimeUnit.SECONDS)).as("writes go on").isTrue();
    String out = Files.readString(streamLog);
    assertThat(writing.exitValue()).as(out).isZero();
    assertThat(out).doesNotContain("error").doesNotContain("failed");
    assertThat(acked(out)).as("every write acknowledged").hasSize(writes);
    assertThat(before).as("the kill came mid-stream").isLessThan(writes);
    Membership after = writer.read(VOLUME).orElseThrow().membership();
    assertThat(after.member("node-c").orElseThrow().state()).isEqualTo(State.OutOfSync);
    assertThat(after.member("node-b").orElseThrow().state()).isEqualTo(State.InSync);
    assertThat(after.epoch()).isEqualTo(1);
    ReplicationStatus degraded = status(a);
    assertThat(degraded.getServing()).isTrue();
    assertThat(degraded.getMembersList()).filteredOn(m -> m.getEngine().equals("node-c"))
        .singleElement().satisfies(m -> {
          assertThat(m.getState()).isEqualTo("OutOfSync");
          assertThat(m.getLinked()).isFalse();
        });
    var flush = Exec.run(Duration.ofSeconds(60), qemuIo(a, List.of("flush")));
    assertThat(flush.exit()).as(flush.output()).isZero();
    assertIdentical(files, List.of("node-a", "node-b"));
    System.out.printf("ReplicatedEnginesIT: %d writes of %d KiB before node-c was killed, all "
        + "%d acknowledged; node-c %s (%s)%n", before, CHUNK >> 10, writes,
        after.member("node-c").orElseThrow().state(),
        after.member("node-c").orElseThrow().reason());

    // node-c restarts while qemu-io keeps writing: the primary rebuilds it (Bitmap), it
    // passes Rebuilding and Joining and is InSync again, and the three files are identical.
    List<String> more = new ArrayList<>();
    int moreWrites = 6000;
    for (int i = 0; i < moreWrites; i++) {
      more.add("write -P 0x" + Integer.toHexString(1 + (i * 11) % 250) + " "
          + (long) i * 5 * CHUNK % (LUN_BYTES - CHUNK) + " " + CHUNK);
    }
    Path moreLog = dir.resolve("during-rebuild.log");
    Process during = new ProcessBuilder(qemuIo(a, more)).redirectErrorStream(true)
        .redirectOutput(moreLog.toFile()).start();
    clients.add(during);
    await().atMost(WAIT).pollInterval(Duration.ofMillis(20))
        .until(() -> acked(Files.readString(moreLog)).size() >= 100 || !during.isAlive());
    long restarted = System.nanoTime();
    c = restart(c, ca, id);
    engines.put("node-c", c);
    java.util.Set<String> seen = new java.util.LinkedHashSet<>();
    await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofMillis(10)).until(() -> {
      String st = writer.read(VOLUME).orElseThrow().membership().member("node-c").orElseThrow()
          .state().name();
      seen.add(st);
      return st.equals("InSync");
    });
    long toInSyncMillis = (System.nanoTime() - restarted) / 1_000_000;
    boolean writingAtInSync = during.isAlive();
    int ackedAtInSync = acked(Files.readString(moreLog)).size();
    assertThat(during.waitFor(300, TimeUnit.SECONDS)).as("writes go on").isTrue();
    String duringOut = Files.readString(moreLog);
    assertThat(during.exitValue()).as(duringOut).isZero();
    assertThat(duringOut).doesNotContain("error").doesNotContain("failed");
    assertThat(acked(duringOut)).as("every write acknowledged").hasSize(moreWrites);
    assertThat(seen).as("node-c's states, polled").contains("Rebuilding", "InSync");
    ReplicationStatus rebuilt = status(a);
    var rb = rebuilt.getMembersList().stream().filter(m -> m.getEngine().equals("node-c"))
        .findFirst().orElseThrow();
    assertThat(rb.getState()).isEqualTo("InSync");
    assertThat(rb.getLinked()).isTrue();
    assertThat(rb.getRebuild().getMethod()).as("the primary saw node-c leave").isEqualTo("Bitmap");
    assertThat(rb.getRebuild().getDoneBytes()).isEqualTo(rb.getRebuild().getTotalBytes());
    Matcher took = Pattern.compile("InSync after (\\d+) ms, (\\d+) bytes copied")
        .matcher(rb.getRebuild().getOutcome());
    assertThat(took.find()).as(rb.getRebuild().getOutcome()).isTrue();
    var flushAll = Exec.run(Duration.ofSeconds(60), qemuIo(a, List.of("flush")));
    assertThat(flushAll.exit()).as(flushAll.output()).isZero();
    assertIdentical(files, ENGINES);
    Map<String, String> sums = new LinkedHashMap<>();
    for (String name : ENGINES) {
      sums.put(name, sha256(files.get(name)));
    }
    assertThat(sums.values().stream().distinct()).as("SHA-256 of the LUN files: " + sums)
        .hasSize(1);
    long rebuildMillis = Long.parseLong(took.group(1));
    long copied = Long.parseLong(took.group(2));
    System.out.printf("ReplicatedEnginesIT: node-c restarted, InSync %d ms later (%s); rebuild "
        + "(%s, %d MiB compared) %d ms, %d MiB copied, %.1f MiB/s copied, %.1f MiB/s "
        + "compared; qemu-io %s at InSync (%d of %d writes acknowledged then), all %d "
        + "acknowledged; SHA-256 of the three files %s%n", toInSyncMillis, seen,
        rb.getRebuild().getMethod(), rb.getRebuild().getTotalBytes() >> 20, rebuildMillis,
        copied >> 20, (copied / 1048576.0) / Math.max(rebuildMillis, 1) * 1000,
        (rb.getRebuild().getTotalBytes() / 1048576.0) / Math.max(rebuildMillis, 1) * 1000,
        writingAtInSync ? "still writing" : "done", ackedAtInSync, moreWrites, moreWrites,
        sums.get("node-a"));
  }

  /** node-c's engine started again on its ports and state directory, as a pod restart would. */
  private Engine restart(Engine old, TestPki ca, TestPki.Identity id) throws IOException {
    old.channel().shutdownNow();
    Path log = dir.resolve(old.name() + "-restarted.log");
    Process p = ServeProcess.start(List.of("--state-dir", dir.resolve(old.name()).toString(),
        "--portal", "127.0.0.1:" + old.iscsiPort(), "--admin", "127.0.0.1:" + old.adminPort(),
        "--replication", "127.0.0.1:" + old.replicationPort(),
        "--replication-tls-cert", id.certificate().toString(),
        "--replication-tls-key", id.key().toString(),
        "--replication-tls-ca", ca.caCertificate().toString(),
        "--kubernetes", "--namespace", NS, "--node", old.name()), log,
        Map.of("KUBECONFIG", server.kubeconfig().toString(),
            "KUBERNETES_AUTH_TRYSERVICEACCOUNT", "false"));
    ManagedChannel ch = Grpc.newChannelBuilderForAddress("127.0.0.1", old.adminPort(),
        InsecureChannelCredentials.create()).build();
    return new Engine(old.name(), p, old.iscsiPort(), old.adminPort(), old.replicationPort(),
        ch, TargetAdminGrpc.newBlockingStub(ch), TargetReplicationGrpc.newBlockingStub(ch), log);
  }

  private static String sha256(Path file) throws IOException {
    var d = org.iscsicsi.target.transfer.RegionHashes.sha256();
    try (FileChannel ch = FileChannel.open(file)) {
      ByteBuffer b = ByteBuffer.allocate(1 << 20);
      while (ch.read(b) > 0) {
        b.flip();
        d.update(b);
        b.clear();
      }
    }
    return java.util.HexFormat.of().formatHex(d.digest());
  }

  private Engine start(String name, TestPki ca, TestPki.Identity id) throws IOException {
    int iscsi = ServeProcess.freePort();
    int admin = ServeProcess.freePort();
    int replication = ServeProcess.freePort();
    Path log = dir.resolve(name + ".log");
    Process p = ServeProcess.start(List.of("--state-dir", dir.resolve(name).toString(),
        "--portal", "127.0.0.1:" + iscsi, "--admin", "127.0.0.1:" + admin,
        "--replication", "127.0.0.1:" + replication,
        "--replication-tls-cert", id.certificate().toString(),
        "--replication-tls-key", id.key().toString(),
        "--replication-tls-ca", ca.caCertificate().toString(),
        "--kubernetes", "--namespace", NS, "--node", name), log,
        Map.of("KUBECONFIG", server.kubeconfig().toString(),
            "KUBERNETES_AUTH_TRYSERVICEACCOUNT", "false"));
    ManagedChannel ch = Grpc.newChannelBuilderForAddress("127.0.0.1", admin,
        InsecureChannelCredentials.create()).build();
    return new Engine(name, p, iscsi, admin, replication, ch,
        TargetAdminGrpc.newBlockingStub(ch), TargetReplicationGrpc.newBlockingStub(ch), log);
  }

  private void installCrds() throws IOException {
    PoolObjects.install(client, Path.of("../controller/src/main/resources/crd"), NS, ENGINES, WAIT);
  }

  private static ReplicationStatus status(Engine e) {
    return e.replication().withDeadlineAfter(10, TimeUnit.SECONDS).getReplicationStatus(
        GetReplicationStatusRequest.newBuilder().setTarget(T).setLun(0).build());
  }

  private static List<String> qemuIo(Engine e, List<String> commands) {
    return QemuIo.argv("127.0.0.1:" + e.iscsiPort(), T, 0, INI, commands);
  }

  private static List<Long> acked(String output) {
    List<Long> offsets = new ArrayList<>();
    Matcher m = WROTE.matcher(output);
    while (m.find()) {
      if (m.group(1).equals(m.group(2))) {
        offsets.add(Long.parseLong(m.group(3)));
      }
    }
    return offsets;
  }

  private static byte[] block(Path file, long offset) throws IOException {
    try (FileChannel ch = FileChannel.open(file)) {
      ByteBuffer b = ByteBuffer.allocate(4096);
      ch.read(b, offset);
      return b.array();
    }
  }

  private static void assertIdentical(Map<String, Path> files, List<String> names)
      throws IOException {
    LunFiles.assertIdentical(files, names, LUN_BYTES);
  }
}
