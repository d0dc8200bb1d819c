package org.iscsicsi.node.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import csi.v1.Csi;
import csi.v1.NodeGrpc;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pins {@code --topology-keys} end to end in the assembled plugin (Kubernetes API: fabric8's
 * mock server in CRUD mode): NodeGetInfo reports its Node's labels under exactly those keys and
 * leaves the per-node key of the embedded default out; the Node is read once, at start; without
 * keys the plugin never calls the API; a node missing a label does not start.
 */
@EnableKubernetesMockClient(crud = true)
class NodePluginTopologyTest {

  static KubernetesClient client;
  static final String ZONE = "topology.kubernetes.io/zone";

  @TempDir Path tmp;

  private NodePluginConfig config(String node, List<String> keys) throws Exception {
    Files.writeString(tmp.resolve("initiatorname.iscsi"),
        "InitiatorName=iqn.1993-08.org.debian:01:" + node + "\n");
    return new NodePluginConfig("tcp://127.0.0.1:0", "iscsi.csi.iscsicsi.org", node, "test", 16,
        "ext4", tmp.resolve("state"), tmp.resolve("initiatorname.iscsi"), "iscsiadm", true,
        "iqn.2026-11.org.iscsicsi:", Path.of("/sys"), Path.of("/dev"), Path.of("/proc"),
        tmp.resolve("multipath.conf"), Duration.ofSeconds(5), Duration.ofSeconds(5),
        Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ofSeconds(5),
        15, 0, Duration.ZERO, tmp.resolve("iscsi"), tmp.resolve("kubelet"), keys);
  }

  /** A new client of the mock server per call (the plugin closes the one it is given). */
  private static Supplier<KubernetesClient> clients(AtomicInteger calls) {
    return () -> {
      calls.incrementAndGet();
      return new KubernetesClientBuilder().withConfig(client.getConfiguration()).build();
    };
  }

  private static Map<String, String> segments(NodePlugin plugin) throws Exception {
    ManagedChannel ch = Grpc.newChannelBuilder("127.0.0.1:" + plugin.port(),
        InsecureChannelCredentials.create()).build();
    try {
      return NodeGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
          .nodeGetInfo(Csi.NodeGetInfoRequest.getDefaultInstance())
          .getAccessibleTopology().getSegmentsMap();
    } finally {
      ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void reportsTheNodesLabelsUnderTheKeysAndNoPerNodeKey() throws Exception {
    client.nodes().resource(new NodeBuilder().withNewMetadata().withName("node-a")
        .withLabels(Map.of(ZONE, "a", "example.com/rack", "r7", "kubernetes.io/hostname",
            "node-a")).endMetadata().build()).create();
    AtomicInteger calls = new AtomicInteger();
    try (NodePlugin plugin = NodePlugin.start(
        config("node-a", List.of(ZONE, "example.com/rack")), clients(calls))) {
      assertThat(segments(plugin)).containsExactlyInAnyOrderEntriesOf(
          Map.of(ZONE, "a", "example.com/rack", "r7"));
      // read once: a relabelled Node changes nothing until the plugin restarts
      client.nodes().withName("node-a").edit(n -> new NodeBuilder(n).editMetadata()
          .addToLabels(ZONE, "b").endMetadata().build());
      assertThat(segments(plugin)).containsEntry(ZONE, "a");
    }
    assertThat(calls).hasValue(1);
  }

  @Test
  void withoutKeysTheNodeIsItsOwnSegmentAndTheApiIsNotCalled() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    try (NodePlugin plugin = NodePlugin.start(config("node-z", List.of()), clients(calls))) {
      assertThat(segments(plugin)).containsExactlyEntriesOf(
          Map.of("iscsi.csi.iscsicsi.org/node", "node-z"));
    }
    assertThat(calls).hasValue(0);
  }

  @Test
  void aNodeWithoutTheLabelDoesNotStart() throws Exception {
    client.nodes().resource(new NodeBuilder().withNewMetadata().withName("node-c")
        .endMetadata().build()).create();
    assertThatThrownBy(() -> NodePlugin.start(config("node-c", List.of(ZONE)),
        clients(new AtomicInteger())))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("Node node-c has no label " + ZONE);
  }
}
