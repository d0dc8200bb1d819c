package org.iscsicsi.target.replication;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.admin.AdminTls;
import org.iscsicsi.target.kube.Membership;
import org.iscsicsi.target.kube.Membership.State;
import org.iscsicsi.target.kube.MembershipTransitions;
import org.iscsicsi.target.kube.MembershipWatcher;
import org.iscsicsi.target.kube.MembershipWriter;
import org.iscsicsi.target.kube.ReplicatedVolume;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.lun.LunConfig;
import org.iscsicsi.target.metrics.EngineMetrics;
import org.iscsicsi.target.registry.ExportedTarget;
import org.iscsicsi.target.registry.TargetDirectory;
import org.iscsicsi.target.testing.TestPki;
import org.iscsicsi.target.transfer.Bandwidth;
import org.iscsicsi.target.transfer.Frame;
import org.iscsicsi.target.transfer.RegionHashes;
import org.iscsicsi.target.transfer.ReplicationNetwork;
import org.iscsicsi.target.transfer.ReplicationTls;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The primary's rebuild (docs/replication.md section 10) with three engines in
 * process as in {@link ReplicatedWriteTest} (real LUN and metadata files, replica streams on
 * loopback port 0 with mutual TLS, the membership in fabric8's mock API server in CRUD mode): a
 * member killed while writes go on and restarted is rebuilt while writes continue, passes
 * Rebuilding and Joining, ends InSync, and the three LUNs are identical region by region; a
 * rebuild whose member is killed again midway leaves it OutOfSync, and the next attempt after
 * its restart completes; writes during a rebuild to a region already copied and to one not yet
 * copied both end identical on every member; a Bitmap rebuild compares only the regions the
 * member may lack, and a primary without the member's bitmap compares every region (FullVerify).
 * The rebuild's bandwidth is limited here so that
 * writes and the kill land while it runs.
 */
@EnableKubernetesMockClient(crud = true)
class RebuildTest {

  static final String VOLUME = "pool.rebuilt";
  static final long LUN_BYTES = 64L << 20;
  static final int REGIONS = (int) (LUN_BYTES / Frame.REGION_BYTES);
  static final Duration WAIT = Duration.ofSeconds(60);
  /** About 4 s for a rebuild that copies every region: long enough to act during it. */
  static final long SLOW_BYTES_PER_SECOND = 16L << 20;

  KubernetesClient client;

  @TempDir Path dir;

  private final List<AutoCloseable> open = new ArrayList<>();
  private final Map<String, LogicalUnit> luns = new LinkedHashMap<>();
  private final Map<String, EpochFence> fences = new LinkedHashMap<>();
  private final Map<String, ReplicationNetwork> listeners = new ConcurrentHashMap<>();
  private final Map<String, Integer> ports = new ConcurrentHashMap<>();
  private final Set<State> seen = ConcurrentHashMap.newKeySet();
  private MembershipWriter writer;
  private AdminTls tls;
  private ReplicationNetwork dialing;
  private ReplicatedUnit unit;
  private Rebuilder rebuilder;

  @BeforeEach
  void engines() throws Exception {
    assumeThat(TestPki.available()).as("openssl installed").isTrue();
    try (InputStream in = Files.newInputStream(ReplicatedWriteTest.CRD)) {
      CustomResourceDefinition crd = client.apiextensions().v1().customResourceDefinitions()
          .load(in).item();
      client.apiextensions().v1().customResourceDefinitions().resource(crd).create();
    }
    writer = new MembershipWriter(client);
    writer.create(VOLUME, 3, MembershipTransitions.create("node-a",
        List.of("node-a", "node-b", "node-c"), State.InSync, 3, Instant.now()), Map.of());
    TestPki ca = TestPki.create(dir, "engines");
    tls = TestPki.tls(ca.issue(ReplicationTls.ENGINE_CN), ca);
    for (String name : List.of("node-a", "node-b", "node-c")) {
      luns.put(name, lun(name));
    }
    for (String name : List.of("node-b", "node-c")) {
      MetadataFile meta = MetadataFile.create(dir.resolve(name + ".meta"),
          Superblock.fresh("naa9", LUN_BYTES));
      open.add(meta);
      fences.put(name, new EpochFence(name, VOLUME, meta,
          () -> writer.read(VOLUME).map(ReplicatedVolume::membership)));
      start(name);
    }
    dialing = new ReplicationNetwork(new ReplicationTls(tls));
    open.add(dialing);
    unit = primary();
    // node-c's engine watches its volumes: every state it is given shows there
    open.add(new MembershipWatcher(client, "node-c", new MembershipWatcher.Listener() {
      @Override
      public void changed(ReplicatedVolume v) {
        v.membership().member("node-c").ifPresent(c -> seen.add(c.state()));
      }

      @Override
      public void gone(String volume) {
      }
    }).start());
  }

  @AfterEach
  void closeAll() throws Exception {
    if (rebuilder != null) {
      rebuilder.close();
    }
    if (unit != null) {
      unit.close();
    }
    for (ReplicationNetwork n : listeners.values()) {
      n.close();
    }
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  /** node-a serves as primary: a link to every acking member, as the engine opens them. */
  private ReplicatedUnit primary() throws Exception {
    Membership m = writer.read(VOLUME).orElseThrow().membership();
    Map<String, ReplicaLink> links = new LinkedHashMap<>();
    for (String name : m.ackingReplicas()) {
      links.put(name, dial(name, m.epoch(), m.generation()));
    }
    ReplicatedUnit u = new ReplicatedUnit("node-a", VOLUME, luns.get("node-a"), writer, m,
        links, new ServeLease(), Clock.systemUTC());
    await().atMost(WAIT).until(() -> u.lease().valid());
    return u;
  }

  private LogicalUnit lun(String engine) throws Exception {
    byte[] naa = new byte[16];
    naa[0] = 0x60;
    naa[15] = 9;
    LogicalUnit u = LogicalUnit.create(new LunConfig(dir.resolve(engine + ".img"), LUN_BYTES,
        512, true, false, "SERIAL9", naa));
    open.add(u);
    return u;
  }

  /** The member's engine starts: its replication listener serves its LUN behind its fence. */
  private void start(String name) throws Exception {
    LogicalUnit lun = luns.get(name);
    EpochFence fence = fences.get(name);
    ReplicaSession session = new ReplicaSession(volume -> VOLUME.equals(volume)
        ? Optional.of(new ReplicaSession.MemberLun(lun, fence)) : Optional.empty());
    ReplicationNetwork network = new ReplicationNetwork(new ReplicationTls(tls));
    InetSocketAddress at = network.listen(new HostPort("127.0.0.1", 0), session::serve);
    listeners.put(name, network);
    ports.put(name, at.getPort());
  }

  /** The member's process dies: its connections reset, nothing listens. */
  private void kill(String name) {
    ReplicationNetwork n = listeners.remove(name);
    n.close();
  }

  private ReplicaLink dial(String name, long epoch, long generation) throws Exception {
    Integer port = ports.get(name);
    if (!listeners.containsKey(name)) {
      throw new ReplicaLink.LinkFailure(name + ": connection refused", null, 0);
    }
    return ReplicaLink.open(dialing, name, new HostPort("127.0.0.1", port), epoch,
        new ReplicaHello(VOLUME, "node-a", generation), ReplicatedWriteTest.TOLERANT_ACK_TIMEOUT);
  }

  private void startRebuilder(long bytesPerSecond) {
    rebuilder = new Rebuilder("node-a", VOLUME, unit, luns.get("node-a"), (member, epoch, gen)
        -> {
      try {
        return dial(member, epoch, gen);
      } catch (ReplicaLink.LinkFailure | InterruptedException e) {
        throw e;
      } catch (Exception e) {
        throw new ReplicaLink.LinkFailure(member + ": " + e, null, 0);
      }
    }, new Bandwidth(bytesPerSecond), Clock.systemUTC()).start();
  }

  private State state(String engine) {
    return writer.read(VOLUME).orElseThrow().membership().member(engine).orElseThrow().state();
  }

  private Membership.Member entry(String engine) {
    return writer.read(VOLUME).orElseThrow().membership().member(engine).orElseThrow();
  }

  /** Writes a different pattern into every region, so a rebuild has every region to copy. */
  private void fillEveryRegion(long seed) throws Exception {
    for (int r = 0; r < REGIONS; r++) {
      unit.write((long) r * Frame.REGION_BYTES,
          ByteBuffer.wrap(ReplicatedWriteTest.random(Frame.REGION_BYTES, seed + r)), false);
    }
  }

  /** Random writes (1 to 256 blocks anywhere) until {@code stop}; returns how many. */
  private Future<Long> writeUntil(AtomicBoolean stop, long seed) {
    return java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor().submit(() -> {
      Random random = new Random(seed);
      long n = 0;
      while (!stop.get()) {
        int blocks = 1 + random.nextInt(256);
        long block = random.nextLong(LUN_BYTES / 512 - blocks);
        unit.write(block * 512, ByteBuffer.wrap(ReplicatedWriteTest.random(blocks * 512,
            random.nextLong())), random.nextInt(8) == 0);
        n++;
      }
      return n;
    });
  }

  /** Every member's LUN equals the primary's, region by region (SHA-256). */
  private void assertIdentical() throws Exception {
    unit.flush();
    for (int r = 0; r < REGIONS; r++) {
      String a = regionHash("node-a", r);
      for (String m : List.of("node-b", "node-c")) {
        assertThat(regionHash(m, r)).as("region %d of %s", r, m).isEqualTo(a);
      }
    }
  }

  private String regionHash(String engine, int region) throws Exception {
    return HexFormat.of().formatHex(RegionHashes.of(ReplicatedWriteTest.read(luns.get(engine),
        (long) region * Frame.REGION_BYTES, Frame.REGION_BYTES)));
  }

  @Test
  void aKilledMemberIsRebuiltWhileWritesContinueAndEndsInSyncIdentical() throws Exception {
    fillEveryRegion(100);
    kill("node-c");
    await().atMost(WAIT).until(() -> state("node-c") == State.OutOfSync);
    fillEveryRegion(200); // node-c misses all of it
    startRebuilder(SLOW_BYTES_PER_SECOND);
    AtomicBoolean stop = new AtomicBoolean();
    Future<Long> writes = writeUntil(stop, 7);
    long t0 = System.nanoTime();
    start("node-c");
    await().atMost(WAIT).until(() -> state("node-c") == State.InSync);
    long tookMillis = (System.nanoTime() - t0) / 1_000_000;
    Thread.sleep(300); // writes go on with node-c acking
    stop.set(true);
    long n = writes.get();
    assertThat(seen).as("states node-c passed").contains(State.Rebuilding, State.Joining,
        State.InSync);
    assertThat(entry("node-c").outSince()).as("cleared at InSync").isNull();
    assertThat(unit.membership().ackingReplicas()).containsExactly("node-b", "node-c");
    assertThat(rebuilder.completed()).isEqualTo(1);
    Rebuilder.Progress p = rebuilder.progress().orElseThrow();
    assertThat(p.method()).as("this primary saw it leave").isEqualTo(Rebuilder.BITMAP);
    assertThat(p.doneBytes()).isEqualTo(LUN_BYTES);
    assertThat(rebuilder.copiedBytes()).as("every region differed").isGreaterThanOrEqualTo(
        LUN_BYTES);
    System.out.printf("rebuild of %d MiB under %d concurrent writes: %d ms to InSync%n",
        LUN_BYTES >> 20, n, tookMillis);
    // the engine's metrics render the figures
    ByteArrayOutputStream text = new ByteArrayOutputStream();
    new EngineMetrics(new TargetDirectory() {
      @Override
      public Optional<ExportedTarget> target(String name) {
        return Optional.empty();
      }

      @Override
      public List<ExportedTarget> targets() {
        return List.of();
      }
    }, () -> null, () -> List.of(rebuilder.figures())).writeText(text);
    assertThat(text.toString()).contains(
        "iscsicsi_replication_rebuild_remaining_bytes{volume=\"" + VOLUME + "\"} 0.0",
        "iscsicsi_replication_rebuild_bytes_total{volume=\"" + VOLUME + "\"} "
            + (double) rebuilder.copiedBytes());
    assertThat(n).as("writes ran during the rebuild").isPositive();
    assertIdentical();
  }

  @Test
  void aRebuildInterruptedByTheMembersDeathRestartsAndCompletes() throws Exception {
    kill("node-c");
    await().atMost(WAIT).until(() -> state("node-c") == State.OutOfSync);
    fillEveryRegion(300);
    startRebuilder(SLOW_BYTES_PER_SECOND);
    start("node-c");
    await().atMost(WAIT).until(() -> rebuilder.progress().map(x -> x.doneBytes()
        >= 2L * Frame.REGION_BYTES).orElse(false));
    assertThat(state("node-c")).isEqualTo(State.Rebuilding);
    assertThat(entry("node-c").rebuild().method()).isEqualTo(Rebuilder.BITMAP);
    kill("node-c");
    await().atMost(WAIT).until(() -> state("node-c") == State.OutOfSync);
    assertThat(entry("node-c").reason()).startsWith("rebuild failed");
    assertThat(rebuilder.progress().orElseThrow().outcome()).startsWith("rebuild failed");
    unit.write(0, ByteBuffer.wrap(ReplicatedWriteTest.random(1 << 20, 301)), false);
    start("node-c");
    AtomicBoolean stop = new AtomicBoolean();
    Future<Long> writes = writeUntil(stop, 8);
    await().atMost(WAIT).until(() -> state("node-c") == State.InSync);
    stop.set(true);
    writes.get();
    assertThat(rebuilder.completed()).isEqualTo(1);
    assertIdentical();
  }

  @Test
  void writesToACopiedAndANotYetCopiedRegionEndIdentical() throws Exception {
    kill("node-c");
    await().atMost(WAIT).until(() -> state("node-c") == State.OutOfSync);
    fillEveryRegion(400);
    startRebuilder(SLOW_BYTES_PER_SECOND);
    start("node-c");
    // regions are copied in order: wait until region 0 and 1 are done, far from the end
    await().atMost(WAIT).until(() -> rebuilder.progress().map(x -> x.doneBytes()
        >= 2L * Frame.REGION_BYTES).orElse(false));
    assertThat(state("node-c")).isEqualTo(State.Rebuilding);
    long done = rebuilder.progress().orElseThrow().doneBytes();
    assertThat(done).as("the last region not copied yet").isLessThan(LUN_BYTES
        - Frame.REGION_BYTES);
    byte[] copied = ReplicatedWriteTest.random(65536, 401);
    byte[] notYet = ReplicatedWriteTest.random(65536, 402);
    long copiedAt = 4096;
    long notYetAt = LUN_BYTES - Frame.REGION_BYTES + 8192;
    unit.write(copiedAt, ByteBuffer.wrap(copied), false);
    unit.write(notYetAt, ByteBuffer.wrap(notYet), false);
    // a member being rebuilt is sent every write but its ack is not waited for: the write
    // lands on it shortly after the primary acks; region 0 is not copied again, so only the
    // forwarded write can bring these bytes
    await().atMost(WAIT).untilAsserted(() -> assertThat(ReplicatedWriteTest.read(
        luns.get("node-c"), copiedAt, copied.length))
        .as("a write to a copied region reaches the rebuilt member while it is Rebuilding")
        .isEqualTo(copied));
    await().atMost(WAIT).until(() -> state("node-c") == State.InSync);
    assertThat(ReplicatedWriteTest.read(luns.get("node-c"), notYetAt, notYet.length))
        .isEqualTo(notYet);
    assertIdentical();
  }

  /**
   * The Bitmap method: after an absence, only the regions the member may lack are compared:
   * those written while it was out, and one it acked but had not flushed when it died (its
   * page cache would not survive a power loss); regions flushed on it before are not.
   */
  @Test
  void aBitmapRebuildComparesOnlyTheRegionsTheMemberMayLack() throws Exception {
    fillEveryRegion(600);
    unit.flush();
    unit.write(10L * Frame.REGION_BYTES + 512, ByteBuffer.wrap(ReplicatedWriteTest.random(4096,
        601)), false); // acked by node-c, not flushed
    kill("node-c");
    await().atMost(WAIT).until(() -> state("node-c") == State.OutOfSync);
    unit.write(3L * Frame.REGION_BYTES, ByteBuffer.wrap(ReplicatedWriteTest.random(8192, 602)),
        false);
    // one write across the boundary of regions 7 and 8
    unit.write(8L * Frame.REGION_BYTES - 4096, ByteBuffer.wrap(ReplicatedWriteTest.random(8192,
        603)), true);
    assertThat(unit.bitmap("node-c").orElseThrow().regions()).containsExactly(3, 7, 8, 10);
    startRebuilder(SLOW_BYTES_PER_SECOND);
    start("node-c");
    await().atMost(WAIT).until(() -> state("node-c") == State.InSync);
    Rebuilder.Progress p = rebuilder.progress().orElseThrow();
    assertThat(p.method()).isEqualTo(Rebuilder.BITMAP);
    assertThat(p.totalBytes()).isEqualTo(4L * Frame.REGION_BYTES);
    assertThat(rebuilder.copiedBytes()).as("regions 3, 7 and 8 differed; 10 was there")
        .isEqualTo(3L * Frame.REGION_BYTES);
    assertThat(unit.bitmap("node-c")).as("cleared at InSync").isEmpty();
    assertIdentical();
  }

  /**
   * A primary that did not see the member leave (it started with the member already out) has
   * no bitmap of it and rebuilds by FullVerify: every region compared.
   */
  @Test
  void aPrimaryWithoutTheMembersBitmapRebuildsByFullVerify() throws Exception {
    kill("node-c");
    await().atMost(WAIT).until(() -> state("node-c") == State.OutOfSync);
    fillEveryRegion(700);
    unit.close(); // node-a restarts; here it serves again at once (the test plays its epoch)
    unit = primary();
    assertThat(unit.bitmap("node-c")).isEmpty();
    startRebuilder(8L * SLOW_BYTES_PER_SECOND);
    start("node-c");
    AtomicBoolean stop = new AtomicBoolean();
    Future<Long> writes = writeUntil(stop, 9);
    await().atMost(WAIT).until(() -> state("node-c") == State.InSync);
    stop.set(true);
    writes.get();
    Rebuilder.Progress p = rebuilder.progress().orElseThrow();
    assertThat(p.method()).isEqualTo(Rebuilder.FULL_VERIFY);
    assertThat(p.totalBytes()).isEqualTo(LUN_BYTES);
    assertIdentical();
  }

  /** Progress reaches the IscsiVolume while the rebuild runs, and the percent column. */
  @Test
  void progressIsWrittenToTheIscsiVolume() throws Exception {
    kill("node-c");
    await().atMost(WAIT).until(() -> state("node-c") == State.OutOfSync);
    fillEveryRegion(500);
    startRebuilder(8L << 20); // about 8 s: the 5 s report falls inside
    start("node-c");
    AtomicLong reported = new AtomicLong();
    Set<String> columns = ConcurrentHashMap.newKeySet();
    await().atMost(WAIT).until(() -> {
      Membership.Member c = entry("node-c");
      if (c.rebuild() != null && c.state() == State.Rebuilding) {
        reported.set(Math.max(reported.get(), c.rebuild().doneBytes()));
        assertThat(c.rebuild().method()).isEqualTo(Rebuilder.BITMAP);
        assertThat(c.rebuild().totalBytes()).isEqualTo(LUN_BYTES);
        columns.add(rebuildColumn());
      }
      return c.state() == State.InSync;
    });
    assertThat(reported.get()).as("a progress report between 0 and the end").isPositive()
        .isLessThan(LUN_BYTES);
    assertThat(columns).as("the -o wide Rebuild column").contains("0%")
        .anyMatch(x -> x.matches("[1-9][0-9]?%"));
    assertThat(rebuildColumn()).as("gone at InSync").isNull();
  }

  /** {@code status.replication.rebuild}, the Rebuild printer column, as the object holds it. */
  @SuppressWarnings("unchecked")
  private String rebuildColumn() {
    Map<String, Object> status = (Map<String, Object>) client.genericKubernetesResources(
        org.iscsicsi.target.kube.IscsiVolumes.CONTEXT).withName(VOLUME).get()
        .getAdditionalProperties().get("status");
    Map<String, Object> replication = (Map<String, Object>) status.get("replication");
    return (String) replication.get("rebuild");
  }
}
