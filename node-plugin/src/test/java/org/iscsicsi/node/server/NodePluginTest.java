package org.iscsicsi.node.server;

import static org.assertj.core.api.Assertions.assertThat;

import csi.v1.Csi;
import csi.v1.IdentityGrpc;
import csi.v1.NodeGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pins the assembled plugin as kubelet sees it: the CSI services over a real unix domain socket
 * and over TCP, plugin info, readiness, node id from the initiator-name file, and endpoint
 * parsing, and plugin capabilities that are the driver's as a whole (the controller's set: the CSI
 * spec wants every instance to report the same). The socket file is removed on close.
 */
class NodePluginTest {

  @TempDir Path tmp;

  private NodePluginConfig config(String endpoint) {
    return new NodePluginConfig(endpoint, "iscsi.csi.iscsicsi.org", "node-7", "test", 16, "ext4",
        tmp.resolve("state"), tmp.resolve("initiatorname.iscsi"), "iscsiadm", true,
        "iqn.2026-11.org.iscsicsi:", Path.of("/sys"), Path.of("/dev"), Path.of("/proc"),
        tmp.resolve("multipath.conf"), Duration.ofSeconds(5), Duration.ofSeconds(5),
        Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ofSeconds(5),
        15, 0, Duration.ZERO, tmp.resolve("iscsi"), tmp.resolve("kubelet"), List.of());
  }

  @Test
  void servesOnAUnixSocket() throws Exception {
    Files.writeString(tmp.resolve("initiatorname.iscsi"),
        "## comment\nInitiatorName=iqn.1993-08.org.debian:01:abcdef\n");
    Path sock = tmp.resolve("csi/csi.sock");
    try (NodePlugin p = NodePlugin.start(config("unix://" + sock))) {
      assertThat(sock).exists();
      ManagedChannel ch = Grpc.newChannelBuilder("unix://" + sock,
          InsecureChannelCredentials.create()).build();
      try {
        var id = IdentityGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS);
        assertThat(id.getPluginInfo(Csi.GetPluginInfoRequest.getDefaultInstance()).getName())
            .isEqualTo("iscsi.csi.iscsicsi.org");
        assertThat(id.probe(Csi.ProbeRequest.getDefaultInstance()).getReady().getValue())
            .isTrue();
        var caps = id.getPluginCapabilities(Csi.GetPluginCapabilitiesRequest.getDefaultInstance())
            .getCapabilitiesList();
        // the driver's one set: the controller's services too (CSI spec, GetPluginCapabilities)
        assertThat(caps).extracting(c -> c.getService().getType()).contains(
            Csi.PluginCapability.Service.Type.CONTROLLER_SERVICE,
            Csi.PluginCapability.Service.Type.GROUP_CONTROLLER_SERVICE,
            Csi.PluginCapability.Service.Type.SNAPSHOT_METADATA_SERVICE,
            Csi.PluginCapability.Service.Type.VOLUME_ACCESSIBILITY_CONSTRAINTS);
        assertThat(caps).extracting(c -> c.getVolumeExpansion().getType())
            .contains(Csi.PluginCapability.VolumeExpansion.Type.ONLINE);
        var info = NodeGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
            .nodeGetInfo(Csi.NodeGetInfoRequest.getDefaultInstance());
        assertThat(info.getNodeId()).isEqualTo("iqn.1993-08.org.debian:01:abcdef");
        assertThat(info.getAccessibleTopology().getSegmentsMap())
            .containsEntry("iscsi.csi.iscsicsi.org/node", "node-7");
        assertThat(info.getMaxVolumesPerNode()).isEqualTo(16);
      } finally {
        ch.shutdownNow();
      }
    }
    assertThat(sock).doesNotExist();
  }

  @Test
  void servesOnTcp() throws Exception {
    try (NodePlugin p = NodePlugin.start(config("tcp://127.0.0.1:0"))) {
      ManagedChannel ch = Grpc.newChannelBuilder("127.0.0.1:" + p.port(),
          InsecureChannelCredentials.create()).build();
      try {
        var caps = NodeGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
            .nodeGetCapabilities(Csi.NodeGetCapabilitiesRequest.getDefaultInstance());
        assertThat(caps.getCapabilitiesCount()).isEqualTo(5);
      } finally {
        ch.shutdownNow();
      }
    }
  }
}
