package org.iscsicsi.node.kube;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The topology segment a node plugin reports in NodeGetInfo with {@code --topology-keys}: the
 * values of those labels on its own Node object, read once. Every key must be there: a node
 * reporting fewer keys than the others would drop out of capacity tracking and topology-aware
 * placement without a word, so a missing label is an error that names it.
 */
public final class NodeTopology {
  private NodeTopology() {}

  /**
   * @throws IllegalStateException when the Node cannot be read, does not exist, or lacks a label
   */
  public static Map<String, String> read(KubernetesClient client, String nodeName,
      List<String> keys) {
    Node node;
    try {
      node = client.nodes().withName(nodeName).get();
    } catch (KubernetesClientException e) {
      throw new IllegalStateException("cannot read Node " + nodeName + " for --topology-keys ("
          + e.getCode() + "): " + e.getMessage(), e);
    }
    if (node == null) {
      throw new IllegalStateException("Node " + nodeName + " does not exist (--node-name names"
          + " the Kubernetes node this plugin runs on)");
    }
    Map<String, String> labels = node.getMetadata().getLabels() == null ? Map.of()
        : node.getMetadata().getLabels();
    Map<String, String> segment = new LinkedHashMap<>();
    for (String key : keys) {
      String value = labels.get(key);
      if (value == null || value.isEmpty()) {
        throw new IllegalStateException("Node " + nodeName + " has no label " + key
            + " (named by --topology-keys), or an empty one: label it, e.g. kubectl label node "
            + nodeName + " " + key + "=VALUE");
      }
      segment.put(key, value);
    }
    return Map.copyOf(segment);
  }
}
