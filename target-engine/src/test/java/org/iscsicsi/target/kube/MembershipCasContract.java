package org.iscsicsi.target.kube;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.iscsicsi.target.kube.Membership.State;
import org.iscsicsi.target.kube.MembershipRefused.Reason;
import org.junit.jupiter.api.Test;

/**
 * What the membership's compare-and-swap needs from the API server, run against each server
 * {@link MembershipCasContractTest} names: a replace carrying a stale resourceVersion is refused
 * with 409; the writer then reads again and decides from scratch (a concurrent change is kept, a
 * promotion in between refuses the old primary's change); the membership, spec.replicas and the
 * member labels read back as written and select the volume; a create is refused where a
 * membership exists and added where the object has none; the watch sees the engine's volumes.
 */
abstract class MembershipCasContract {

  static final Path CRD = Path.of("../controller/src/main/resources/crd/iscsivolumes.yaml");
  static final Instant NOW = Instant.parse("2026-12-02T12:00:00Z");
  static final Map<String, String> LABELS = Map.of("app.kubernetes.io/managed-by",
      "iscsi.csi.iscsicsi.org");
  static final AtomicInteger NAMES = new AtomicInteger();

  abstract KubernetesClient client();

  /** Installs the project's IscsiVolume CRD and waits until it is served. */
  static void installCrd(KubernetesClient client) throws IOException {
    try (InputStream in = Files.newInputStream(CRD)) {
      CustomResourceDefinition crd = client.apiextensions().v1().customResourceDefinitions()
          .load(in).item();
      client.apiextensions().v1().customResourceDefinitions().resource(crd).create();
    }
    await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> client
        .genericKubernetesResources(IscsiVolumes.CONTEXT).list().getItems() != null);
  }

  static String volume() {
    return "pool.cas-" + NAMES.incrementAndGet() + "-" + System.nanoTime() % 100000;
  }

  ReplicatedVolume created(String name) {
    return new MembershipWriter(client()).create(name, 3, MembershipTransitions.create(
        "node-a", List.of("node-a", "node-b", "node-c"), State.InSync, 3, NOW), LABELS);
  }

  @Test
  void aStaleResourceVersionGets409() {
    String name = volume();
    created(name);
    var api = client().genericKubernetesResources(IscsiVolumes.CONTEXT);
    GenericKubernetesResource first = api.withName(name).get();
    GenericKubernetesResource second = api.withName(name).get();
    first.getMetadata().getLabels().put("x", "1");
    GenericKubernetesResource written = api.resource(first).update();
    assertThat(written.getMetadata().getResourceVersion())
        .isNotEqualTo(second.getMetadata().getResourceVersion());
    second.getMetadata().getLabels().put("x", "2");
    assertThatThrownBy(() -> api.resource(second).update())
        .isInstanceOfSatisfying(KubernetesClientException.class,
            e -> assertThat(e.getCode()).isEqualTo(409));
    assertThat(api.withName(name).get().getMetadata().getLabels()).containsEntry("x", "1");
  }

  @Test
  void theMembershipReadsBackAsWrittenAndItsLabelsSelectTheVolume() {
    String name = volume();
    ReplicatedVolume v = created(name);
    ReplicatedVolume read = new MembershipWriter(client()).read(name).orElseThrow();
    assertThat(read.membership()).isEqualTo(v.membership());
    assertThat(read.replicas()).isEqualTo(3);
    assertThat(read.resourceVersion()).isEqualTo(v.resourceVersion());
    GenericKubernetesResource raw = client().genericKubernetesResources(IscsiVolumes.CONTEXT)
        .withName(name).get();
    assertThat(raw.getMetadata().getLabels()).containsAllEntriesOf(LABELS)
        .containsEntry("member.iscsi.csi.iscsicsi.org/node-b", "");
    assertThat(client().genericKubernetesResources(IscsiVolumes.CONTEXT)
        .withLabel(IscsiVolumes.memberLabel("node-c")).list().getItems())
        .extracting(r -> r.getMetadata().getName()).contains(name);

    ReplicatedVolume removed = new MembershipWriter(client()).change(name,
        m -> MembershipTransitions.remove(m, "node-c", "replaced", NOW));
    ReplicatedVolume deleted = new MembershipWriter(client()).change(name,
        m -> MembershipTransitions.deleteEntry(m, "node-c"));
    assertThat(Long.parseLong(deleted.resourceVersion()))
        .isGreaterThan(Long.parseLong(removed.resourceVersion()));
    assertThat(client().genericKubernetesResources(IscsiVolumes.CONTEXT)
        .withLabel(IscsiVolumes.memberLabel("node-c")).list().getItems())
        .extracting(r -> r.getMetadata().getName()).doesNotContain(name);
  }

  @Test
  void aCreateIsRefusedWhereAMembershipExistsAndAddedWhereNone() {
    String name = volume();
    created(name);
    assertThatThrownBy(() -> created(name)).isInstanceOfSatisfying(MembershipRefused.class,
        e -> assertThat(e.reason()).isEqualTo(Reason.EXISTENCE));

    // the volume sync may create the object first, with usage only
    String synced = volume();
    client().genericKubernetesResources(IscsiVolumes.CONTEXT).resource(
        new GenericKubernetesResourceBuilder()
            .withApiVersion("iscsi.csi.iscsicsi.org/v1alpha1").withKind("IscsiVolume")
            .withNewMetadata().withName(synced).withLabels(LABELS).endMetadata()
            .addToAdditionalProperties("spec", Map.of("volumeId", synced))
            .addToAdditionalProperties("status", Map.of("sizeBytes", 4096, "sessions", 1))
            .build()).create();
    ReplicatedVolume v = created(synced);
    GenericKubernetesResource raw = client().genericKubernetesResources(IscsiVolumes.CONTEXT)
        .withName(synced).get();
    @SuppressWarnings("unchecked")
    Map<String, Object> status = (Map<String, Object>) raw.getAdditionalProperties()
        .get("status");
    assertThat(((Number) status.get("sizeBytes")).longValue()).isEqualTo(4096);
    assertThat(ReplicatedVolume.of(raw).orElseThrow().membership()).isEqualTo(v.membership());
  }

  @Test
  void aConflictingChangeIsDecidedAgainFromScratch() {
    String name = volume();
    created(name);
    MembershipWriter mine = new MembershipWriter(client());
    MembershipWriter other = new MembershipWriter(client());
    AtomicInteger decisions = new AtomicInteger();
    ReplicatedVolume written = mine.change(name, m -> {
      if (decisions.incrementAndGet() == 1) {
        other.change(name, x -> MembershipTransitions.outOfSync(x, "node-a", 1, "node-b",
            "silent", NOW));
      }
      return MembershipTransitions.outOfSync(m, "node-a", 1, "node-c", "slow", NOW);
    });
    assertThat(decisions).as("the 409 made it decide again").hasValue(2);
    Membership m = written.membership();
    assertThat(m.member("node-b").orElseThrow().state()).isEqualTo(State.OutOfSync);
    assertThat(m.member("node-c").orElseThrow().state()).isEqualTo(State.OutOfSync);
    assertThat(m.generation()).isEqualTo(3);
    assertThat(mine.read(name).orElseThrow().membership()).isEqualTo(m);
  }

  @Test
  void aPromotionInBetweenRefusesTheDeposedPrimary() {
    String name = volume();
    created(name);
    MembershipWriter primary = new MembershipWriter(client());
    MembershipWriter leader = new MembershipWriter(client());
    AtomicInteger decisions = new AtomicInteger();
    assertThatThrownBy(() -> primary.change(name, m -> {
      if (decisions.incrementAndGet() == 1) {
        leader.change(name, x -> MembershipTransitions.promote(x, "controller-1", 1, "node-b",
            NOW));
      }
      return MembershipTransitions.outOfSync(m, "node-a", 1, "node-c", "slow", NOW);
    })).isInstanceOfSatisfying(MembershipRefused.class,
        e -> assertThat(e.reason()).isEqualTo(Reason.NOT_PRIMARY));
    Membership now = primary.read(name).orElseThrow().membership();
    assertThat(now.epoch()).isEqualTo(2);
    assertThat(now.primary()).isEqualTo("node-b");
    assertThat(now.member("node-c").orElseThrow().state()).as("nothing of the stale decision")
        .isEqualTo(State.InSync);
    assertThat(decisions).hasValue(2);
  }

  @Test
  void theWatcherSeesTheEnginesVolumesOnly() {
    Map<String, Long> seen = new ConcurrentHashMap<>();
    Map<String, Boolean> gone = new ConcurrentHashMap<>();
    String mineName = volume();
    String otherName = volume();
    created(mineName);
    new MembershipWriter(client()).create(otherName, 2, MembershipTransitions.create("node-a",
        List.of("node-a", "node-b"), State.InSync, 2, NOW), LABELS);
    try (MembershipWatcher w = new MembershipWatcher(client(), "node-c",
        new MembershipWatcher.Listener() {
          @Override
          public void changed(ReplicatedVolume v) {
            seen.put(v.name(), v.membership().generation());
          }

          @Override
          public void gone(String volume) {
            gone.put(volume, true);
          }
        }).start()) {
      await().atMost(Duration.ofSeconds(20)).until(() -> seen.containsKey(mineName));
      MembershipWriter writer = new MembershipWriter(client());
      writer.change(mineName, m -> MembershipTransitions.outOfSync(m, "node-a", 1, "node-c",
          "x", NOW));
      await().atMost(Duration.ofSeconds(20)).until(() -> seen.get(mineName) == 2L);
      assertThat(w.cached(mineName).orElseThrow().membership().generation()).isEqualTo(2);
      writer.change(mineName, m -> MembershipTransitions.remove(m, "node-c", "x", NOW));
      writer.change(mineName, m -> MembershipTransitions.deleteEntry(m, "node-c"));
      await().atMost(Duration.ofSeconds(20)).until(() -> gone.containsKey(mineName));
      assertThat(seen).doesNotContainKey(otherName);
    }
  }
}
