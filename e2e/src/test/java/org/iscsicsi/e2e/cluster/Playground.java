package org.iscsicsi.e2e.cluster;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Optional;
import org.iscsicsi.node.vm.QemuVm;

/**
 * The process behind {@code bin/playground up}: the test cluster of {@link PodVolumeTest} kept
 * running for a person with kubectl. It boots the VM node ({@link VmNode}: kubelet, containerd,
 * the node plugin), starts the control plane with the chart's default cluster objects, the
 * controller and the sidecars as host processes ({@link TestCluster#startForKubelet}), joins the
 * node and waits for it to be Ready with its CSINode; then it writes {@code STATE/env} (the
 * KUBECONFIG and PATH lines) and {@code STATE/ready}, and holds the VM and the apiserver's tunnel
 * to kubelet until {@code bin/playground down} creates {@code STATE/stop} (or SIGTERM), when it
 * stops the node, then the control plane, and exits. Steps go to {@code STATE/progress}, which
 * {@code bin/playground up} echoes; its pid is in {@code STATE/playground.pid}.
 *
 * <p>Usage: {@code Playground STATE_DIR} (the repository root in {@code -Discsi.repoRoot}).
 */
public final class Playground {
  /** The VM is killed after this at the latest (run-vm.sh's timeout), should down never come. */
  static final Duration LIFETIME = Duration.ofDays(7);
  static final Duration READY_TIMEOUT = Duration.ofMinutes(15);
  private static final Duration POLL = Duration.ofSeconds(1);

  private final Path state;
  private final Path run;
  private final long t0 = System.nanoTime();
  private VmNode node;
  private TestCluster cluster;
  private boolean stopped;

  private Playground(Path state) {
    this.state = state;
    this.run = state.resolve("run");
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 1) {
      System.err.println("usage: Playground STATE_DIR");
      System.exit(2);
    }
    Playground p = new Playground(Path.of(args[0]).toAbsolutePath());
    // bin/playground knows this process by its pid file (and the command line it checks)
    Files.writeString(p.state.resolve("playground.pid"), ProcessHandle.current().pid() + "\n");
    Runtime.getRuntime().addShutdownHook(new Thread(p::stop, "playground-stop"));
    int exit = 0;
    try {
      p.up();
      p.holdUntilStopped();
    } catch (Exception e) {
      p.progress("failed: " + e.getMessage());
      e.printStackTrace();
      exit = 1;
    } finally {
      p.stop();
    }
    System.exit(exit);
  }

  private void up() throws Exception {
    Path repo = TestCluster.repoRoot();
    Optional<String> noVm = VmNode.unavailableReason(repo);
    if (noVm.isPresent()) {
      throw new IllegalStateException("no VM node can run here: " + noVm.get());
    }
    Path bin = TestCluster.builtBinaries().orElseThrow(() -> new IllegalStateException(
        "the Kubernetes binaries are not built (e2e/cluster/build.sh)"));
    TestCluster.clean(run);
    progress("assembling the VM node's directory (e2e/cluster/vm-node.sh)");
    Path nodeDir = VmNode.nodeDir(repo);
    progress("booting the VM node; starting the control plane (e2e/cluster/start.sh --kubelet)");
    node = VmNode.boot(nodeDir, LIFETIME);
    cluster = TestCluster.startForKubelet(run, QemuVm.HOST_ADDRESS + ":" + TestCluster.PORTAL_PORT);
    progress("control plane up in %.0f s; waiting for node %s to be Ready".formatted(
        cluster.startUp.toMillis() / 1000.0, VmNode.NODE));
    node.join(cluster);
    node.awaitReady(cluster, READY_TIMEOUT);
    Files.writeString(state.resolve("env"), "export KUBECONFIG=" + cluster.kubeconfig() + "\n"
        + "export PATH=" + bin.resolve("bin") + ":$PATH\n");
    Files.writeString(state.resolve("ready"), cluster.kubeconfig() + "\n");
    progress("node %s Ready with the driver registered, %.0f s after start".formatted(
        VmNode.NODE, elapsedSeconds()));
  }

  private void holdUntilStopped() throws InterruptedException {
    Path stop = state.resolve("stop");
    while (!Files.exists(stop)) {
      if (!node.isRunning()) {
        throw new IllegalStateException("the VM node ended by itself; its logs are in "
            + run.resolve("logs"));
      }
      Thread.sleep(POLL.toMillis());
    }
    progress("stopping");
  }

  /** The node first (its VM and tunnel), then the control plane; once, from main or the hook. */
  private synchronized void stop() {
    if (stopped) {
      return;
    }
    stopped = true;
    try {
      if (node != null) {
        node.keepLogs(run.resolve("logs"));
        node.close();
      }
    } catch (Exception e) {
      System.err.println("playground: stopping the VM node failed: " + e);
    } finally {
      try {
        if (cluster != null) {
          cluster.close();
        }
      } catch (IOException | InterruptedException e) {
        System.err.println("playground: stopping the control plane failed: " + e);
      }
    }
    try {
      Files.deleteIfExists(state.resolve("ready"));
    } catch (IOException e) {
      System.err.println("playground: could not remove " + state.resolve("ready") + ": " + e);
    }
    progress("stopped");
  }

  private double elapsedSeconds() {
    return (System.nanoTime() - t0) / 1e9;
  }

  private void progress(String line) {
    System.out.println("playground: " + line);
    try {
      Files.writeString(state.resolve("progress"), line + "\n", StandardCharsets.UTF_8,
          StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    } catch (IOException e) {
      System.err.println("playground: could not write progress: " + e);
    }
  }
}
