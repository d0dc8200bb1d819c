package org.iscsicsi.node.kube;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Pins how the node plugin's topology is read from its Node (fabric8's mock API server in CRUD
 * mode; no kube-apiserver runs in unit tests): exactly the named labels, no other label; a Node
 * without one of them, with an empty one, or no Node at all is an error that says what to fix.
 */
@EnableKubernetesMockClient(crud = true)
class NodeTopologyTest {

  static KubernetesClient client;

  static void node(String name, Map<String, String> labels) {
    client.nodes().resource(new NodeBuilder().withNewMetadata().withName(name)
        .withLabels(labels).endMetadata().build()).create();
  }

  @Test
  void readsExactlyTheNamedLabels() {
    node("node-a", Map.of("topology.kubernetes.io/zone", "a", "topology.kubernetes.io/region",
        "eu", "kubernetes.io/hostname", "node-a", "iscsi.csi.iscsicsi.org/storage-node", "true"));
    assertThat(NodeTopology.read(client, "node-a",
        List.of("topology.kubernetes.io/zone", "topology.kubernetes.io/region")))
        .containsExactlyInAnyOrderEntriesOf(Map.of("topology.kubernetes.io/zone", "a",
            "topology.kubernetes.io/region", "eu"));
  }

  @Test
  void aMissingOrEmptyLabelIsNamed() {
    node("node-b", Map.of("topology.kubernetes.io/zone", "b", "example.com/rack", ""));
    assertThatThrownBy(() -> NodeTopology.read(client, "node-b",
        List.of("topology.kubernetes.io/zone", "topology.kubernetes.io/region")))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("Node node-b has no label topology.kubernetes.io/region")
        .hasMessageContaining("kubectl label node node-b topology.kubernetes.io/region=VALUE");
    assertThatThrownBy(() -> NodeTopology.read(client, "node-b", List.of("example.com/rack")))
        .hasMessageContaining("has no label example.com/rack");
  }

  @Test
  void aMissingNodeIsNamed() {
    assertThatThrownBy(() -> NodeTopology.read(client, "node-gone",
        List.of("topology.kubernetes.io/zone")))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("Node node-gone does not exist");
  }
}
