package org.iscsicsi.node.service;

import csi.v1.NodeGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.node.device.Sysfs;
import org.iscsicsi.node.fs.Filesystems;
import org.iscsicsi.node.iscsi.InitiatorName;
import org.iscsicsi.node.preflight.Preflight;

/**
 * The Node service wired as {@code NodePlugin} wires it (stager, publisher, kubelet directory,
 * state store), served in-process over gRPC for tests, with the attacher and filesystem tools the
 * test chooses. Node name {@code node-1}, default filesystem ext4.
 */
record InProcessNode(Server server, ManagedChannel channel, NodeGrpc.NodeBlockingStub node)
    implements AutoCloseable {

  static final String TOPOLOGY_KEY = "iscsi.csi.iscsicsi.org/node";

  /**
   * @param work where the initiator-name file and the multipath.conf the preflight reads live
   */
  static InProcessNode start(VolumeAttacher attacher, Filesystems fs, Sysfs sysfs, Path stateDir,
      Path kubeletRoot, Path work, long maxVolumes, Duration deadline) throws IOException {
    var mounts = new Mounts(Path.of("/proc/self/mountinfo"));
    var kubeletDir = new KubeletDir(kubeletRoot);
    var stager = new VolumeStager(attacher, fs, mounts, new StateStore(stateDir), sysfs,
        Duration.ofSeconds(5), kubeletDir);
    var publisher = new VolumePublisher(stager, attacher, fs, mounts, sysfs, kubeletDir);
    var initiator = new InitiatorName(work.resolve("etc/iscsi/initiatorname.iscsi"));
    var service = new NodeService(stager, publisher, initiator,
        new Preflight(Path.of("/proc"), work.resolve("multipath.conf"), initiator, "", "iscsiadm"),
        new NodeService.Info(Map.of(TOPOLOGY_KEY, "node-1"), maxVolumes, "ext4"),
        kubeletDir);
    String name = InProcessServerBuilder.generateName();
    Server server = InProcessServerBuilder.forName(name).addService(service).build().start();
    ManagedChannel channel = InProcessChannelBuilder.forName(name).build();
    return new InProcessNode(server, channel, NodeGrpc.newBlockingStub(channel)
        .withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS));
  }

  @Override
  public void close() {
    channel.shutdownNow();
    server.shutdownNow();
  }
}
