package org.iscsicsi.target.replication;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.admin.AdminTls;
import org.iscsicsi.target.kube.Membership;
import org.iscsicsi.target.kube.Membership.State;
import org.iscsicsi.target.kube.MembershipTransitions;
import org.iscsicsi.target.kube.MembershipWriter;
import org.iscsicsi.target.kube.ReplicatedVolume;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.lun.LunConfig;
import org.iscsicsi.target.lun.UnitNotReadyException;
import org.iscsicsi.target.testing.TestPki;
import org.iscsicsi.target.transfer.Frame;
import org.iscsicsi.target.transfer.FrameType;
import org.iscsicsi.target.transfer.RegionMap;
import org.iscsicsi.target.transfer.ReplicationNetwork;
import org.iscsicsi.target.transfer.ReplicationTls;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three engines in process (primary A, members B and C), each with a real LUN file and metadata
 * file, the replica streams on loopback port 0 with mutual TLS 1.3 from {@link TestPki} exactly
 * as the replication port runs it, the membership in fabric8's mock API server (CRUD mode; the
 * contract test shows it keeps resourceVersions as kube-apiserver does): a write returns (GOOD)
 * only once both members applied it; FUA is forced on each member; a FLUSH returns after every
 * earlier write is on every member; a killed member is OutOfSync in the IscsiVolume before the
 * next write returns, and writes go on without it; a member that stops acking writes is out
 * after the link's ack timeout; once the leader promoted B and B accepted
 * the new epoch, A's next write is refused by B (STALE_EPOCH), A's compare-and-swap is refused,
 * and the write fails NOT READY 04h/0Ch without being acknowledged.
 */
@EnableKubernetesMockClient(crud = true)
class ReplicatedWriteTest {

  static final Path CRD = Path.of("../controller/src/main/resources/crd/iscsivolumes.yaml");
  static final String VOLUME = "pool.replicated";
  static final long LUN_BYTES = 32L << 20;
  static final Duration WAIT = Duration.ofSeconds(20);
  /**
   * The primary's ack timeout here: none of these tests is about a slow member, and on a loaded
   * machine a fsync can outlast the production 4 s and take a healthy member out.
   */
  static final Duration TOLERANT_ACK_TIMEOUT = Duration.ofSeconds(60);

  KubernetesClient client;

  @TempDir Path dir;

  private final List<AutoCloseable> open = new ArrayList<>();
  private MembershipWriter writer;
  private AdminTls tls;
  private final Map<String, Member> members = new LinkedHashMap<>();
  private LogicalUnit primaryLun;
  private ReplicatedUnit unit;

  /** A member engine: its LUN, metadata, fence, session and replication listener. */
  record Member(String name, LogicalUnit lun, EpochFence fence, ReplicaSession session,
      ReplicationNetwork network, InetSocketAddress address) {
  }

  @BeforeEach
  void engines() throws Exception {
    assumeThat(TestPki.available()).as("openssl installed").isTrue();
    try (InputStream in = Files.newInputStream(CRD)) {
      CustomResourceDefinition crd = client.apiextensions().v1().customResourceDefinitions()
          .load(in).item();
      client.apiextensions().v1().customResourceDefinitions().resource(crd).create();
    }
    writer = new MembershipWriter(client);
    writer.create(VOLUME, 3, MembershipTransitions.create("node-a",
        List.of("node-a", "node-b", "node-c"), State.InSync, 3, Instant.now()), Map.of());
    TestPki ca = TestPki.create(dir, "engines");
    tls = TestPki.tls(ca.issue(ReplicationTls.ENGINE_CN), ca);
    primaryLun = lun("node-a");
    for (String name : List.of("node-b", "node-c")) {
      members.put(name, member(name));
    }
    unit = primary();
    await().atMost(WAIT).until(() -> unit.lease().valid());
  }

