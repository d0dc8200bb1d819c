package org.iscsicsi.target.replication;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.iscsicsi.target.kube.Membership;
import org.iscsicsi.target.kube.Membership.State;
import org.iscsicsi.target.kube.MembershipTransitions;
import org.iscsicsi.target.kube.MembershipWriter;
import org.iscsicsi.target.kube.ReplicatedVolume;
import org.iscsicsi.target.replication.EpochFence.Verdict;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A member's epoch rules (docs/replication.md, section 3) over a real metadata file and the
 * IscsiVolume in fabric8's mock API server (CRUD mode; MembershipCasContractTest shows it keeps
 * resourceVersions as kube-apiserver does): an older epoch refused with STALE_EPOCH and the
 * accepted one; the same epoch only from its recorded primary; a newer epoch only by HELLO and
 * only once a fresh read confirms it; the accepted epoch on disk before the verdict to apply;
 * the watch's newer epoch accepted so the deposed primary is refused even before the new one
 * says HELLO; once it is accepted, no ack of the old epoch may leave (so the time of the last
 * one, from which a promoted member waits out the old lease, is final).
 */
@EnableKubernetesMockClient(crud = true)
class EpochFenceTest {

  static final Path CRD = Path.of("../controller/src/main/resources/crd/iscsivolumes.yaml");
  static final Instant NOW = Instant.parse("2026-12-02T12:00:00Z");
  static final String VOLUME = "pool.fenced";
  static final String A = "node-a";
  static final String B = "node-b";
  static final String C = "node-c";

  KubernetesClient client;

  @TempDir Path dir;

  private MembershipWriter writer;
  private MetadataFile metadata;
  private final AtomicInteger reads = new AtomicInteger();

  @BeforeEach
  void setUp() throws IOException {
    try (InputStream in = Files.newInputStream(CRD)) {
      CustomResourceDefinition crd = client.apiextensions().v1().customResourceDefinitions()
          .load(in).item();
      client.apiextensions().v1().customResourceDefinitions().resource(crd).create();
    }
    writer = new MembershipWriter(client);
    writer.create(VOLUME, 3, MembershipTransitions.create(A, List.of(A, B, C), State.InSync, 3,
        NOW), Map.of());
    metadata = MetadataFile.create(MetadataFile.pathFor(dir, "naa1"),
        Superblock.fresh("naa1", 1 << 20));
  }

  @AfterEach
  void close() throws IOException {
    metadata.close();
  }

  /** The fence of member C, reading the object fresh through the writer (a GET). */
  EpochFence fenceOfC() {
    return new EpochFence(C, VOLUME, metadata, () -> {
      reads.incrementAndGet();
      return writer.read(VOLUME).map(ReplicatedVolume::membership);
    });
  }

  static NackReasonAnd refused(Verdict v) {
    assertThat(v).isInstanceOf(Verdict.Refuse.class);
    Verdict.Refuse r = (Verdict.Refuse) v;
    return new NackReasonAnd(r.reason(), r.acceptedEpoch());
  }

  record NackReasonAnd(NackReason reason, long accepted) {
  }

  long onDisk() throws IOException {
    try (MetadataFile f = MetadataFile.open(metadata.path())) {
      return f.superblock().acceptedEpoch();
    }
  }

  @Test
  void aHelloOfTheObjectsEpochIsPersistedBeforeItIsApplied() throws IOException {
    EpochFence fence = fenceOfC();
    assertThat(fence.hello(1, A)).isInstanceOf(Verdict.Apply.class);
    assertThat(reads).as("confirmed by a fresh read").hasValue(1);
    assertThat(onDisk()).as("on disk when the verdict came").isEqualTo(1);
    assertThat(fence.acceptedPrimary()).isEqualTo(A);
    assertThat(MetadataFile.open(metadata.path()).superblock().role())
        .isEqualTo(Superblock.Role.REPLICA);
    assertThat(fence.frame(1, A)).isInstanceOf(Verdict.Apply.class);
    assertThat(fence.hello(1, A)).as("a reconnect of the same primary")
        .isInstanceOf(Verdict.Apply.class);
    assertThat(reads).as("no read for the accepted epoch").hasValue(1);
  }

  @Test
  void aNewerEpochTheObjectDoesNotShowIsRefusedAndNotPersisted() throws IOException {
    EpochFence fence = fenceOfC();
    fence.hello(1, A);
    // a HELLO claiming epoch 2 before the leader wrote it
    assertThat(refused(fence.hello(2, B))).isEqualTo(new NackReasonAnd(NackReason.NOT_MEMBER,
        1));
    assertThat(onDisk()).isEqualTo(1);
    // the right epoch from the wrong engine
    writer.change(VOLUME, m -> MembershipTransitions.promote(m, "leader", 1, B, NOW));
    assertThat(refused(fence.hello(2, A)).reason()).isEqualTo(NackReason.NOT_MEMBER);
    assertThat(onDisk()).isEqualTo(1);
    // and then right
    assertThat(fence.hello(2, B)).isInstanceOf(Verdict.Apply.class);
    assertThat(onDisk()).isEqualTo(2);
  }

