package org.iscsicsi.e2e.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.iscsicsi.target.testing.ReadmeBlocks;
import org.junit.jupiter.api.Test;

/**
 * README's playground works as written: its three {@code ```sh playground-*} blocks, taken
 * verbatim from README.md and run with {@code bash -euo pipefail} from the clone's root, with
 * only the state directory ({@code ISCSI_CSI_PLAYGROUND}) moved into target/ and Maven left out
 * ({@code ISCSI_CSI_PLAYGROUND_NO_MAVEN}: Maven runs this test after building). Pins:
 *
 * <ul>
 *   <li>{@code bin/playground up} brings up the control plane and the VM node with kubelet, Ready
 *       with the driver registered, and prints the kubeconfig and the export lines; a second
 *       {@code up} says it is already up;
 *   <li>the try block ({@code kubectl apply -f deploy/examples/} as README gives it) gets every
 *       pod of deploy/examples/ Running: the PVC's pod prints back the date it wrote to its ext4
 *       volume, mounted from an iSCSI disk; the block pod reads 16 MiB of its raw device; the QoS
 *       claim is in its VolumeAttributesClass;
 *   <li>{@code bin/playground down} ends the Java process, the VM (no qemu started by the run
 *       remains) and every cluster process (the run's port block closed), leaves no
 *       process naming the state directory, no loop device or mount under it and no host iSCSI
 *       session to the portal, and keeps the logs; a second {@code down} is harmless.
 * </ul>
 *
 * <p>Needs what {@link PodVolumeTest} needs (qemu; build.sh's, build-node.sh's binaries): skipped
 * with a reason otherwise. About 4 minutes: one VM boot and three pods.
 */
class PlaygroundTest {
  /**
   * The control plane's ports and the controller's portal: this run's port block, which the
   * playground is given ({@code ISCSI_CSI_PORT_BASE}), so two runs on one machine do not meet.
   */
  static final List<Integer> PORTS = PortBlock.clusterPorts();
  static final Duration UP_TIMEOUT = Duration.ofMinutes(25);
  static final Duration TRY_TIMEOUT = Duration.ofMinutes(12);
  static final Duration DOWN_TIMEOUT = Duration.ofMinutes(5);

  @Test
  void readmePlaygroundRunsAsWritten() throws Exception {
    Path repo = TestCluster.repoRoot();
    assumeTrue(TestCluster.builtBinaries().isPresent(),
        "the Kubernetes binaries are not built: run e2e/cluster/build.sh");
    Optional<String> noVm = VmNode.unavailableReason(repo);
    assumeTrue(noVm.isEmpty(), () -> "no VM node: " + noVm.orElse(""));
    Path readme = repo.resolve("README.md");
    Path state = Path.of("target", "playground-state").toAbsolutePath();
    Path scripts = Path.of("target", "playground-blocks").toAbsolutePath();
    Files.createDirectories(scripts);
    Set<Long> qemuBefore = qemuPids();

    TestCluster.Result down0 = run(repo, state, scripts, readme, "playground-down", DOWN_TIMEOUT);
    assertThat(down0.exit()).as(down0.err()).isZero();

    long t0 = System.nanoTime();
    TestCluster.Result up = run(repo, state, scripts, readme, "playground-up", UP_TIMEOUT);
    Duration upTook = VolumeLifecycleTest.since(t0);
    try {
      assertThat(up.exit()).as(up.out() + up.err()).isZero();
      assertThat(up.out())
          .contains("node " + VmNode.NODE + " Ready with the driver registered")
          .contains("kubeconfig: " + state.resolve("run/kubeconfig"))
          .contains("export KUBECONFIG=" + state.resolve("run/kubeconfig"));
      TestCluster.Result again = run(repo, state, scripts, readme, "playground-up", UP_TIMEOUT);
      assertThat(again.exit()).isZero();
      assertThat(again.out()).contains("already up");

      t0 = System.nanoTime();
      TestCluster.Result use = run(repo, state, scripts, readme, "playground-try", TRY_TIMEOUT);
      Duration tryTook = VolumeLifecycleTest.since(t0);
      assertThat(use.exit()).as(use.out() + use.err()).isZero();
      assertThat(use.out())
          .containsPattern(VmNode.NODE + " +Ready")
          .contains("pod/iscsi-demo condition met", "pod/iscsi-demo-block condition met",
              "pod/iscsi-demo-qos condition met")
          // the date the pod appended to /data/log, read back from the file
          .containsPattern("(?m)^\\w{3} \\w{3} +\\d+ \\d\\d:\\d\\d:\\d\\d \\w+ \\d{4}$")
          // df of /data: the iSCSI disk
          .containsPattern("(?m)^/dev/sd[a-z]+ .* /data$")
          .contains("16+0 records in")
          .containsPattern("iscsi-demo-qos +Bound .* iscsi-silver");
      VolumeLifecycleTest.step("playground up", "README's up block", upTook);
      VolumeLifecycleTest.step("playground try", "apply deploy/examples/ to every pod Ready",
          tryTook);
    } finally {
      t0 = System.nanoTime();
      TestCluster.Result down = run(repo, state, scripts, readme, "playground-down",
          DOWN_TIMEOUT);
      VolumeLifecycleTest.step("playground down", "README's down block",
          VolumeLifecycleTest.since(t0));
      assertThat(down.exit()).as(down.out() + down.err()).isZero();
      assertThat(down.out()).contains("down in");
    }
    assertNothingLeft(state, qemuBefore);
    assertThat(state.resolve("run/logs/kube-apiserver.log")).exists();
    assertThat(state.resolve("run/logs/vm-kubelet.log")).exists();
    TestCluster.Result twice = run(repo, state, scripts, readme, "playground-down", DOWN_TIMEOUT);
    assertThat(twice.exit()).isZero();
    assertThat(twice.out()).contains("not up");
  }