  @AfterEach
  void closeAll() throws Exception {
    if (unit != null) {
      unit.close();
    }
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  private LogicalUnit lun(String engine) throws Exception {
    byte[] naa = new byte[16];
    naa[0] = 0x60;
    naa[15] = 7;
    LogicalUnit u = LogicalUnit.create(new LunConfig(dir.resolve(engine + ".img"), LUN_BYTES,
        512, true, false, "SERIAL7", naa));
    open.add(u);
    return u;
  }

  private Member member(String name) throws Exception {
    LogicalUnit lun = lun(name);
    MetadataFile meta = MetadataFile.create(dir.resolve(name + ".meta"),
        Superblock.fresh("naa7", LUN_BYTES));
    open.add(meta);
    EpochFence fence = new EpochFence(name, VOLUME, meta,
        () -> writer.read(VOLUME).map(ReplicatedVolume::membership));
    ReplicaSession session = new ReplicaSession(volume -> VOLUME.equals(volume)
        ? Optional.of(new ReplicaSession.MemberLun(lun, fence)) : Optional.empty());
    ReplicationNetwork network = new ReplicationNetwork(new ReplicationTls(tls));
    open.add(network);
    InetSocketAddress at = network.listen(new HostPort("127.0.0.1", 0), session::serve);
    return new Member(name, lun, fence, session, network, at);
  }

  private ReplicatedUnit primary() throws Exception {
    ReplicationNetwork network = new ReplicationNetwork(new ReplicationTls(tls));
    open.add(network);
    Membership m = writer.read(VOLUME).orElseThrow().membership();
    Map<String, ReplicaLink> links = new LinkedHashMap<>();
    for (Member x : members.values()) {
      links.put(x.name(), ReplicaLink.open(network, x.name(),
          new HostPort("127.0.0.1", x.address().getPort()), m.epoch(),
          new ReplicaHello(VOLUME, "node-a", m.generation()), TOLERANT_ACK_TIMEOUT));
    }
    return new ReplicatedUnit("node-a", VOLUME, primaryLun, writer, m, links,
        new ServeLease(), Clock.systemUTC());
  }

  static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  static byte[] read(LogicalUnit lun, long offset, int n) throws Exception {
    ByteBuffer b = ByteBuffer.allocate(n);
    lun.read(offset, b);
    return b.array();
  }

  State state(String engine) {
    return writer.read(VOLUME).orElseThrow().membership().member(engine).orElseThrow().state();
  }

  @Test
  void aWriteReturnsOnlyOnceEveryMemberAppliedIt() throws Exception {
    byte[] data = random(1 << 20, 1);
    // two segments, as a SCSI write's Data-Out arrives
    unit.write(8192, new ByteBuffer[] {ByteBuffer.wrap(data, 0, 4096),
        ByteBuffer.wrap(data, 4096, data.length - 4096)}, false);
    assertThat(read(primaryLun, 8192, data.length)).isEqualTo(data);
    for (Member m : members.values()) {
      assertThat(read(m.lun(), 8192, data.length)).as(m.name()).isEqualTo(data);
    }
    // a write of more than one region travels as several frames
    byte[] big = random(5 << 20, 2);
    unit.write(16L << 20, ByteBuffer.wrap(big), false);
    for (Member m : members.values()) {
      assertThat(read(m.lun(), 16L << 20, big.length)).as(m.name()).isEqualTo(big);
      assertThat(m.session().applied()).isEqualTo(3);
      assertThat(m.session().forcedWrites()).isZero();
    }
    unit.unmap(8192, 4096);
    for (Member m : members.values()) {
      assertThat(read(m.lun(), 8192, 4096)).as("unmapped on " + m.name())
          .isEqualTo(new byte[4096]);
    }
  }

  /**
   * A LUN grown as ControllerExpandVolume grows it (every member, then the primary): writes
   * past the old end reach every member, none is taken out, and a member that leaves afterwards
   * gets its bitmap marked past the old end too.
   */
  @Test
  void writesPastTheOldEndOfAGrownLunReachEveryMember() throws Exception {
    long grown = 2 * LUN_BYTES;
    for (Member m : members.values()) {
      m.lun().resize(grown);
    }
    primaryLun.resize(grown);
    byte[] data = random(65536, 11);
    long at = grown - Frame.REGION_BYTES + 4096;
    unit.write(at, ByteBuffer.wrap(data), true);
    for (Member m : members.values()) {
      assertThat(read(m.lun(), at, data.length)).as(m.name()).isEqualTo(data);
      assertThat(state(m.name())).isEqualTo(State.InSync);
    }
    ReplicationNetwork c = members.get("node-c").network();
    open.remove(c);
    c.close();
    unit.write(at, ByteBuffer.wrap(random(4096, 12)), false);
    assertThat(state("node-c")).as("OutOfSync before GOOD").isEqualTo(State.OutOfSync);
    unit.write(at + 8192, ByteBuffer.wrap(random(4096, 13)), false);
    assertThat(unit.bitmap("node-c").orElseThrow().regions())
        .contains(RegionMap.count(grown) - 1);
  }

  @Test
  void fuaIsForcedOnEveryMemberAndFlushFollowsEarlierWrites() throws Exception {
    unit.write(0, ByteBuffer.wrap(random(4096, 3)), true);
    for (Member m : members.values()) {
      assertThat(m.session().forcedWrites()).as(m.name()).isEqualTo(1);
    }
    ExecutorService pool = Executors.newFixedThreadPool(8);
    List<Future<?>> writes = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      long offset = (long) i * 65536;
      byte[] d = random(65536, 10 + i);
      writes.add(pool.submit(() -> {
        unit.write(offset, ByteBuffer.wrap(d), false);
        return null;
      }));
    }
    for (Future<?> f : writes) {
      f.get();
    }
    pool.shutdown();
    unit.flush();
    for (Member m : members.values()) {
      assertThat(state(m.name())).as("%s stayed in sync: %s", m.name(),
          writer.read(VOLUME).orElseThrow().membership()).isEqualTo(State.InSync);
      assertThat(m.session().applied()).isEqualTo(17);
      for (int i = 0; i < 16; i++) {
        assertThat(read(m.lun(), (long) i * 65536, 65536)).isEqualTo(random(65536, 10 + i));
      }
    }
  }