  @Test
  void theDeposedPrimaryIsRefusedWithStaleEpochAndNothingOfItIsApplied() throws IOException {
    EpochFence fence = fenceOfC();
    fence.hello(1, A);
    writer.change(VOLUME, m -> MembershipTransitions.promote(m, "leader", 1, B, NOW));
    assertThat(fence.hello(2, B)).isInstanceOf(Verdict.Apply.class);
    assertThat(refused(fence.frame(1, A))).isEqualTo(new NackReasonAnd(NackReason.STALE_EPOCH,
        2));
    assertThat(refused(fence.hello(1, A))).isEqualTo(new NackReasonAnd(NackReason.STALE_EPOCH,
        2));
    assertThat(NackReason.STALE_EPOCH.closes()).isTrue();
    assertThat(refused(fence.frame(2, A))).as("epoch 2 is B's")
        .isEqualTo(new NackReasonAnd(NackReason.NOT_MEMBER, 2));
    assertThat(fence.frame(2, B)).isInstanceOf(Verdict.Apply.class);
  }

  @Test
  void onlyAHelloRaisesTheEpoch() throws IOException {
    EpochFence fence = fenceOfC();
    fence.hello(1, A);
    writer.change(VOLUME, m -> MembershipTransitions.promote(m, "leader", 1, B, NOW));
    assertThat(refused(fence.frame(2, B))).isEqualTo(new NackReasonAnd(NackReason.PROTOCOL, 1));
    assertThat(onDisk()).isEqualTo(1);
  }

  @Test
  void aHelloOlderThanTheObjectIsStale() throws IOException {
    EpochFence fence = fenceOfC();
    fence.hello(1, A);
    writer.change(VOLUME, m -> MembershipTransitions.promote(m, "leader", 1, B, NOW));
    writer.change(VOLUME, m -> MembershipTransitions.serving(m, B, 2));
    writer.change(VOLUME, m -> MembershipTransitions.promote(m, "leader", 2, C, NOW));
    // C never saw epoch 2; B still says HELLO at 2, but the object is at 3 already
    assertThat(refused(fence.hello(2, B))).isEqualTo(new NackReasonAnd(NackReason.STALE_EPOCH,
        1));
    assertThat(onDisk()).isEqualTo(1);
  }

  @Test
  void theWatchesNewerEpochIsAcceptedBeforeTheNewPrimarySaysHello() throws IOException {
    EpochFence fence = fenceOfC();
    fence.hello(1, A);
    Membership promoted = writer.change(VOLUME,
        m -> MembershipTransitions.promote(m, "leader", 1, B, NOW)).membership();
    assertThat(fence.observe(promoted)).isTrue();
    assertThat(onDisk()).isEqualTo(2);
    assertThat(refused(fence.frame(1, A)).reason()).isEqualTo(NackReason.STALE_EPOCH);
    assertThat(fence.observe(promoted)).as("once").isFalse();
    assertThat(fence.hello(2, B)).isInstanceOf(Verdict.Apply.class);
  }

  @Test
  void aMemberNotListedIsNotMember() throws IOException {
    writer.change(VOLUME, m -> MembershipTransitions.remove(m, C, "replaced", NOW));
    writer.change(VOLUME, m -> MembershipTransitions.deleteEntry(m, C));
    EpochFence fence = fenceOfC();
    assertThat(refused(fence.hello(1, A)).reason()).isEqualTo(NackReason.NOT_MEMBER);
    assertThat(fence.observe(writer.read(VOLUME).orElseThrow().membership())).isFalse();
    assertThat(onDisk()).isZero();
  }

  @Test
  void aPrimaryServesOnlyTheEpochAFreshReadShows() throws IOException {
    EpochFence fenceOfB = new EpochFence(B, VOLUME, metadata,
        () -> writer.read(VOLUME).map(ReplicatedVolume::membership));
    assertThat(fenceOfB.mayServeAsPrimary(1)).as("A is primary of 1").isFalse();
    writer.change(VOLUME, m -> MembershipTransitions.promote(m, "leader", 1, B, NOW));
    assertThat(fenceOfB.mayServeAsPrimary(2)).isTrue();
    assertThat(onDisk()).isEqualTo(2);
    assertThat(fenceOfB.mayServeAsPrimary(1)).as("older than accepted").isFalse();
    assertThat(new EpochFence(B, VOLUME, metadata, Optional::empty).mayServeAsPrimary(2))
        .as("no object, no primary").isFalse();
  }

  @Test
  void noAckOfTheOldEpochLeavesOnceANewerOneIsAccepted() throws Exception {
    EpochFence fence = fenceOfC();
    assertThat(fence.hello(1, A)).isInstanceOf(Verdict.Apply.class);
    assertThat(fence.acking(1)).isTrue();
    long lastAck = fence.lastAckNanos();
    assertThat(fence.lastFrameNanos()).isPositive();
    Membership promoted = writer.change(VOLUME, m -> MembershipTransitions.promote(m,
        "controller-1", 1, B, NOW)).membership();
    assertThat(fence.observe(promoted)).isTrue();
    assertThat(fence.acking(1)).as("an apply of epoch 1 that finishes now is not acked")
        .isFalse();
    assertThat(fence.lastAckNanos()).isEqualTo(lastAck);
    assertThat(fence.acking(2)).isTrue();
  }
}