  private static void assertNothingLeft(Path state, Set<Long> qemuBefore) throws Exception {
    Set<Long> qemuAfter = qemuPids();
    qemuAfter.removeAll(qemuBefore);
    assertThat(qemuAfter).as("qemu processes the playground started").isEmpty();
    assertThat(ProcessHandle.allProcesses()
        .filter(p -> p.info().arguments().map(a -> String.join(" ", a)).orElse("")
            .contains(state.toString()))
        .map(p -> p.pid() + " " + p.info().commandLine().orElse(""))).isEmpty();
    for (int port : PORTS) {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
        throw new AssertionError("port " + port + " still listens after down");
      } catch (IOException expected) {
        // refused: nothing listens
      }
    }
    assertThat(Files.readAllLines(Path.of("/proc/mounts")))
        .noneMatch(l -> l.contains(state.toString()));
    TestCluster.Result loops = TestCluster.exec(List.of("losetup", "-a"), Duration.ofSeconds(30),
        List.of());
    assertThat(loops.out()).doesNotContain(state.toString());
    if (Files.isExecutable(Path.of("/usr/sbin/iscsiadm"))) {
      TestCluster.Result sessions = TestCluster.exec(List.of("/usr/sbin/iscsiadm", "-m",
          "session"), Duration.ofSeconds(30), List.of());
      assertThat(sessions.out()).doesNotContain(":" + TestCluster.PORTAL_PORT);
    }
    assertThat(state.resolve("playground.pid")).doesNotExist();
    assertThat(state.resolve("run/state")).doesNotExist();
  }

  private static Set<Long> qemuPids() {
    return ProcessHandle.allProcesses()
        .filter(p -> p.info().command().orElse("").endsWith("qemu-system-x86_64"))
        .map(ProcessHandle::pid).collect(Collectors.toSet());
  }

  /** README's block {@code tag}, byte for byte, run from the clone's root. */
  private static TestCluster.Result run(Path repo, Path state, Path scripts, Path readme,
      String tag, Duration timeout) throws IOException, InterruptedException {
    Path script = scripts.resolve(tag + ".sh");
    Files.writeString(script, ReadmeBlocks.block(readme, tag));
    TestCluster.Result r = TestCluster.exec(List.of("bash", "-c",
        "cd \"$0\" && exec bash -euo pipefail \"$1\"", repo.toString(), script.toString()),
        timeout, List.of("ISCSI_CSI_PLAYGROUND=" + state, "ISCSI_CSI_PLAYGROUND_NO_MAVEN=1",
            PortBlock.ENV + "=" + PortBlock.BASE));
    System.out.printf("[playground] %s (exit %d):%n%s%s", tag, r.exit(), r.out(), r.err());
    return r;
  }
}