  @Test
  void aKilledMemberIsTakenOutBeforeTheNextWriteReturns() throws Exception {
    unit.write(0, ByteBuffer.wrap(random(4096, 4)), false);
    ReplicationNetwork c = members.get("node-c").network();
    open.remove(c);
    c.close(); // its process dies: connections reset
    byte[] next = random(4096, 5);
    unit.write(4096, ByteBuffer.wrap(next), false);
    assertThat(state("node-c")).as("OutOfSync before GOOD").isEqualTo(State.OutOfSync);
    assertThat(writer.read(VOLUME).orElseThrow().membership().member("node-c").orElseThrow()
        .outSince().epoch()).isEqualTo(1);
    assertThat(read(members.get("node-b").lun(), 4096, 4096)).isEqualTo(next);
    // writes go on with B alone
    unit.write(8192, ByteBuffer.wrap(random(4096, 6)), true);
    assertThat(members.get("node-b").session().forcedWrites()).isEqualTo(1);
    assertThat(unit.membership().ackingReplicas()).containsExactly("node-b");
    assertThat(unit.lease().valid()).isTrue();
  }

  /**
   * A member that acks heartbeats but never a write (a hung disk behind a live process) is
   * taken out after the link's ack timeout: the write returns GOOD once the IscsiVolume shows it
   * OutOfSync with the reason, and later writes no longer wait for it.
   */
  @Test
  void aMemberThatNeverAcksIsTakenOutAfterTheAckTimeout() throws Exception {
    unit.close();
    unit = null;
    ReplicationNetwork silentNet = new ReplicationNetwork(new ReplicationTls(tls));
    open.add(silentNet);
    InetSocketAddress silent = silentNet.listen(new HostPort("127.0.0.1", 0), (ch, subject) -> {
      try {
        ch.receive(WAIT); // the HELLO
        ch.send(new Frame(FrameType.HELLO_ACK, 0, 1, 0, 0, 0, null));
        while (ch.isOpen()) {
          Frame f = ch.receive(WAIT);
          if (f.type() == FrameType.HEARTBEAT) { // alive, but its disk never completes a write
            ch.send(new Frame(FrameType.ACK, 0, 1, 0, 0, f.offset(), null));
          }
        }
      } catch (Exception e) {
        ch.close();
      }
    });
    ReplicationNetwork network = new ReplicationNetwork(new ReplicationTls(tls));
    open.add(network);
    Membership m = writer.read(VOLUME).orElseThrow().membership();
    Duration ackTimeout = Duration.ofSeconds(1);
    Map<String, ReplicaLink> links = new LinkedHashMap<>();
    links.put("node-b", ReplicaLink.open(network, "node-b",
        new HostPort("127.0.0.1", members.get("node-b").address().getPort()), m.epoch(),
        new ReplicaHello(VOLUME, "node-a", m.generation()), TOLERANT_ACK_TIMEOUT));
    links.put("node-c", ReplicaLink.open(network, "node-c",
        new HostPort("127.0.0.1", silent.getPort()), m.epoch(),
        new ReplicaHello(VOLUME, "node-a", m.generation()), ackTimeout));
    unit = new ReplicatedUnit("node-a", VOLUME, primaryLun, writer, m, links, new ServeLease(),
        Clock.systemUTC());
    await().atMost(WAIT).until(() -> unit.lease().valid());

    long start = System.nanoTime();
    byte[] data = random(4096, 8);
    unit.write(0, ByteBuffer.wrap(data), false);
    Duration took = Duration.ofNanos(System.nanoTime() - start);
    assertThat(state("node-c")).as("OutOfSync before GOOD").isEqualTo(State.OutOfSync);
    assertThat(took).as("the write waited at most about one ack timeout")
        .isLessThan(ackTimeout.plus(WAIT));
    assertThat(read(members.get("node-b").lun(), 0, 4096)).isEqualTo(data);
    assertThat(unit.membership().ackingReplicas()).containsExactly("node-b");
    long next = System.nanoTime();
    unit.write(4096, ByteBuffer.wrap(data), true);
    assertThat(Duration.ofNanos(System.nanoTime() - next)).as("no longer waits for node-c")
        .isLessThan(ackTimeout);
  }

