package org.iscsicsi.node.server;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.grpc.BindableService;
import io.grpc.protobuf.services.HealthStatusManager;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.iscsicsi.csi.CsiServer;
import org.iscsicsi.csi.Endpoint;
import org.iscsicsi.csi.exec.CommandRunner;
import org.iscsicsi.csi.exec.ProcessCommandRunner;
import org.iscsicsi.node.device.Sysfs;
import org.iscsicsi.node.fs.Filesystems;
import org.iscsicsi.node.identity.IdentityService;
import org.iscsicsi.node.iscsi.InitiatorName;
import org.iscsicsi.node.iscsi.Iscsiadm;
import org.iscsicsi.node.iscsi.NodeDatabase;
import org.iscsicsi.node.kube.NodeTopology;
import org.iscsicsi.node.multipath.Multipath;
import org.iscsicsi.node.multipath.MultipathConfig;
import org.iscsicsi.node.preflight.Preflight;
import org.iscsicsi.node.service.IscsiAttacher;
import org.iscsicsi.node.service.KubeletDir;
import org.iscsicsi.node.service.Mounts;
import org.iscsicsi.node.service.MultipathAttacher;
import org.iscsicsi.node.service.NodeService;
import org.iscsicsi.node.service.RoutingAttacher;
import org.iscsicsi.node.service.SessionCollector;
import org.iscsicsi.node.service.StateStore;
import org.iscsicsi.node.service.VolumeAttacher;
import org.iscsicsi.node.service.VolumePublisher;
import org.iscsicsi.node.service.VolumeStager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Wires the node plugin from its configuration and runs it: preflight, GC, the gRPC server. */
public final class NodePlugin implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(NodePlugin.class);

  /** How long unstage retries {@code multipath -f} while the map's last opener lets go. */
  private static final java.time.Duration MULTIPATH_FLUSH_WAIT = java.time.Duration.ofSeconds(10);

  private final CsiServer server;
  private final ScheduledExecutorService gc;

  private NodePlugin(CsiServer server, ScheduledExecutorService gc) {
    this.server = server;
    this.gc = gc;
  }

  public static Preflight preflight(NodePluginConfig c) {
    return new Preflight(c.procRoot(), c.multipathConf(), new InitiatorName(c.initiatorNameFile()),
        System.getenv("PATH"), c.iscsiadm());
  }

  public static NodePlugin start(NodePluginConfig c) throws IOException {
    return start(c, () -> new KubernetesClientBuilder().build());
  }

  /**
   * @param kube the Kubernetes API (in-cluster configuration), used only with topology keys
   * @throws IllegalStateException when the topology keys cannot be read from the node's Node
   */
  public static NodePlugin start(NodePluginConfig c, Supplier<KubernetesClient> kube)
      throws IOException {
    Map<String, String> topology = topology(c, kube);
    CommandRunner runner = new ProcessCommandRunner();
    Sysfs sysfs = new Sysfs(c.sysRoot(), c.devRoot());
    Iscsiadm iscsiadm = new Iscsiadm(runner, c.iscsiadm(), new NodeDatabase(c.iscsiDir()),
        c.iscsiadmTimeout(), c.loginTimeout());
    KubeletDir kubeletDir = new KubeletDir(c.kubeletDir());
    Filesystems fs = new Filesystems(runner, c.commandTimeout(), c.longCommandTimeout());
    Mounts mounts = new Mounts(c.procRoot().resolve("self/mountinfo"));
    StateStore state = new StateStore(c.stateDir());
    IscsiAttacher attacher = new IscsiAttacher(iscsiadm, sysfs, new IscsiAttacher.Settings(
        c.discovery(), c.deviceWait(), c.replacementTimeoutSeconds(),
        c.scsiDeviceTimeoutSeconds()));
    MultipathAttacher multipath = new MultipathAttacher(attacher, iscsiadm, sysfs,
        new Multipath(runner, c.multipath(), c.multipathd(), c.iscsiadmTimeout()),
        () -> MultipathConfig.read(c.multipathConf(), MultipathConfig.confDir(c.multipathConf())),
        c.deviceWait(), MULTIPATH_FLUSH_WAIT);
    VolumeAttacher attachers = new RoutingAttacher(attacher, multipath);
    VolumeStager stager = new VolumeStager(attachers, fs, mounts, state, sysfs, c.resizeWait(),
        kubeletDir);
    VolumePublisher publisher = new VolumePublisher(stager, attachers, fs, mounts, sysfs,
        kubeletDir);
    InitiatorName initiator = new InitiatorName(c.initiatorNameFile());
    Preflight preflight = preflight(c);

    var problems = preflight.run();
    if (problems.isEmpty()) {
      log.info("host preflight passed");
    } else {
      problems.forEach(p -> log.warn("host preflight: {}", p));
    }

    AtomicBoolean ready = new AtomicBoolean(false);
    NodeService node = new NodeService(stager, publisher, initiator, preflight,
        new NodeService.Info(topology, c.maxVolumes(), c.defaultFsType()),
        kubeletDir);
    HealthStatusManager health = new HealthStatusManager();
    List<BindableService> services = List.of(
        new IdentityService(c.driverName(), c.version(), ready::get), node,
        health.getHealthService());
    CsiServer server = CsiServer.start(Endpoint.parse(c.endpoint()), services);

    ScheduledExecutorService gc = null;
    if (!c.gcInterval().isZero()) {
      SessionCollector collector = new SessionCollector(iscsiadm, state, c.iqnPrefix());
      gc = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon()
          .name("session-gc").factory());
      gc.scheduleWithFixedDelay(() -> {
        try {
          var done = collector.collect();
          if (!done.isEmpty()) {
            log.info("collected orphaned sessions/records of {}", done);
          }
        } catch (Exception e) {
          log.warn("session garbage collection failed: {}", e.getMessage());
        }
      }, 0, c.gcInterval().toMillis(), TimeUnit.MILLISECONDS);
    }
    ready.set(true);
    return new NodePlugin(server, gc);
  }

  /** NodeGetInfo's segment: the node's labels named by the topology keys, else the node. */
  private static Map<String, String> topology(NodePluginConfig c,
      Supplier<KubernetesClient> kube) {
    if (c.topologyKeys().isEmpty()) {
      return c.nodeSegment();
    }
    try (KubernetesClient client = kube.get()) {
      Map<String, String> segment = NodeTopology.read(client, c.nodeName(), c.topologyKeys());
      log.info("topology of node {}: {}", c.nodeName(), segment);
      return segment;
    }
  }

  /** The bound TCP port (for port 0), or -1 on a unix socket. */
  public int port() {
    return server.endpoint() instanceof Endpoint.Tcp t ? t.port() : -1;
  }

  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  @Override
  public void close() throws Exception {
    if (gc != null) {
      gc.shutdownNow();
    }
    server.close();
  }

}
