package org.iscsicsi.e2e.cluster;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeoutException;
import org.iscsicsi.node.vm.GuestMultipath;
import org.iscsicsi.node.vm.NodePluginGuest;
import org.iscsicsi.node.vm.QemuVm;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The test cluster's node: a qemu VM (node-plugin's VM tier: Debian's kernel, open-iscsi) running
 * kubelet and containerd from e2e/cluster/vm-node.sh's directory and the real node plugin, which
 * registers itself with kubelet through the plugin registration protocol
 * (e2e/cluster/node/start-node.sh). kubelet reaches the apiserver through qemu's user network
 * (10.0.2.2 is the host's loopback), the apiserver reaches kubelet through {@link KubeletTunnel}.
 * Guest commands run through {@link NodePluginGuest}'s protocol; logs land in the control
 * directory's logs/.
 */
final class VmNode implements AutoCloseable {
  static final String NODE = "vm-node-1";
  static final String INITIATOR = "iqn.2026-11.org.iscsicsi.e2e:vm-node-1";
  /** The guest's address on qemu's user network (node-plugin/vm/guest/init). */
  static final String GUEST_ADDRESS = "10.0.2.15";
  /** Memory for kubelet, containerd, the node plugin's JVM and pods (tmpfs state included). */
  static final int MEMORY_MB = 2560;
  /** A test class's VM is killed after this at the latest, should the test hang. */
  static final Duration TEST_LIFETIME = Duration.ofMinutes(60);
  private static final Logger log = LoggerFactory.getLogger(VmNode.class);

  private final QemuVm vm;
  private final NodePluginGuest guest;
  private final int kubeletPort;
  private KubeletTunnel tunnel;

  private VmNode(QemuVm vm, int kubeletPort) {
    this.vm = vm;
    this.guest = new NodePluginGuest(vm);
    this.kubeletPort = kubeletPort;
  }

  /**
   * Why no VM node can run here, or empty: no qemu, node-plugin.jar not built, vm-node.sh's
   * directory not assembled (it needs build.sh's kubelet and build-node.sh's containerd), or
   * {@code -Discsi.cluster.vm=false}.
   */
  static Optional<String> unavailableReason(Path repo) throws IOException, InterruptedException {
    if (!Boolean.parseBoolean(System.getProperty("iscsi.cluster.vm", "true"))) {
      return Optional.of("-Discsi.cluster.vm=false");
    }
    Optional<String> qemu = QemuVm.unavailableReason();
    if (qemu.isPresent()) {
      return qemu;
    }
    if (!Files.exists(repo.resolve("node-plugin/target/node-plugin.jar"))) {
      return Optional.of("node-plugin/target/node-plugin.jar not built");
    }
    return Optional.empty();
  }

  /**
   * vm-node.sh's directory, assembling it when missing (it builds nothing itself: build.sh and
   * build-node.sh are cached).
   */
  static Path nodeDir(Path repo) throws IOException, InterruptedException {
    TestCluster.Result r = TestCluster.exec(List.of("bash",
        repo.resolve("e2e/cluster/vm-node.sh").toString()), Duration.ofMinutes(60), List.of());
    if (r.exit() != 0) {
      throw new IllegalStateException("e2e/cluster/vm-node.sh failed: " + r.err());
    }
    return Path.of(r.out().lines().toList().getLast());
  }

  /** Boots the node's VM; kubelet starts once {@link #join} hands it the cluster's credentials. */
  static VmNode boot(Path nodeDir) throws IOException {
    return boot(nodeDir, TEST_LIFETIME);
  }

  /** {@link #boot(Path)} with the VM killed after {@code lifetime} at the latest. */
  static VmNode boot(Path nodeDir, Duration lifetime) throws IOException {
    return boot(nodeDir, lifetime, Optional.empty());
  }

  /**
   * {@link #boot(Path)} with {@code disk} as the node's own disk (start-node.sh keeps kubelet's,
   * the node plugin's and iscsid's state on it), so a VM booted later with the same disk is the
   * same node rebooted.
   */
  static VmNode boot(Path nodeDir, Path disk) throws IOException {
    return boot(nodeDir, TEST_LIFETIME, Optional.of(disk));
  }

  /**
   * {@link #boot(Path)} with multipathd running in the guest before the node plugin starts, as
   * the plugin's MultipathAttacher needs it for replicated volumes: the set-up
   * {@code MultipathNodeVmIT} proves (no udev in the guest: {@code uid_attribute ""}, udev stubs
   * per disk, {@code DM_DISABLE_UDEV=1}; docs/replication.md section 7's device stanza).
   */
  static VmNode bootWithMultipath(Path nodeDir) throws IOException {
    return boot(nodeDir, TEST_LIFETIME, Optional.empty(), GuestMultipath.PRELUDE);
  }

  private static VmNode boot(Path nodeDir, Duration lifetime, Optional<Path> disk)
      throws IOException {
    return boot(nodeDir, lifetime, disk, "");
  }

  private static VmNode boot(Path nodeDir, Duration lifetime, Optional<Path> disk,
      String prelude) throws IOException {
    Path script = TestCluster.repoRoot().resolve("e2e/cluster/node/start-node.sh");
    int port = freePort();
    QemuVm.Builder b = QemuVm.builder().initiatorName(INITIATOR).memoryMb(MEMORY_MB).cpus(2)
        .timeout(lifetime).env("NODE_NAME", NODE)
        .share(nodeDir, "/node", true).hostForward(port, KubeletTunnel.KUBELET_PORT)
        .script(prelude + Files.readString(script));
    disk.ifPresent(b::disk);
    return new VmNode(b.start(), port);
  }

  /** A sparse raw image of {@code bytes} for {@link #boot(Path, Path)}; the guest formats it. */
  static Path newDisk(Path file, long bytes) throws IOException {
    try (var f = new java.io.RandomAccessFile(file.toFile(), "rw")) {
      f.setLength(bytes);
    }
    return file;
  }

  /**
   * Hands kubelet the credentials start.sh {@code --kubelet} wrote (RUN/node) and opens the
   * apiserver's tunnel to it.
   */
  void join(TestCluster cluster) throws IOException {
    tunnel = new KubeletTunnel(cluster.run().resolve("kubelet-tunnel.sock"),
        Set.of(NODE, GUEST_ADDRESS), kubeletPort);
    Path to = vm.controlDir().resolve("cluster");
    Files.createDirectories(to);
    try (var files = Files.list(cluster.run().resolve("node"))) {
      for (Path f : files.toList()) {
        Files.copy(f, to.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
      }
    }
    Files.writeString(to.resolve("ready"), "");
  }

  /**
   * Waits until the Node is Ready and its CSINode lists the driver with the node plugin's node
   * id (kubelet's registration of the plugin); returns the node id.
   */
  String awaitReady(TestCluster cluster, Duration timeout) {
    return ClusterWait.until("node " + NODE + " Ready with its CSINode", timeout,
        Duration.ofSeconds(1), () -> {
          if (!vm.isRunning()) {
            throw new IllegalStateException("the VM node ended");
          }
          TestCluster.Result ready = cluster.kubectl("get", "node", NODE, "-o",
              "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}");
          TestCluster.Result id = cluster.kubectl("get", "csinode", NODE, "-o",
              "jsonpath={.spec.drivers[?(@.name==\"" + TestCluster.DRIVER + "\")].nodeID}");
          return ready.exit() == 0 && ready.out().strip().equals("True") && id.exit() == 0
              && !id.out().isBlank() ? id.out().strip() : null;
        }, e -> e instanceof IllegalStateException,
        () -> "console:\n" + vm.console() + "\n" + logs());
  }

  /** A guest shell command that must succeed; returns its output. */
  String shell(String command) throws IOException, InterruptedException {
    NodePluginGuest.Result r = guest.run(command, Duration.ofMinutes(3));
    if (r.exit() != 0) {
      throw new AssertionError("guest command failed (exit " + r.exit() + "): " + command + "\n"
          + r.out());
    }
    return r.out();
  }

  /** Restarts kubelet in the guest (its pods and their mounts stay). */
  void restartKubelet() throws IOException, InterruptedException {
    shell("sh /repo/e2e/cluster/node/start-node.sh restart-kubelet");
  }

  Duration elapsed() {
    return vm.elapsed();
  }

  /** Whether the VM still runs. */
  boolean isRunning() {
    return vm.isRunning();
  }

  /** The tails of the guest's logs (kubelet, containerd, node plugin), for failure messages. */
  String logs() {
    StringBuilder b = new StringBuilder();
    for (String name : List.of("kubelet", "containerd", "node-plugin")) {
      Path f = vm.controlDir().resolve("logs/" + name + ".log");
      try {
        List<String> lines = Files.exists(f) ? Files.readAllLines(f) : List.of();
        b.append("--- ").append(name).append(".log (last 40 lines)\n");
        lines.subList(Math.max(0, lines.size() - 40), lines.size())
            .forEach(l -> b.append(l).append('\n'));
      } catch (IOException e) {
        b.append("--- ").append(name).append(".log unreadable: ").append(e).append('\n');
      }
    }
    return b.toString();
  }

  /**
   * The end of a test class's cluster with this node: the guest's logs kept in the run's logs,
   * the VM stopped, then the control plane, even when stopping the VM failed. Either may be null
   * (a start-up that failed half-way).
   */
  static void stopWith(VmNode node, TestCluster cluster) throws Exception {
    try {
      if (node != null) {
        if (cluster != null) {
          node.keepLogs(cluster.run().resolve("logs"));
        }
        node.close();
      }
    } finally {
      if (cluster != null) {
        cluster.close();
      }
    }
  }

  /** Copies the guest's logs to {@code dir} (the run directory's logs), for after the run. */
  void keepLogs(Path dir) {
    Path from = vm.controlDir().resolve("logs");
    try (var files = Files.list(from)) {
      Files.createDirectories(dir);
      for (Path f : files.toList()) {
        Files.copy(f, dir.resolve("vm-" + f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      log.warn("could not keep the VM node's logs from {}: {}", from, e.toString());
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /**
   * Cuts the node's power: qemu is killed with everything running (no unmount, no logout, no
   * flush inside the guest), as a crashed or unplugged machine. Keeps the guest's logs in
   * {@code logs} first.
   */
  void cutPower(Path logs) throws IOException {
    keepLogs(logs);
    if (tunnel != null) {
      tunnel.close();
    }
    vm.close();
  }

  /** Stops the node (kubelet, plugin, containerd) and the VM; killed if it does not power off. */
  @Override
  public void close() throws Exception {
    try {
      if (tunnel != null) {
        tunnel.close();
      }
      guest.stop();
      vm.awaitExit(Duration.ofMinutes(1));
    } catch (TimeoutException e) {
      log.warn("the VM node did not power off within a minute; killing it", e);
    } finally {
      vm.close();
    }
  }
}