  /**
   * A HELLO the member's fence refuses never opens a stream: an epoch the object does not show
   * (NOT_MEMBER), a sender that is not the epoch's primary (NOT_MEMBER), a volume the member does
   * not hold (NOT_MEMBER), an older epoch once a newer one was accepted (STALE_EPOCH, with the
   * member's epoch).
   */
  @Test
  void helloRefusalsCarryTheReasonAndTheMembersEpoch() throws Exception {
    ReplicationNetwork network = new ReplicationNetwork(new ReplicationTls(tls));
    open.add(network);
    Member b = members.get("node-b");
    HostPort at = new HostPort("127.0.0.1", b.address().getPort());
    assertThatThrownBy(() -> ReplicaLink.open(network, "node-b", at, 2,
        new ReplicaHello(VOLUME, "node-a", 1)))
        .isInstanceOfSatisfying(ReplicaLink.LinkFailure.class, e -> {
          assertThat(e.reason()).isEqualTo(NackReason.NOT_MEMBER);
          assertThat(e.memberEpoch()).isEqualTo(1);
        });
    assertThatThrownBy(() -> ReplicaLink.open(network, "node-b", at, 1,
        new ReplicaHello(VOLUME, "node-c", 1)))
        .isInstanceOfSatisfying(ReplicaLink.LinkFailure.class,
            e -> assertThat(e.reason()).isEqualTo(NackReason.NOT_MEMBER));
    assertThatThrownBy(() -> ReplicaLink.open(network, "node-b", at, 1,
        new ReplicaHello("pool.other", "node-a", 1)))
        .isInstanceOfSatisfying(ReplicaLink.LinkFailure.class,
            e -> assertThat(e.reason()).isEqualTo(NackReason.NOT_MEMBER));
    Membership promoted = writer.change(VOLUME, m -> MembershipTransitions.promote(m,
        "controller-1", 1, "node-c", Instant.now())).membership();
    assertThat(b.fence().observe(promoted)).isTrue();
    assertThatThrownBy(() -> ReplicaLink.open(network, "node-b", at, 1,
        new ReplicaHello(VOLUME, "node-a", 1)))
        .isInstanceOfSatisfying(ReplicaLink.LinkFailure.class, e -> {
          assertThat(e.reason()).isEqualTo(NackReason.STALE_EPOCH);
          assertThat(e.memberEpoch()).isEqualTo(2);
        });
    // the new primary's HELLO opens a stream
    ReplicaLink.open(network, "node-b", at, 2, new ReplicaHello(VOLUME, "node-c", 2)).close();
  }

