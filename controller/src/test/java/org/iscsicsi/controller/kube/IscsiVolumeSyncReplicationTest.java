package org.iscsicsi.controller.kube;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The volume sync's update of a replicated volume keeps what the membership writers own
 * (docs/replication.md section 5): status.replication, spec.replicas and the member labels of
 * the object read, while its own fields are rewritten; an object without a membership gains none.
 */
class IscsiVolumeSyncReplicationTest {

  static GenericKubernetesResource object(Map<String, Object> spec, Map<String, Object> status,
      Map<String, String> labels) {
    return new GenericKubernetesResourceBuilder().withApiVersion("iscsi.csi.iscsicsi.org/v1alpha1")
        .withKind("IscsiVolume").withNewMetadata().withName("pool.v")
        .withLabels(new LinkedHashMap<>(labels)).endMetadata()
        .addToAdditionalProperties("spec", new LinkedHashMap<>(spec))
        .addToAdditionalProperties("status", new LinkedHashMap<>(status)).build();
  }

  @Test
  void keepsTheMembershipItsLabelsAndReplicas() {
    Map<String, Object> replication = Map.of("epoch", 7, "primary", "node-a",
        "members", List.of(Map.of("engine", "node-a", "slot", 1, "state", "InSync")));
    GenericKubernetesResource have = object(Map.of("volumeId", "pool.v", "replicas", 3),
        Map.of("sessions", 1, "replication", replication),
        Map.of(IscsiVolumeSync.MANAGED_BY, "d", "member.iscsi.csi.iscsicsi.org/node-a", ""));
    GenericKubernetesResource want = object(Map.of("volumeId", "pool.v"),
        Map.of("sessions", 2), Map.of(IscsiVolumeSync.MANAGED_BY, "d"));

    IscsiVolumeSync.keepReplication(have, want);

    assertThat(want.getAdditionalProperties().get("status"))
        .isEqualTo(Map.of("sessions", 2, "replication", replication));
    assertThat(want.getAdditionalProperties().get("spec"))
        .isEqualTo(Map.of("volumeId", "pool.v", "replicas", 3));
    assertThat(want.getMetadata().getLabels())
        .containsEntry("member.iscsi.csi.iscsicsi.org/node-a", "");
  }

  @Test
  void aVolumeWithoutMembershipGainsNone() {
    GenericKubernetesResource have = object(Map.of("volumeId", "pool.v"), Map.of("sessions", 1),
        Map.of(IscsiVolumeSync.MANAGED_BY, "d"));
    GenericKubernetesResource want = object(Map.of("volumeId", "pool.v"), Map.of("sessions", 2),
        Map.of(IscsiVolumeSync.MANAGED_BY, "d"));
    IscsiVolumeSync.keepReplication(have, want);
    assertThat(want.getAdditionalProperties().get("status")).isEqualTo(Map.of("sessions", 2));
    assertThat(want.getAdditionalProperties().get("spec")).isEqualTo(Map.of("volumeId",
        "pool.v"));
    assertThat(want.getMetadata().getLabels()).containsOnlyKeys(IscsiVolumeSync.MANAGED_BY);
  }
}
