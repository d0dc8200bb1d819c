package org.iscsicsi.e2e.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.iscsicsi.node.vm.QemuVm;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Pods that really run, on a real node: the control plane of e2e/cluster/start.sh
 * ({@code --kubelet}) and the VM node of {@link VmNode}, with kubelet and containerd (built from
 * source through the Go module proxy) and the node plugin, which registers itself with kubelet
 * through the plugin registration protocol. Pins:
 *
 * <ul>
 *   <li>the node becomes Ready, and kubelet's registration of the plugin gives its CSINode the
 *       driver with the VM's initiator IQN as node id, the topology key, and the Node its
 *       topology label and node id annotation;
 *   <li>a busybox pod writes a file on an ext4 PVC (a CHAP target, the generated node-stage
 *       Secret) and exits; a second pod on the node reads the same bytes (checksums compared),
 *       and {@code kubectl logs} reaches kubelet through the apiserver's tunnel;
 *   <li>a snapshot restore and a clone of that PVC, mounted by one pod, hold the same bytes;
 *   <li>a block PVC through volumeDevices: bytes dd wrote to the device in one pod have the same
 *       checksum when the next pod reads the device;
 *   <li>an xfs PVC gets the pod's fsGroup (the volume's root and a new file), and growing the PVC
 *       while the pod runs is seen by df in the pod (online expansion through kubelet);
 *   <li>a PVC used with {@code readOnly: true} is mounted ro in the pod, data readable, writes
 *       refused;
 *   <li>kubelet restarted while a pod uses a volume: the pod keeps running (no container restart),
 *       its data verifies and takes new writes through the same mount, and deleting it afterwards
 *       unmounts the volume kubelet reconstructed;
 *   <li>the controller SIGKILLed while a pod's attach is pending: once a new controller runs, the
 *       attach completes and the pod reads the bytes an earlier pod wrote;
 *   <li>the node's power cut with a pod on a volume: booted again from its own disk (kubelet's,
 *       the plugin's and iscsid's state kept, no session, no mount), the same pod runs again on
 *       its re-staged volume and verifies the bytes it had synced;
 *   <li>deleting the pods, snapshot and PVCs leaves no iSCSI session in the VM, no
 *       VolumeAttachment and no PV.
 * </ul>
 *
 * <p>Needs qemu and the binaries of build.sh, build-node.sh and vm-node.sh (cached; cold builds
 * take long): skipped with a reason when they are not there.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PodVolumeTest {
  static final String NS = "pods";
  /** Pod start-up under software emulation: tens of seconds, more while the JIT warms up. */
  static final Duration POD_WAIT = Duration.ofMinutes(5);

  /** The VM node's own disk (kubelet's, the plugin's and iscsid's state), kept over a reboot. */
  static final long NODE_DISK_BYTES = 1L << 30;

  static TestCluster cluster;
  static VmNode node;
  static Path nodeDir;
  static Path nodeDisk;

  @BeforeAll
  static void startClusterAndNode() throws Exception {
    Path run = TestCluster.freshRun("pod-run");
    Optional<String> noVm = VmNode.unavailableReason(TestCluster.repoRoot());
    assumeTrue(noVm.isEmpty(), () -> "no VM node: " + noVm.orElse(""));
    nodeDir = VmNode.nodeDir(TestCluster.repoRoot());
    nodeDisk = VmNode.newDisk(run.resolve("node-disk.raw"), NODE_DISK_BYTES);
    long t0 = System.nanoTime();
    node = VmNode.boot(nodeDir, nodeDisk); // boots while the control plane starts
    cluster = TestCluster.startForKubelet(run,
        QemuVm.HOST_ADDRESS + ":" + TestCluster.PORTAL_PORT);
    VolumeLifecycleTest.step("cluster start-up", "control plane (with node controllers)",
        cluster.startUp);
    node.join(cluster);
    String nodeId = node.awaitReady(cluster, Duration.ofMinutes(10));
    assertThat(nodeId).isEqualTo(VmNode.INITIATOR);
    VolumeLifecycleTest.step("node Ready", "VM launch to Node Ready with its CSINode (kubelet, "
        + "containerd, plugin registration)", VolumeLifecycleTest.since(t0));
    cluster.apply("""
        apiVersion: v1
        kind: Namespace
        metadata: {name: pods}
        """);
    cluster.apply(VolumeLifecycleTest.storageClass("pod-ext4", "Delete", "fsType: ext4"));
  }

  @AfterAll
  static void stop() throws Exception {
    VmNode.stopWith(node, cluster);
  }

  @Test
  @Order(1)
  void kubeletRegistersTheNodePluginThroughPluginRegistration() throws Exception {
    String csiNode = cluster.k("get", "csinode", VmNode.NODE, "-o",
        "jsonpath={.spec.drivers[0].name} {.spec.drivers[0].nodeID} "
            + "{.spec.drivers[0].topologyKeys}");
    assertThat(csiNode).isEqualTo(TestCluster.DRIVER + " " + VmNode.INITIATOR + " [\""
        + TestCluster.DRIVER + "/node\"]");
    assertThat(cluster.k("get", "node", VmNode.NODE, "-o",
        "jsonpath={.metadata.labels.iscsi\\.csi\\.iscsicsi\\.org/node}")).isEqualTo(VmNode.NODE);
    assertThat(cluster.k("get", "node", VmNode.NODE, "-o",
        "jsonpath={.metadata.annotations.csi\\.volume\\.kubernetes\\.io/nodeid}"))
        .isEqualTo("{\"" + TestCluster.DRIVER + "\":\"" + VmNode.INITIATOR + "\"}");
    // the verdict kubelet sent back over the registration socket
    assertThat(node.shell("cat /ctl/logs/node-plugin.log"))
        .contains("kubelet registered driver " + TestCluster.DRIVER);
  }

  @Test
  @Order(2)
  void aPodWritesAFileOnAnExt4VolumeAndASecondPodReadsTheSameBytes() throws Exception {
    cluster.apply(claim("data", "pod-ext4", "64Mi", "Filesystem", ""));
    long t0 = System.nanoTime();
    cluster.apply(pod("writer", "data",
        "head -c 4194304 /dev/urandom > /data/file && sync && md5sum /data/file | cut -c1-32"));
    String written = awaitSucceeded("writer");
    VolumeLifecycleTest.step("pod writes ext4", "pod creation to Succeeded, md5 " + written,
        VolumeLifecycleTest.since(t0));
    assertThat(written).matches("[0-9a-f]{32}");
    // the volume is unpublished and unstaged before the next pod stages it again
    cluster.k("delete", "pod", "writer", "-n", NS, "--wait=true", "--timeout=300s");

    t0 = System.nanoTime();
    cluster.apply(pod("reader", "data", "md5sum /data/file | cut -c1-32"));
    String read = awaitSucceeded("reader");
    VolumeLifecycleTest.step("pod reads ext4", "pod creation to Succeeded, same md5",
        VolumeLifecycleTest.since(t0));
    assertThat(read).isEqualTo(written);
    // kubectl logs: apiserver -> KubeletTunnel -> qemu's forward -> kubelet
    assertThat(cluster.k("logs", "reader", "-n", NS).strip()).isEqualTo(written);
  }

  @Test
  @Order(3)
  void snapshotRestoreAndCloneHoldTheBytesAPodWrote() throws Exception {
    String written = cluster.k("get", "pod", "reader", "-n", NS, "-o",
        "jsonpath={.status.containerStatuses[0].state.terminated.message}").strip();
    cluster.apply("""
        apiVersion: snapshot.storage.k8s.io/v1
        kind: VolumeSnapshot
        metadata: {name: snap, namespace: pods}
        spec:
          volumeSnapshotClassName: iscsi-csi-snapshot
          source: {persistentVolumeClaimName: data}
        """);
    await("VolumeSnapshot snap readyToUse", () -> "true".equals(cluster.k("get",
        "volumesnapshot", "snap", "-n", NS, "-o", "jsonpath={.status.readyToUse}")) ? "ok" : null);
    cluster.apply(claim("restored", "pod-ext4", "64Mi", "Filesystem", """
          dataSource: {apiGroup: snapshot.storage.k8s.io, kind: VolumeSnapshot, name: snap}
        """));
    cluster.apply(claim("cloned", "pod-ext4", "64Mi", "Filesystem", """
          dataSource: {kind: PersistentVolumeClaim, name: data}
        """));
    long t0 = System.nanoTime();
    // one pod, both volumes: each pod start costs tens of seconds under emulation
    cluster.apply(pod("copies", "restored", "md5sum /data/file /clone/file | cut -c1-32 | "
        + "tr \"\\n\" \" \"", "",
        "  - name: clone\n    persistentVolumeClaim: {claimName: cloned}\n",
        "\n      - {name: clone, mountPath: /clone}"));
    String sums = awaitSucceeded("copies");
    VolumeLifecycleTest.step("restore + clone", "a pod reads the written file on both",
        VolumeLifecycleTest.since(t0));
    assertThat(sums.strip()).isEqualTo(written + " " + written);
  }

  @Test
  @Order(4)
  void aBlockVolumeCarriesTheBytesDdWroteToTheDeviceIntoTheNextPod() throws Exception {
    cluster.apply(claim("raw", "pod-ext4", "32Mi", "Block", ""));
    long t0 = System.nanoTime();
    cluster.apply(blockPod("raw-writer", "head -c 4194304 /dev/urandom > /tmp/b && "
        + "dd if=/tmp/b of=/dev/xvda bs=1M conv=fsync 2>/dev/null && md5sum /tmp/b | cut -c1-32"));
    String written = awaitSucceeded("raw-writer");
    cluster.k("delete", "pod", "raw-writer", "-n", NS, "--wait=true", "--timeout=300s");
    cluster.apply(blockPod("raw-reader",
        "dd if=/dev/xvda bs=1M count=4 2>/dev/null | md5sum | cut -c1-32"));
    String read = awaitSucceeded("raw-reader");
    VolumeLifecycleTest.step("block volumeDevices", "dd into the device in one pod, the same "
        + "md5 read by the next", VolumeLifecycleTest.since(t0));
    assertThat(written).matches("[0-9a-f]{32}");
    assertThat(read).isEqualTo(written);
  }

  @Test
  @Order(5)
  void anXfsVolumeGetsThePodsFsGroupAndGrowsOnlineAsDfInThePodSees() throws Exception {
    cluster.apply(VolumeLifecycleTest.storageClass("pod-xfs", "Delete", "fsType: xfs"));
    cluster.apply(claim("grow", "pod-xfs", "512Mi", "Filesystem", ""));
    long t0 = System.nanoTime();
    // prints the file system type, the group of the volume's root and of a new file (fsGroup,
    // applied by kubelet), then waits until df sees more than 900 MiB and prints that size
    cluster.apply(pod("grower", "grow", "grep \" /data \" /proc/mounts | cut -d\" \" -f3 && "
        + "stat -c %g /data && touch /data/owned && stat -c %g /data/owned && "
        + "while [ $(df -k /data | tail -1 | tr -s \" \" | cut -d\" \" -f2) -lt 921600 ]; "
        + "do sleep 1; done && df -k /data | tail -1 | tr -s \" \" | cut -d\" \" -f2",
        "securityContext: {runAsUser: 1000, runAsGroup: 1000, fsGroup: 2000}", "", ""));
    await("pod grower Running", () -> "Running".equals(cluster.k("get", "pod", "grower", "-n",
        NS, "-o", "jsonpath={.status.phase}")) ? "ok" : null);
    cluster.k("patch", "pvc", "grow", "-n", NS, "--type=merge", "-p",
        "{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"1Gi\"}}}}");
    List<String> out = awaitSucceeded("grower").lines().toList();
    VolumeLifecycleTest.step("xfs + fsGroup + grow", "fsGroup applied, online expansion seen by "
        + "df in the pod (" + out.getLast() + " KiB)", VolumeLifecycleTest.since(t0));
    assertThat(out).hasSize(4);
    assertThat(out.get(0)).isEqualTo("xfs");
    assertThat(out.get(1)).isEqualTo("2000");
    assertThat(out.get(2)).isEqualTo("2000");
    assertThat(Long.parseLong(out.get(3))).isGreaterThanOrEqualTo(921600);
  }

  @Test
  @Order(6)
  void aReadOnlyClaimIsMountedReadOnlyInThePodWithItsData() throws Exception {
    String written = cluster.k("get", "pod", "reader", "-n", NS, "-o",
        "jsonpath={.status.containerStatuses[0].state.terminated.message}").strip();
    long t0 = System.nanoTime();
    cluster.apply(pod("ro-reader", "data", "md5sum /data/file | cut -c1-32 && "
        + "grep \" /data \" /proc/mounts | cut -d\" \" -f4 | cut -d, -f1 && "
        + "if touch /data/new 2>/dev/null; then echo writable; else echo refused; fi", "", "", "")
        .replace("persistentVolumeClaim: {claimName: data}",
            "persistentVolumeClaim: {claimName: data, readOnly: true}"));
    List<String> out = awaitSucceeded("ro-reader").lines().toList();
    VolumeLifecycleTest.step("read-only claim", "published read-only, data readable, writes "
        + "refused", VolumeLifecycleTest.since(t0));
    assertThat(out).containsExactly(written, "ro", "refused");
  }

  @Test
  @Order(7)
  void aKubeletRestartKeepsThePodsVolumeAndKubeletReconstructsItsMount() throws Exception {
    cluster.apply(claim("keep", "pod-ext4", "64Mi", "Filesystem", ""));
    cluster.apply(pod("survivor", "keep", "x", "", "", "").replace(
        "'set -e; out=$(x); echo \"$out\" | tee /dev/termination-log'",
        "'head -c 2097152 /dev/urandom > /data/f && md5sum /data/f > /data/sum && "
            + "touch /tmp/ready && exec sleep 3600'"));
    await("pod survivor Running with its file written", () -> {
      TestCluster.Result r = cluster.kubectl("exec", "survivor", "-n", NS, "--", "cat",
          "/tmp/ready");
      return r.exit() == 0 ? "ok" : null;
    });
    String uid = cluster.k("get", "pod", "survivor", "-n", NS, "-o", "jsonpath={.metadata.uid}");
    String pv = cluster.k("get", "pvc", "keep", "-n", NS, "-o", "jsonpath={.spec.volumeName}");
    String mount = "/var/lib/kubelet/pods/" + uid + "/volumes/kubernetes.io~csi/" + pv + "/mount";
    assertThat(node.shell("grep -c ' " + mount + " ' /proc/mounts").strip()).isEqualTo("1");

    long t0 = System.nanoTime();
    node.restartKubelet();
    // the new kubelet reads the pod back from the runtime and reconstructs its volume from the
    // mount table and the CSI plugin's vol_data.json; the node reports Ready again
    await("node Ready after the kubelet restart", () -> {
      String hb = cluster.k("get", "node", VmNode.NODE, "-o", "jsonpath={.status.conditions[?(@"
          + ".type==\"Ready\")].lastHeartbeatTime}");
      return java.time.Instant.parse(hb).isAfter(java.time.Instant.now().minusSeconds(20))
          ? hb : null;
    });
    String check = "cd /data && md5sum -c sum && echo after-restart > later && cat later";
    String out = await("the pod's volume usable after the restart", () -> {
      TestCluster.Result r = cluster.kubectl("exec", "survivor", "-n", NS, "--", "sh", "-c",
          check);
      return r.exit() == 0 ? r.out() : null;
    });
    VolumeLifecycleTest.step("kubelet restart", "pod kept running, data verified and written "
        + "through the same mount", VolumeLifecycleTest.since(t0));
    assertThat(out).contains("f: OK").contains("after-restart");
    assertThat(cluster.k("get", "pod", "survivor", "-n", NS, "-o",
        "jsonpath={.status.containerStatuses[0].restartCount}")).isEqualTo("0");
    assertThat(node.shell("grep -c ' " + mount + " ' /proc/mounts").strip()).isEqualTo("1");
    // tearing the pod down needs the reconstructed volume: unpublished, unstaged, session gone
    cluster.k("delete", "pod", "survivor", "-n", NS, "--wait=true", "--timeout=300s");
    await("the pod's mount gone", () -> node.shell("grep -c ' " + mount + " ' /proc/mounts "
        + "|| true").strip().equals("0") ? "gone" : null);
  }

  /**
   * The controller SIGKILLed while a pod's attach is pending: the VolumeAttachment waits
   * (attacher's ControllerPublishVolume cannot reach the socket), and once a new controller
   * process leads, the attach completes and the pod reads the bytes an earlier pod wrote.
   */
  @Test
  @Order(8)
  void aControllerKilledWithAnAttachPendingAttachesOnceItIsBack() throws Exception {
    cluster.apply(claim("attach", "pod-ext4", "64Mi", "Filesystem", ""));
    cluster.apply(pod("attach-writer", "attach",
        "head -c 1048576 /dev/urandom > /data/file && sync && md5sum /data/file | cut -c1-32"));
    String written = awaitSucceeded("attach-writer");
    String pv = cluster.k("get", "pvc", "attach", "-n", NS, "-o", "jsonpath={.spec.volumeName}");
    cluster.k("delete", "pod", "attach-writer", "-n", NS, "--wait=true", "--timeout=300s");
    await("the writer's VolumeAttachment gone", () -> attachmentOf(pv).isEmpty() ? "gone" : null);

    String before = cluster.controllerIdentity();
    cluster.killController();
    long t0 = System.nanoTime();
    cluster.apply(pod("attach-reader", "attach", "md5sum /data/file | cut -c1-32"));
    String pending = await("a VolumeAttachment for the reader, not attached", () -> {
      String va = attachmentOf(pv);
      return va.isEmpty() ? null : va;
    });
    assertThat(cluster.k("get", "volumeattachment", pending, "-o",
        "jsonpath={.status.attached}")).as("attached while no controller runs").isNotEqualTo(
        "true");
    cluster.startController();
    assertThat(cluster.controllerIdentity()).isNotEqualTo(before);
    String read = awaitSucceeded("attach-reader");
    VolumeLifecycleTest.step("controller killed, attach pending", "SIGKILL to the reader pod "
        + "Succeeded through the restarted controller", VolumeLifecycleTest.since(t0));
    assertThat(read).isEqualTo(written);
    cluster.k("delete", "pod", "attach-reader", "-n", NS, "--wait=true", "--timeout=300s");
  }

  /**
   * The node loses power with a pod on a volume and boots again from its own disk: kubelet finds
   * the pod's directories, the node plugin its staging state and iscsid its node records, but no
   * session and no mount. The same pod (same UID, containers restarted) gets its volume staged
   * and published again and verifies the bytes it wrote and fsync'ed before the power cut.
   */
  @Test
  @Order(9)
  void aNodeRebootedWithAPodOnAVolumeBringsThePodBackWithItsData() throws Exception {
    cluster.apply(claim("boot", "pod-ext4", "64Mi", "Filesystem", ""));
    cluster.apply(pod("rebooted", "boot", "x", "", "", "")
        .replace("restartPolicy: Never", "restartPolicy: Always")
        .replace("'set -e; out=$(x); echo \"$out\" | tee /dev/termination-log'",
            "'set -e; cd /data; if [ -f sum ]; then md5sum -c sum; echo verified-after-boot; "
                + "else head -c 2097152 /dev/urandom > f; md5sum f > sum; sync; echo written; "
                + "fi; touch /tmp/ready; exec sleep 3600'"));
    String sum = await("pod rebooted Running with its file written and synced", () -> {
      TestCluster.Result r = cluster.kubectl("exec", "rebooted", "-n", NS, "--", "sh", "-c",
          "cat /tmp/ready && cat /data/sum");
      return r.exit() == 0 ? r.out().strip() : null;
    });
    String uid = cluster.k("get", "pod", "rebooted", "-n", NS, "-o", "jsonpath={.metadata.uid}");
    String pv = cluster.k("get", "pvc", "boot", "-n", NS, "-o", "jsonpath={.spec.volumeName}");
    String mount = "/var/lib/kubelet/pods/" + uid + "/volumes/kubernetes.io~csi/" + pv + "/mount";

    node.cutPower(cluster.run().resolve("logs/before-reboot"));
    long t0 = System.nanoTime();
    node = VmNode.boot(nodeDir, nodeDisk);
    node.join(cluster);
    node.awaitReady(cluster, Duration.ofMinutes(10));
    String back = await("the same pod Running again with its volume", () -> {
      TestCluster.Result r = cluster.kubectl("exec", "rebooted", "-n", NS, "--", "sh", "-c",
          "cat /tmp/ready && cat /data/sum");
      return r.exit() == 0 ? r.out().strip() : null;
    });
    VolumeLifecycleTest.step("node reboot", "power cut to the pod Running again on its "
        + "re-staged volume", VolumeLifecycleTest.since(t0));
    assertThat(back).isEqualTo(sum);
    assertThat(cluster.k("get", "pod", "rebooted", "-n", NS, "-o", "jsonpath={.metadata.uid}"))
        .isEqualTo(uid);
    assertThat(cluster.k("logs", "rebooted", "-n", NS)).contains("f: OK")
        .contains("verified-after-boot");
    assertThat(node.shell("grep -c ' " + mount + " ' /proc/mounts").strip()).isEqualTo("1");
    String iqn = cluster.k("get", "volumeattachment", attachmentOf(pv), "-o",
        "jsonpath={.status.attachmentMetadata.targetIqn}");
    assertThat(node.shell("iscsiadm -m session").lines().filter(l -> l.contains(iqn + " ")
        || l.endsWith(iqn))).as("sessions to %s", iqn).hasSize(1);
    cluster.k("delete", "pod", "rebooted", "-n", NS, "--wait=true", "--timeout=300s");
    await("the pod's mount gone", () -> node.shell("grep -c ' " + mount + " ' /proc/mounts "
        + "|| true").strip().equals("0") ? "gone" : null);
  }

  /** The name of the VolumeAttachment of {@code pv}, or "" when there is none. */
  static String attachmentOf(String pv) throws Exception {
    return cluster.k("get", "volumeattachments", "-o", "jsonpath={range .items[?(@.spec.source"
        + ".persistentVolumeName==\"" + pv + "\")]}{.metadata.name}{end}").strip();
  }

  @Test
  @Order(10)
  void deletingPodsAndClaimsLeavesNoSessionAndNoAttachment() throws Exception {
    cluster.k("delete", "pods", "--all", "-n", NS, "--wait=true", "--timeout=300s");
    cluster.k("delete", "volumesnapshots", "--all", "-n", NS, "--wait=true", "--timeout=300s");
    cluster.k("delete", "pvc", "--all", "-n", NS, "--wait=true", "--timeout=300s");
    await("no VolumeAttachment", () -> cluster.k("get", "volumeattachments", "-o",
        "name").isBlank() ? "none" : null);
    await("no iSCSI session in the VM", () -> {
      String s = node.shell("iscsiadm -m session 2>&1 || true");
      return s.contains("No active sessions") ? s : null;
    });
    await("no PV", () -> cluster.k("get", "pv", "-o", "name").isBlank() ? "none" : null);
  }

  static String claim(String name, String sc, String size, String mode, String extra) {
    return VolumeLifecycleTest.pvc(name, sc, size, mode, extra)
        .replace("namespace: lifecycle", "namespace: " + NS);
  }

  static String pod(String name, String claim, String script) {
    return pod(name, claim, script, "", "", "");
  }

  /** A pod whose container uses the claim as a raw device at /dev/xvda (volumeDevices). */
  static String blockPod(String name, String script) {
    return pod(name, "raw", script, "", "", "").replace(
        "    volumeMounts:\n      - {name: data, mountPath: /data}",
        "    volumeDevices:\n      - {name: data, devicePath: /dev/xvda}");
  }

  /**
   * A busybox pod on the VM node running {@code script} with the PVC at /data; its output is
   * also its termination message, which kubelet puts into the pod's status.
   */
  static String pod(String name, String claim, String script, String podSecurity,
      String moreVolumes, String moreMounts) {
    return """
        apiVersion: v1
        kind: Pod
        metadata: {name: %s, namespace: %s}
        spec:
          %s
          nodeName: %s
          restartPolicy: Never
          automountServiceAccountToken: false
          terminationGracePeriodSeconds: 5
          containers:
          - name: app
            image: docker.io/library/busybox:1.35
            imagePullPolicy: Never
            command: [/bin/sh, -c, 'set -e; out=$(%s); echo "$out" | tee /dev/termination-log']
            terminationMessagePolicy: FallbackToLogsOnError
            volumeMounts:
              - {name: data, mountPath: /data}%s
          volumes:
          - name: data
            persistentVolumeClaim: {claimName: %s}
        %s""".formatted(name, NS, podSecurity, VmNode.NODE, script.replace("'", "''"), moreMounts,
        claim, moreVolumes);
  }

  /** Waits for the pod to succeed; returns its output (the termination message). */
  static String awaitSucceeded(String pod) throws Exception {
    return await("pod " + pod + " Succeeded", () -> {
      String phase = cluster.k("get", "pod", pod, "-n", NS, "-o", "jsonpath={.status.phase}");
      if (phase.equals("Failed")) {
        throw new IllegalStateException("pod " + pod + " failed: " + cluster.k("get", "pod", pod,
            "-n", NS, "-o", "yaml"));
      }
      return phase.equals("Succeeded") ? cluster.k("get", "pod", pod, "-n", NS, "-o",
          "jsonpath={.status.containerStatuses[0].state.terminated.message}").strip() : null;
    });
  }

  static <T> T await(String what, Callable<T> probe) {
    return ClusterWait.until(what, POD_WAIT, Duration.ofSeconds(1), probe,
        e -> e instanceof IllegalStateException,
        () -> "events:\n" + cluster.kubectl("get", "events", "-A").out() + "\n" + node.logs());
  }
}
