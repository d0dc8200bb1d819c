package org.iscsicsi.e2e.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.marcnuri.helm.Helm;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The volume lifecycle driven through kubectl against a real Kubernetes 1.34 control plane
 * (etcd, kube-apiserver, kube-controller-manager, kube-scheduler built from source by
 * e2e/cluster/build.sh), the real CSI sidecars (external-provisioner, -attacher, -resizer,
 * csi-snapshotter, snapshot-controller) and the project's controller as a process, with the
 * chart's RBAC, CSIDriver and classes (e2e/cluster/start.sh). Pins:
 *
 * <ul>
 *   <li>a PVC is provisioned: PV bound, target and LUN file in the engine's state;
 *   <li>a pod bound to the node makes the attach/detach controller create a VolumeAttachment that
 *       the attacher turns into a grant for the node's initiator IQN; deleting the pod revokes it;
 *   <li>growing a PVC grows the LUN and the PV (filesystem volumes then wait for the node, block
 *       volumes report the new size on the PVC);
 *   <li>a VolumeSnapshot becomes ready; a PVC restored from it and a PVC cloned from a PVC carry
 *       the source's bytes;
 *   <li>bad input (unknown StorageClass parameter, a thick PVC larger than the pool, a class
 *       naming the chart's CHAP secret, the one its RBAC lets the sidecars read, when that secret
 *       does not exist) ends in a ProvisioningFailed event on the PVC that says why, and no
 *       target;
 *   <li>reclaimPolicy Retain keeps the LUN after the PVC goes;
 *   <li>a SIGKILL of the controller while a clone is provisioned changes no outcome;
 *   <li>deleting everything leaves no target, grant, LUN file, snapshot or state entry;
 *   <li>{@code helm install} of the chart is accepted by this API server and {@code helm
 *       uninstall} removes every object it made.
 * </ul>
 *
 * <p>No kubelet runs (it needs a container runtime): the Node, its Ready status and CSINode are
 * written by start.sh, and this test plays kubelet's one part the attach/detach controller waits
 * for, the node's {@code status.volumesInUse}. Node staging, mounting and node expansion are the
 * node plugin's tests. Data is written into and read from the LUN files directly (no initiator
 * logs in here).
 *
 * <p>Needs the binaries of e2e/cluster/build.sh (cached; a cold build takes long): skipped with
 * a reason when they are not built, unless {@code -Discsi.cluster=true} asks to build them.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class VolumeLifecycleTest {
  static final String NS = "lifecycle";
  static final Duration WAIT = Duration.ofSeconds(120);
  static final byte[] MARKER = "iscsi-csi lifecycle marker 0123456789".getBytes(
      StandardCharsets.US_ASCII);

  static TestCluster cluster;
  static String dataPv;
  static String dataHandle;

  @BeforeAll
  static void startCluster() throws Exception {
    boolean build = Boolean.getBoolean("iscsi.cluster");
    assumeTrue(build || TestCluster.builtBinaries().isPresent(),
        "the Kubernetes binaries are not built: run e2e/cluster/build.sh (long when cold) or "
            + "pass -Discsi.cluster=true");
    Path run = Path.of("target/cluster-run").toAbsolutePath();
    if (Files.exists(run.resolve("pids"))) {
      TestCluster.exec(List.of("bash", TestCluster.repoRoot().resolve("e2e/cluster/stop.sh")
          .toString(), run.toString()), Duration.ofMinutes(2), List.of());
    }
    deleteTree(run);
    cluster = TestCluster.start(run);
    step("cluster start-up", "control plane, sidecars and controller up", cluster.startUp);
    cluster.apply("""
        apiVersion: v1
        kind: Namespace
        metadata: {name: lifecycle}
        """);
    cluster.apply(storageClass("lc-delete", "Delete", "fsType: ext4"));
    cluster.apply(storageClass("lc-retain", "Retain", "fsType: ext4"));
    cluster.apply(storageClass("lc-bad-param", "Delete", "fsType: ext4\n  color: blue"));
    cluster.apply(storageClass("lc-thick", "Delete", "provisioning: thick"));
    cluster.apply(storageClass("lc-chap", "Delete", """
        chap: "true"
          csi.storage.k8s.io/provisioner-secret-name: iscsi-csi-chap
          csi.storage.k8s.io/provisioner-secret-namespace: iscsi-csi"""));
  }

  @AfterAll
  static void stopCluster() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  @Order(1)
  void pvcIsProvisioned() throws Exception {
    long t0 = System.nanoTime();
    cluster.apply(pvc("data", "lc-delete", "1Gi", "Filesystem", ""));
    awaitPhase("pvc", "data", "Bound");
    dataPv = get("pvc", "data", "{.spec.volumeName}");
    dataHandle = cluster.k("get", "pv", dataPv, "-o", "jsonpath={.spec.csi.volumeHandle}");
    EngineView.Target t = engine().target(dataHandle).orElseThrow(
        () -> new AssertionError("no target for " + dataHandle + " in " + engineSafe()));
    assertThat(t.luns()).hasSize(1);
    assertThat(t.luns().getFirst().sizeBytes()).isEqualTo(1L << 30);
    assertThat(t.luns().getFirst().file()).exists();
    assertThat(t.initiators()).isEmpty();
    step("provision", "PVC data Bound to " + dataPv + ", target " + t.name() + ", LUN file "
        + t.luns().getFirst().file().getFileName(), since(t0));
  }

  @Test
  @Order(2)
  void podOnTheNodeAttachesAndDetaches() throws Exception {
    long t0 = System.nanoTime();
    cluster.apply(pod("user", "data"));
    String va = await("VolumeAttachment of " + dataPv + " attached", () -> {
      String line = attachment(dataPv);
      return line.endsWith(" true") ? line.split(" ")[0] : null;
    });
    assertThat(cluster.k("get", "volumeattachment", va, "-o", "jsonpath={.spec.nodeName}"))
        .isEqualTo(TestCluster.NODE);
    assertThat(engine().target(dataHandle).orElseThrow().initiators())
        .containsExactly(TestCluster.NODE_IQN);
    // kubelet would now report the volume as mounted
    volumesInUse("kubernetes.io/csi/" + TestCluster.DRIVER + "^" + dataHandle);
    step("attach", "pod user on " + TestCluster.NODE + " -> " + va + " attached, "
        + TestCluster.NODE_IQN + " granted", since(t0));

    long t1 = System.nanoTime();
    cluster.k("delete", "pod", "user", "-n", NS, "--grace-period=0", "--force", "--wait=true");
    // kubelet would now report the volume unmounted; the attach/detach controller then detaches
    volumesInUse();
    await("VolumeAttachment " + va + " deleted", () ->
        attachment(dataPv).isEmpty() ? "gone" : null);
    assertThat(engine().target(dataHandle).orElseThrow().initiators()).isEmpty();
    step("detach", "pod deleted -> " + va + " gone, grant revoked", since(t1));
  }

  @Test
  @Order(3)
  void pvcGrows() throws Exception {
    long t0 = System.nanoTime();
    cluster.k("patch", "pvc", "data", "-n", NS, "--type=merge",
        "-p", "{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"2Gi\"}}}}");
    await("PV " + dataPv + " at 2Gi", () -> "2Gi".equals(cluster.k("get", "pv", dataPv, "-o",
        "jsonpath={.spec.capacity.storage}")) ? "ok" : null);
    assertThat(engine().target(dataHandle).orElseThrow().luns().getFirst().sizeBytes())
        .isEqualTo(2L << 30);
    assertThat(Files.size(engine().target(dataHandle).orElseThrow().luns().getFirst().file()))
        .isEqualTo(2L << 30);
    // a filesystem volume waits for kubelet's NodeExpandVolume, which cannot run here
    String pending = await("PVC data FileSystemResizePending", () -> {
      String c = get("pvc", "data", "{.status.conditions[*].type}");
      return c.contains("FileSystemResizePending") ? c : null;
    });
    step("expand (filesystem)", "PVC data 1Gi->2Gi: LUN and PV 2Gi, PVC condition " + pending
        + " (node expansion needs a kubelet)", since(t0));

    long t1 = System.nanoTime();
    cluster.apply(pvc("raw", "lc-delete", "1Gi", "Block", ""));
    awaitPhase("pvc", "raw", "Bound");
    cluster.k("patch", "pvc", "raw", "-n", NS, "--type=merge",
        "-p", "{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"3Gi\"}}}}");
    await("PVC raw status at 3Gi", () ->
        "3Gi".equals(get("pvc", "raw", "{.status.capacity.storage}")) ? "ok" : null);
    String rawPv = get("pvc", "raw", "{.spec.volumeName}");
    String rawHandle = cluster.k("get", "pv", rawPv, "-o", "jsonpath={.spec.csi.volumeHandle}");
    assertThat(engine().target(rawHandle).orElseThrow().luns().getFirst().sizeBytes())
        .isEqualTo(3L << 30);
    step("expand (block)", "PVC raw 1Gi->3Gi: LUN, PV and PVC status 3Gi", since(t1));
  }

  @Test
  @Order(4)
  void snapshotRestoreAndClone() throws Exception {
    long t0 = System.nanoTime();
    Path lun = engine().target(dataHandle).orElseThrow().luns().getFirst().file();
    writeAt(lun, 4096, MARKER);
    cluster.apply("""
        apiVersion: snapshot.storage.k8s.io/v1
        kind: VolumeSnapshot
        metadata: {name: snap, namespace: lifecycle}
        spec:
          volumeSnapshotClassName: iscsi-csi-snapshot
          source: {persistentVolumeClaimName: data}
        """);
    await("VolumeSnapshot snap readyToUse", () ->
        "true".equals(get("volumesnapshot", "snap", "{.status.readyToUse}")) ? "ok" : null);
    assertThat(engine().snapshots()).hasSize(1);
    assertThat(engine().snapshotFiles()).hasSize(1);
    step("snapshot", "VolumeSnapshot snap readyToUse, restoreSize "
        + get("volumesnapshot", "snap", "{.status.restoreSize}") + ", 1 snapshot in the engine",
        since(t0));

    long t1 = System.nanoTime();
    cluster.apply(pvc("restored", "lc-delete", "2Gi", "Filesystem", """
          dataSource:
            apiGroup: snapshot.storage.k8s.io
            kind: VolumeSnapshot
            name: snap
        """));
    awaitPhase("pvc", "restored", "Bound");
    assertThat(readAt(lunOf("restored"), 4096, MARKER.length)).isEqualTo(MARKER);
    step("restore", "PVC restored Bound, its LUN holds the snapshot's bytes", since(t1));

    long t2 = System.nanoTime();
    int targetsBefore = engine().targets().size();
    cluster.apply(pvc("cloned", "lc-delete", "2Gi", "Filesystem", """
          dataSource:
            kind: PersistentVolumeClaim
            name: data
        """));
    // the controller dies while the provisioner is working on the clone, then comes back
    Thread.sleep(300);
    cluster.killController();
    Thread.sleep(2000);
    cluster.startController();
    awaitPhase("pvc", "cloned", "Bound");
    assertThat(readAt(lunOf("cloned"), 4096, MARKER.length)).isEqualTo(MARKER);
    assertThat(engine().targets()).hasSize(targetsBefore + 1);
    step("clone + controller SIGKILL", "PVC cloned Bound after a SIGKILL and restart of the "
        + "controller, its LUN holds data's bytes, exactly one new target", since(t2));
  }

  @Test
  @Order(5)
  void badInputEndsInAnEventAndNothingHalfMade() throws Exception {
    long t0 = System.nanoTime();
    EngineView before = engine();
    cluster.apply(pvc("bad-param", "lc-bad-param", "1Gi", "Filesystem", ""));
    cluster.apply(pvc("too-big", "lc-thick", "1000Ti", "Filesystem", ""));
    cluster.apply(pvc("no-secret", "lc-chap", "1Gi", "Filesystem", ""));
    String e1 = awaitEvent("bad-param", "unknown parameter \"color\"");
    String e2 = awaitEvent("too-big", "ResourceExhausted");
    String e3 = awaitEvent("no-secret", "\"iscsi-csi-chap\" not found");
    for (String name : List.of("bad-param", "too-big", "no-secret")) {
      assertThat(get("pvc", name, "{.status.phase}")).isEqualTo("Pending");
    }
    EngineView after = engine();
    assertThat(after.targets()).hasSameSizeAs(before.targets());
    assertThat(after.lunFiles()).isEqualTo(before.lunFiles());
    cluster.k("delete", "pvc", "bad-param", "too-big", "no-secret", "-n", NS, "--wait=true");
    step("bad input", "events: [" + e1 + "] [" + e2 + "] [" + e3 + "]; no target or file made",
        since(t0));
  }

  @Test
  @Order(6)
  void retainKeepsTheLun() throws Exception {
    long t0 = System.nanoTime();
    cluster.apply(pvc("kept", "lc-retain", "1Gi", "Filesystem", ""));
    awaitPhase("pvc", "kept", "Bound");
    String pv = get("pvc", "kept", "{.spec.volumeName}");
    String handle = cluster.k("get", "pv", pv, "-o", "jsonpath={.spec.csi.volumeHandle}");
    cluster.k("delete", "pvc", "kept", "-n", NS, "--wait=true");
    await("PV " + pv + " Released", () -> "Released".equals(cluster.k("get", "pv", pv, "-o",
        "jsonpath={.status.phase}")) ? "ok" : null);
    Thread.sleep(3000); // time for a wrong DeleteVolume to happen
    EngineView.Target t = engine().target(handle).orElseThrow(
        () -> new AssertionError("Retain lost the target of " + handle));
    assertThat(t.luns().getFirst().file()).exists();
    step("retain", "PVC kept deleted: PV " + pv + " Released, target and LUN file kept",
        since(t0));
    // an operator who changes their mind: Delete on a released PV removes the volume
    cluster.k("patch", "pv", pv, "--type=merge",
        "-p", "{\"spec\":{\"persistentVolumeReclaimPolicy\":\"Delete\"}}");
    await("PV " + pv + " deleted", () ->
        cluster.kubectl("get", "pv", pv).exit() != 0 ? "gone" : null);
    assertThat(engine().target(handle)).isEmpty();
  }

  @Test
  @Order(7)
  void deletingEverythingLeavesNothing() throws Exception {
    long t0 = System.nanoTime();
    cluster.k("delete", "volumesnapshot", "snap", "-n", NS, "--wait=true", "--timeout=120s");
    cluster.k("delete", "pvc", "--all", "-n", NS, "--wait=true", "--timeout=120s");
    await("every PV gone", () -> cluster.k("get", "pv", "-o", "name").isEmpty() ? "ok" : null);
    await("every VolumeSnapshotContent gone", () ->
        cluster.k("get", "volumesnapshotcontents", "-o", "name").isEmpty() ? "ok" : null);
    EngineView v = await("the engine empty", () -> {
      EngineView e = engine();
      return e.targets().isEmpty() && e.snapshots().isEmpty() ? e : null;
    });
    assertThat(v.lunFiles()).isEmpty();
    assertThat(v.snapshotFiles()).isEmpty();
    step("delete all", "no PV, no VolumeSnapshotContent; engine: 0 targets, 0 grants, "
        + "0 snapshots, no LUN or snapshot file", since(t0));
  }

  @Test
  @Order(8)
  void helmInstallsAndUninstallsTheChart() throws Exception {
    long t0 = System.nanoTime();
    // the objects start.sh applied from deploy/ would collide with the release's
    cluster.k("delete", "-f", cluster.run().resolve("chart-objects.yaml").toString(),
        "--wait=true");
    Path chart = TestCluster.repoRoot().resolve("helm/iscsi-csi");
    var release = new Helm(chart).install().withName("iscsi-csi").withNamespace("iscsi-csi")
        .withKubeConfig(cluster.kubeconfig()).call();
    assertThat(release.getStatus()).isEqualTo("deployed");
    String sel = "app.kubernetes.io/instance=iscsi-csi";
    String made = cluster.k("get", "statefulset,daemonset,serviceaccount,service,role,rolebinding",
        "-n", "iscsi-csi", "-l", sel, "-o", "name") + "\n" + cluster.k("get",
        "csidriver,storageclass,clusterrole,clusterrolebinding,volumesnapshotclass", "-l", sel,
        "-o", "name");
    assertThat(made).contains("statefulset.apps/", "daemonset.apps/",
        "csidriver.storage.k8s.io/iscsi.csi.iscsicsi.org", "storageclass.storage.k8s.io/");
    long objects = made.lines().filter(l -> !l.isBlank()).count();
    step("helm install", "release deployed, " + objects + " objects accepted (workloads need a "
        + "kubelet to run: checked for acceptance only)", since(t0));

    long t1 = System.nanoTime();
    Helm.uninstall("iscsi-csi").withNamespace("iscsi-csi").withKubeConfig(cluster.kubeconfig())
        .call();
    String left = cluster.k("get", "statefulset,daemonset,serviceaccount,service,role,rolebinding,"
        + "configmap,secret", "-n", "iscsi-csi", "-l", sel, "-o", "name") + cluster.k("get",
        "csidriver,storageclass,clusterrole,clusterrolebinding,volumesnapshotclass", "-l", sel,
        "-o", "name");
    assertThat(left).isBlank();
    step("helm uninstall", "no object of the release left", since(t1));
  }

  // ---- helpers

  static String storageClass(String name, String reclaim, String params) {
    return """
        apiVersion: storage.k8s.io/v1
        kind: StorageClass
        metadata: {name: %s}
        provisioner: %s
        reclaimPolicy: %s
        volumeBindingMode: Immediate
        allowVolumeExpansion: true
        parameters:
          %s
        """.formatted(name, TestCluster.DRIVER, reclaim, params);
  }

  static String pvc(String name, String sc, String size, String mode, String extra) {
    return """
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata: {name: %s, namespace: lifecycle}
        spec:
          storageClassName: %s
          accessModes: [ReadWriteOnce]
          volumeMode: %s
          resources: {requests: {storage: %s}}
        %s""".formatted(name, sc, mode, size, extra);
  }

  static String pod(String name, String claim) {
    return """
        apiVersion: v1
        kind: Pod
        metadata: {name: %s, namespace: lifecycle}
        spec:
          nodeName: %s
          automountServiceAccountToken: false
          containers:
          - name: app
            image: registry.invalid/never-pulled:1
            volumeMounts: [{name: data, mountPath: /data}]
          volumes:
          - name: data
            persistentVolumeClaim: {claimName: %s}
        """.formatted(name, TestCluster.NODE, claim);
  }

  static String get(String kind, String name, String jsonPath) throws Exception {
    return cluster.k("get", kind, name, "-n", NS, "-o", "jsonpath=" + jsonPath);
  }

  static void awaitPhase(String kind, String name, String phase) throws Exception {
    await(kind + " " + name + " " + phase, () -> {
      String p = get(kind, name, "{.status.phase}");
      return phase.equals(p) ? p : null;
    });
  }

  /** "name attached" of the VolumeAttachment of a PV, or empty. */
  static String attachment(String pv) throws Exception {
    return cluster.k("get", "volumeattachments", "-o",
        "jsonpath={range .items[?(@.spec.source.persistentVolumeName==\"" + pv
            + "\")]}{.metadata.name} {.status.attached}{end}");
  }

  /** What kubelet reports in the node's status.volumesInUse. */
  static void volumesInUse(String... names) throws Exception {
    String list = Arrays.stream(names).map(n -> "\"" + n + "\"")
        .reduce((a, b) -> a + "," + b).orElse("");
    cluster.k("patch", "node", TestCluster.NODE, "--subresource=status", "--type=merge",
        "-p", "{\"status\":{\"volumesInUse\":[" + list + "]}}");
  }

  static String awaitEvent(String pvc, String needle) throws Exception {
    return await("an event on PVC " + pvc + " with " + needle, () -> {
      String events = cluster.k("get", "events", "-n", NS, "--field-selector",
          "involvedObject.kind=PersistentVolumeClaim,involvedObject.name=" + pvc, "-o",
          "jsonpath={range .items[*]}{.reason}: {.message}{\"\\n\"}{end}");
      return events.lines().filter(l -> l.contains(needle)).findFirst()
          .map(l -> l.length() > 240 ? l.substring(0, 240) + "..." : l).orElse(null);
    });
  }

  static Path lunOf(String pvc) throws Exception {
    String pv = get("pvc", pvc, "{.spec.volumeName}");
    String handle = cluster.k("get", "pv", pv, "-o", "jsonpath={.spec.csi.volumeHandle}");
    return engine().target(handle).orElseThrow().luns().getFirst().file();
  }

  static EngineView engine() throws IOException {
    return EngineView.read(cluster.stateDir());
  }

  static String engineSafe() {
    try {
      return engine().toString();
    } catch (IOException e) {
      return "unreadable state: " + e;
    }
  }

  static <T> T await(String what, Callable<T> probe) throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    Exception last = null;
    while (System.nanoTime() < deadline) {
      try {
        T v = probe.call();
        if (v != null) {
          return v;
        }
      } catch (Exception | AssertionError e) {
        last = e instanceof Exception ex ? ex : new RuntimeException(e);
      }
      Thread.sleep(500);
    }
    AssertionError err = new AssertionError("timed out after " + WAIT + " waiting for " + what
        + "; logs in " + cluster.run().resolve("logs"));
    if (last != null) {
      err.addSuppressed(last);
    }
    throw err;
  }

  static void writeAt(Path file, long offset, byte[] data) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.seek(offset);
      f.write(data);
      f.getFD().sync();
    }
  }

  static byte[] readAt(Path file, long offset, int length) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
      byte[] b = new byte[length];
      f.seek(offset);
      f.readFully(b);
      return b;
    }
  }

  static Duration since(long t0) {
    return Duration.ofNanos(System.nanoTime() - t0);
  }

  static void step(String step, String what, Duration took) {
    System.out.printf("[lifecycle] %-26s %-6s %s%n", step,
        String.format("%.1fs", took.toMillis() / 1000.0), what);
  }

  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (var s = Files.walk(dir)) {
      for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