  /** Without writes, a member whose link is lost is taken out before the lease could lapse. */
  @Test
  void aSilentMemberIsTakenOutWithinTheSilenceLimitWithoutWrites() throws Exception {
    ReplicationNetwork c = members.get("node-c").network();
    open.remove(c);
    long t0 = System.nanoTime();
    c.close();
    await().atMost(Duration.ofSeconds(ServeLease.SERVE_LEASE.toSeconds()))
        .until(() -> state("node-c") == State.OutOfSync);
    long tookMillis = (System.nanoTime() - t0) / 1_000_000;
    assertThat(tookMillis).as("within the silence limit and a heartbeat")
        .isLessThan(ReplicaSession.MEMBER_SILENCE_LIMIT.toMillis() + 1000);
    assertThat(unit.lease().valid()).as("the lease never lapsed").isTrue();
    unit.write(0, ByteBuffer.wrap(random(4096, 9)), false);
  }

  @Test
  void aDeposedPrimaryCannotCompleteAWrite() throws Exception {
    unit.write(0, ByteBuffer.wrap(random(4096, 7)), false);
    // the leader promotes B; B accepts epoch 2 from the object (the watch's hint)
    Membership promoted = writer.change(VOLUME, m -> MembershipTransitions.promote(m,
        "controller-1", 1, "node-b", Instant.now())).membership();
    assertThat(members.get("node-b").fence().observe(promoted)).isTrue();
    byte[] late = random(4096, 8);
    assertThatThrownBy(() -> unit.write(4096, ByteBuffer.wrap(late), false))
        .isInstanceOfSatisfying(UnitNotReadyException.class, e -> {
          assertThat(e.asc()).isEqualTo(0x04);
          assertThat(e.ascq()).isEqualTo(0x0c);
        });
    assertThat(read(members.get("node-b").lun(), 4096, 4096)).as("never applied on B")
        .isEqualTo(new byte[4096]);
    Membership now = writer.read(VOLUME).orElseThrow().membership();
    assertThat(now.epoch()).isEqualTo(2);
    assertThat(now.member("node-b").orElseThrow().state()).isEqualTo(State.InSync);
    assertThatThrownBy(() -> unit.flush()).isInstanceOfSatisfying(UnitNotReadyException.class,
        e -> assertThat(e.ascq()).isEqualTo(0x0c));
  }

  @Test
  void aLapsedLeaseServesNothing() throws Exception {
    unit.lease().revoke();
    assertThatThrownBy(() -> unit.write(0, ByteBuffer.wrap(new byte[512]), false))
        .isInstanceOfSatisfying(UnitNotReadyException.class,
            e -> assertThat(e.ascq()).isEqualTo(0x0b));
    assertThat(unit.writeInline(0, ByteBuffer.wrap(new byte[512]))).isFalse();
    await().atMost(WAIT).until(() -> unit.lease().valid()); // the next heartbeat's acks
    unit.write(0, ByteBuffer.wrap(new byte[512]), false);
  }

  /**
   * A primary left alone in sync keeps serving on its engine-Lease renewals (6 s from each
   * renewal's send time) once no member acks its heartbeats, and stops 6 s after the last one.
   */
  @Test
  void aLonePrimaryServesOnItsEngineLeaseRenewals() throws Exception {
    for (String name : List.of("node-b", "node-c")) {
      ReplicationNetwork n = members.get(name).network();
      open.remove(n);
      n.close();
    }
    await().atMost(WAIT).until(() -> unit.membership().ackingReplicas().isEmpty());
    long until = System.nanoTime() + ServeLease.SERVE_LEASE.toNanos() + 1_000_000_000L;
    while (System.nanoTime() < until) {
      unit.engineLeaseRenewed(System.nanoTime());
      assertThat(unit.serving()).as("serving alone on its renewals").isTrue();
      Thread.sleep(500);
    }
    unit.write(0, ByteBuffer.wrap(random(4096, 11)), true);
    long last = System.nanoTime();
    unit.engineLeaseRenewed(last);
    await().atMost(ServeLease.ENGINE_LEASE.plusSeconds(2)).until(() -> !unit.serving());
    assertThat(System.nanoTime() - last).as("it lapsed only after the engine Lease's duration")
        .isGreaterThanOrEqualTo(ServeLease.ENGINE_LEASE.toNanos());
    assertThatThrownBy(() -> unit.write(0, ByteBuffer.wrap(new byte[512]), false))
        .isInstanceOfSatisfying(UnitNotReadyException.class,
            e -> assertThat(e.ascq()).isEqualTo(0x0b));
  }
}
