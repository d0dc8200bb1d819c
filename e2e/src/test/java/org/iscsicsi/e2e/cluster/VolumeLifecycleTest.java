package org.iscsicsi.e2e.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.marcnuri.helm.Helm;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.iscsicsi.node.vm.QemuVm;
import org.iscsicsi.node.vm.Tgtd;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The volume lifecycle driven through kubectl against a real Kubernetes control plane (etcd,
 * kube-apiserver, kube-controller-manager, kube-scheduler built from source by
 * e2e/cluster/build.sh, whatever version it pins), the real CSI sidecars (external-provisioner,
 * -attacher, -resizer, csi-snapshotter, snapshot-controller) and the project's controller as a
 * process with the chart's flags ({@code --leader-election}, {@code --sync-crd}), RBAC, CRD,
 * CSIDriver and classes (e2e/cluster/start.sh); the node is the real node plugin in a qemu VM with
 * Debian's kernel initiator (node-plugin's VM tier). Pins:
 *
 * <ul>
 *   <li>the node is registered from the node plugin's NodeGetInfo: its node id is the VM's
 *       initiator IQN, its topology the Node's label and the CSINode's key;
 *   <li>a PVC is provisioned: PV bound, target and LUN file in the engine's state, and {@code
 *       kubectl get iscsivolumes} shows the volume with its size, target IQN, condition and PVC;
 *       the target requires CHAP with credentials the controller generated into a Secret of the
 *       chart's namespace, named after the PV as the chart's classes name their node-stage
 *       secret, labelled with the volume id and owned by nothing;
 *   <li>a pod bound to the node makes the attach/detach controller create a VolumeAttachment that
 *       the attacher turns into a grant for the node's IQN; the volume is staged and published in
 *       the VM with what kubelet passes, data written through the kernel initiator, and the
 *       IscsiVolume shows the VM's session, initiator and written bytes; deleting the pod
 *       unpublishes, unstages (no session left), detaches and revokes the grant;
 *   <li>growing a PVC grows the LUN, the PV and the IscsiVolume; a filesystem volume waits for the
 *       node (FileSystemResizePending) until its next mount, where NodeExpandVolume in the VM grows
 *       ext4 (df) with the data intact; block volumes report the new size on the PVC;
 *   <li>a block PVC used by a pod with volumeDevices is staged and published in the VM at
 *       kubelet's block paths as a device of the grown size; bytes written to it with dd and
 *       synced read back through the initiator and are in the LUN file;
 *   <li>a VolumeSnapshot becomes ready; a PVC restored from it and a PVC cloned from a PVC, each
 *       mounted by a pod in the VM, hold the file written into the source through the initiator;
 *   <li>a SIGKILL of the controller while a clone is provisioned changes no outcome, and the
 *       restarted process (a new identity) takes the Lease once the dead holder's expires;
 *   <li>a controller whose RBAC for Leases is gone past the renew deadline stops leading,
 *       campaigns again and leads once the chart's RBAC is back;
 *   <li>bad input (unknown StorageClass parameter, a thick PVC larger than the pool, a class
 *       naming the chart's CHAP secret, the one its RBAC lets the sidecars read, when that secret
 *       does not exist) ends in a ProvisioningFailed event on the PVC that says why, and no
 *       target;
 *   <li>the chart's default class {@code iscsi-csi} (WaitForFirstConsumer, no parameter about
 *       CHAP): the pod scheduled onto the node gets a CHAP target and its generated Secret, the
 *       node plugin logs in with that Secret (which reaches neither log nor console), and
 *       deleting the PVC deletes the Secret; a class with {@code chap: "false"} provisions, with
 *       a ChapDisabled Warning on its PVC;
 *   <li>the chart's CHAP class (WaitForFirstConsumer): kube-scheduler places a pod on the node,
 *       the PVC is provisioned for it, the target requires CHAP, and the node plugin logs in with
 *       the node-stage Secret the PV names; the secret reaches neither log nor console;
 *   <li>a static PV of an existing SAN (tgtd on the host as the array, CHAP): ControllerPublish
 *       passes its attributes through without touching the engine, the node plugin logs in to
 *       the array with the PV's node-stage Secret, formats the blank LUN once and mounts it, and
 *       the bytes written in the VM are in the array's backing file; no session is left;
 *   <li>reclaimPolicy Retain keeps the LUN after the PVC goes;
 *   <li>deleting everything leaves no target, grant, LUN file, snapshot, state entry, IscsiVolume,
 *       per-volume CHAP Secret or iSCSI session in the VM;
 *   <li>{@code helm install} of the chart is accepted by this API server and {@code helm
 *       uninstall} removes every object it made.
 * </ul>
 *
 * <p>What stands in for kubelet, and why: {@link PodVolumeTest} runs these steps with pods on a
 * real kubelet; this test keeps a stand-in so it can look between kubelet's calls (the LUN file and
 * the engine's state after each one, the exact request kubelet would send) and still run host-only
 * where qemu is missing. {@link VmKubelet} makes kubelet's CSI calls against the node plugin in the
 * VM, with the volume handle and attributes of the PV, the VolumeAttachment's attachment metadata
 * as publish context, the node-stage Secret, kubelet's staging and target paths and the pod info
 * the CSIDriver asks for; register-node.sh writes the Node, its Ready status and CSINode as
 * kubelet's registration would; this test writes the node's {@code status.volumesInUse} as kubelet
 * reports it (before mounting, and cleared after unstaging), which the attach/detach controller
 * waits for; when a PVC waits for node expansion, the next mount calls NodeExpandVolume and writes
 * the PVC's status back as kubelet does. Pod containers never run.
 *
 * <p>Without qemu (or with {@code -Discsi.cluster.vm=false}) the test says so and keeps a
 * host-only path: start.sh registers a node with a made-up IQN, no initiator logs in, and data is
 * written into and read from the LUN files directly. CI has the VM tier, so the VM path runs there.
 *
 * <p>Needs the binaries of e2e/cluster/build.sh (cached; a cold build takes long): skipped with
 * a reason when they are not built, unless {@code -Discsi.cluster=true} asks to build them.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class VolumeLifecycleTest {
  static final String NS = "lifecycle";
  static final Duration WAIT = Duration.ofSeconds(120);
  /** How long Retain is watched for a wrong DeleteVolume after the PV is released. */
  static final Duration RETAIN_WATCH = Duration.ofSeconds(3);
  /** tgtd standing in for an existing array: its portal (host side) and control index. */
  static final int SAN_PORT = PortBlock.SAN;
  static final int SAN_CONTROL_INDEX = PortBlock.SAN_CONTROL;
  static final String SAN_IQN = "iqn.2026-11.com.example.array:lifecycle";
  static final long SAN_LUN_BYTES = 64L << 20;
  static final String SAN_MARKER = "iscsi-csi static PV marker 42";
  static final byte[] MARKER = "iscsi-csi lifecycle marker 0123456789".getBytes(
      StandardCharsets.US_ASCII);

  static TestCluster cluster;
  /** The node plugin in the VM and this test as its kubelet; null on the host-only path. */
  static VmKubelet kubelet;
  /** The node pods run on and its CSI node id (the VM's initiator IQN, from NodeGetInfo). */
  static String node;
  static String nodeId;
  static String dataPv;
  static String dataHandle;
  /** md5 of the file written into PVC data through the VM's kernel initiator. */
  static String dataSum;

  @BeforeAll
  static void startCluster() throws Exception {
    Path run = TestCluster.freshRun("cluster-run");
    // What build.sh recorded when it built these binaries (versions, cold build time).
    Optional<Path> built = TestCluster.builtBinaries();
    if (built.isPresent()) {
      Path times = built.get().resolve("build-times.txt");
      String record = Files.exists(times) ? String.join("; ", Files.readAllLines(times))
          : "no build record";
      System.out.println("[lifecycle] binaries " + built.get().getFileName() + ": " + record);
    }
    Optional<String> noVm = VmKubelet.unavailableReason(TestCluster.repoRoot());
    if (noVm.isPresent()) {
      System.out.println("[lifecycle] host-only node " + TestCluster.NODE + " (no node plugin, "
          + "data through the LUN files): no VM because " + noVm.get());
    } else {
      kubelet = VmKubelet.boot(); // boots while the control plane starts
    }
    String portal = String.valueOf(TestCluster.PORTAL_PORT);
    cluster = TestCluster.start(run, kubelet == null,
        (kubelet == null ? "127.0.0.1:" : QemuVm.HOST_ADDRESS + ":") + portal);
    String holder = await("the Lease held by the controller", () ->
        cluster.controllerIdentity().equals(cluster.leaseHolder()) ? cluster.leaseHolder()
            : null);
    step("cluster start-up", "control plane, sidecars and controller up (Lease held by "
        + holder + ")", cluster.startUp);
    if (kubelet == null) {
      node = TestCluster.NODE;
      nodeId = TestCluster.NODE_IQN;
    } else {
      long t0 = System.nanoTime();
      var info = kubelet.awaitPlugin(Duration.ofMinutes(8));
      node = VmKubelet.NODE;
      nodeId = info.getNodeId();
      assertThat(nodeId).isEqualTo(VmKubelet.INITIATOR);
      assertThat(info.getAccessibleTopology().getSegmentsMap())
          .containsEntry(TestCluster.DRIVER + "/node", node);
      cluster.registerNode(node, nodeId, info.getAccessibleTopology().getSegmentsMap());
      assertThat(cluster.k("get", "csinode", node, "-o",
          "jsonpath={.spec.drivers[0].nodeID}")).isEqualTo(nodeId);
      step("node (VM)", "VM launched " + kubelet.elapsed().toSeconds() + " s ago (during "
          + "start-up); its node plugin's NodeGetInfo id " + nodeId + " -> Node " + node
          + " + CSINode", since(t0));
    }
    cluster.apply("""
        apiVersion: v1
        kind: Namespace
        metadata: {name: lifecycle}
        """);
    cluster.apply(storageClass("lc-delete", "Delete", "fsType: ext4"));
    cluster.apply(storageClass("lc-retain", "Retain", "fsType: ext4"));
    cluster.apply(storageClass("lc-bad-param", "Delete", "fsType: ext4\n  color: blue"));
    cluster.apply(storageClass("lc-thick", "Delete", "provisioning: thick"));
    cluster.apply(storageClass("lc-open", "Delete", "fsType: ext4\n  chap: \"false\""));
    cluster.apply(storageClass("lc-chap", "Delete", """
        chap: "true"
          csi.storage.k8s.io/provisioner-secret-name: iscsi-csi-chap
          csi.storage.k8s.io/provisioner-secret-namespace: iscsi-csi"""));
  }

  @AfterAll
  static void stopCluster() throws Exception {
    try {
      if (kubelet != null) {
        kubelet.close();
      }
    } finally {
      if (cluster != null) {
        cluster.close();
      }
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
    String secret = generatedSecret(dataPv, dataHandle);
    assertThat(t.chap()).as("the target requires CHAP").isTrue();
    // kubectl get iscsivolumes: the controller (--sync-crd) keeps one object per volume
    String row = await("IscsiVolume " + dataHandle + " listed", () -> cluster.k("get",
        "iscsivolumes").lines().filter(l -> l.startsWith(dataHandle + " ")).findFirst()
        .orElse(null));
    assertThat(row.split("\\s+")).contains("1073741824", t.name());
    assertThat(isv(dataHandle, "{.status.sizeBytes} {.status.targetIqn} {.status.condition} "
        + "{.spec.pvcNamespace}/{.spec.pvcName}"))
        .isEqualTo("1073741824 " + t.name() + " Healthy lifecycle/data");
    step("provision", "PVC data Bound to " + dataPv + ", target " + t.name() + " (CHAP, "
        + "Secret " + secret + "), LUN file " + t.luns().getFirst().file().getFileName()
        + "; kubectl get iscsivolumes: 1073741824 Healthy lifecycle/data", since(t0));
  }

  @Test
  @Order(2)
  void podOnTheNodeAttachesAndDetaches() throws Exception {
    long t0 = System.nanoTime();
    cluster.apply(pod("user", "data", true));
    Attached a = attach("user", dataPv, dataHandle);
    String how;
    if (kubelet != null) {
      // through the real initiator: a file of random bytes and a marker, synced
      String dir = a.mounted().target();
      dataSum = kubelet.shell("head -c 4194304 /dev/urandom > " + dir + "/data.bin && echo "
          + new String(MARKER, StandardCharsets.US_ASCII) + " > " + dir + "/marker && sync && "
          + "md5sum " + dir + "/data.bin | cut -d' ' -f1").strip();
      String isv = await("IscsiVolume with the VM's session and written bytes", () -> {
        String v = isv(dataHandle, "{.status.sessions} {.status.initiators[0]} "
            + "{.status.writtenBytes}");
        String[] f = v.split(" ");
        return f[0].equals("1") && f[1].equals(nodeId) && Long.parseLong(f[2]) >= 4L << 20
            ? v : null;
      });
      how = "staged + published in the VM, 4 MiB written (md5 " + dataSum.substring(0, 8)
          + "), IscsiVolume sessions/initiator/written: " + isv;
    } else {
      await("IscsiVolume lists the grant", () -> isv(dataHandle, "{.status.initiators[0]}")
          .equals(nodeId) ? "ok" : null);
      how = nodeId + " granted";
    }
    step("attach", "pod user on " + node + " -> " + a.attachment() + " attached, " + how,
        since(t0));

    long t1 = System.nanoTime();
    detach("user", dataPv, dataHandle, a);
    step("detach", "pod deleted -> " + (kubelet != null ? "unpublished + unstaged (no session), "
        : "") + a.attachment() + " gone, grant revoked, IscsiVolume without initiators",
        since(t1));
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
    await("IscsiVolume " + dataHandle + " at 2Gi", () -> isv(dataHandle, "{.status.sizeBytes}")
        .equals(Long.toString(2L << 30)) ? "ok" : null);
    String onNode = "node expansion needs a node plugin";
    if (kubelet != null) {
      // kubelet grows the filesystem when the volume is next mounted
      cluster.apply(pod("grower", "data", true));
      Attached a = attach("grower", dataPv, dataHandle);
      assertThat(a.mounted().expandedTo()).isEqualTo(2L << 30);
      String dir = a.mounted().target();
      long kib = Long.parseLong(kubelet.shell("df -k -P " + dir + " | tail -1").trim()
          .split("\\s+")[1]);
      assertThat(kib).as("ext4 size in KiB after NodeExpandVolume").isGreaterThan(1900L * 1024);
      assertThat(kubelet.shell("md5sum " + dir + "/data.bin | cut -d' ' -f1").strip())
          .isEqualTo(dataSum);
      detach("grower", dataPv, dataHandle, a);
      assertThat(get("pvc", "data", "{.status.capacity.storage}")).isEqualTo("2Gi");
      assertThat(get("pvc", "data", "{.status.conditions[*].type}"))
          .doesNotContain("FileSystemResizePending");
      onNode = "then on the next mount in the VM NodeExpandVolume grew ext4 to " + kib / 1024
          + " MiB (df), data intact, PVC status 2Gi";
    }
    step("expand (filesystem)", "PVC data 1Gi->2Gi: LUN, PV and IscsiVolume 2Gi, PVC condition "
        + pending + "; " + onNode, since(t0));

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

    if (kubelet != null) {
      long t2 = System.nanoTime();
      cluster.apply(pod("raw-user", "raw", true,
          "volumeDevices: [{name: data, devicePath: /dev/xvda}]"));
      Attached a = attach("raw-user", rawPv, rawHandle);
      String device = a.mounted().target(); // the file kubelet would hand to the container
      long size = Long.parseLong(kubelet.shell("blockdev --getsize64 " + device).strip());
      assertThat(size).as("size of the published block device").isEqualTo(3L << 30);
      // 1 MiB at 1 MiB, synced (SYNCHRONIZE CACHE), read back past the guest's buffer cache
      String written = kubelet.shell("head -c 1048576 /dev/urandom > /tmp/raw.bin && dd "
          + "if=/tmp/raw.bin of=" + device + " bs=1048576 seek=1 conv=fsync 2>/dev/null && "
          + "md5sum /tmp/raw.bin | cut -d' ' -f1").strip();
      String readBack = kubelet.shell("blockdev --flushbufs " + device + " && dd if=" + device
          + " bs=1048576 skip=1 count=1 2>/dev/null | md5sum | cut -d' ' -f1").strip();
      assertThat(readBack).as("bytes read back through the initiator").isEqualTo(written);
      Path lun = engine().target(rawHandle).orElseThrow().luns().getFirst().file();
      assertThat(md5(readAt(lun, 1 << 20, 1 << 20))).as("bytes in the LUN file")
          .isEqualTo(written);
      detach("raw-user", rawPv, rawHandle, a);
      step("block in the VM", "pod raw-user with volumeDevices: staged + published as a "
          + (size >> 30) + " GiB device in the VM, 1 MiB written with dd and synced (md5 "
          + written.substring(0, 8) + "), the same in the LUN file; unpublished + unstaged, "
          + "grant revoked", since(t2));
    }
  }

  @Test
  @Order(4)
  void snapshotRestoreAndClone() throws Exception {
    long t0 = System.nanoTime();
    if (kubelet == null) { // with the VM, the data was written through the initiator
      Path lun = engine().target(dataHandle).orElseThrow().luns().getFirst().file();
      writeAt(lun, 4096, MARKER);
    }
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
    step("restore", "PVC restored Bound, " + carriesData("restored"), since(t1));

    long t2 = System.nanoTime();
    int targetsBefore = engine().targets().size();
    cluster.apply(pvc("cloned", "lc-delete", "2Gi", "Filesystem", """
          dataSource:
            kind: PersistentVolumeClaim
            name: data
        """));
    // the controller dies while the provisioner is working on the clone, then comes back
    String leader = cluster.controllerIdentity();
    assertThat(cluster.leaseHolder()).isEqualTo(leader);
    Thread.sleep(300);
    cluster.killController();
    Thread.sleep(2000);
    cluster.startController();
    // a new process, a new identity: it takes the Lease once the dead holder's expires
    String successor = cluster.controllerIdentity();
    assertThat(successor).isNotEqualTo(leader);
    await("Lease taken by " + successor, () ->
        successor.equals(cluster.leaseHolder()) ? "ok" : null);
    awaitPhase("pvc", "cloned", "Bound");
    assertThat(engine().targets()).hasSize(targetsBefore + 1);
    step("clone + controller SIGKILL", "PVC cloned Bound after a SIGKILL and restart of the "
        + "controller (Lease " + leader + " -> " + successor + "), exactly one new target, "
        + carriesData("cloned"), since(t2));
  }

  @Test
  @Order(5)
  void aControllerThatLostTheLeaseLeadsAgain() throws Exception {
    long t0 = System.nanoTime();
    String me = cluster.controllerIdentity();
    Path log = cluster.run().resolve("logs/controller.log");
    long leads = Files.readAllLines(log).stream().filter(l -> l.contains(me + " leads")).count();
    // the chart's RoleBinding for Leases goes: renewals are forbidden past the renew deadline
    cluster.k("delete", "rolebinding", "iscsi-csi-controller", "-n", TestCluster.NAMESPACE);
    await(me + " stopped leading", () -> Files.readString(log).contains(me + " stopped leading")
        ? "ok" : null);
    cluster.k("apply", "--server-side", "-f",
        cluster.run().resolve("chart-objects.yaml").toString());
    await(me + " leading again", () -> Files.readAllLines(log).stream()
        .filter(l -> l.contains(me + " leads")).count() > leads ? "ok" : null);
    assertThat(cluster.leaseHolder()).isEqualTo(me);
    step("Lease lost + regained", me + " stopped leading without its RoleBinding, campaigned "
        + "again and leads once the chart's RBAC is back", since(t0));
  }

  @Test
  @Order(6)
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
  @Order(7)
  void defaultClassVolumeGetsGeneratedChapAndOptingOutWarns() throws Exception {
    long t0 = System.nanoTime();
    // the chart's iscsi-csi class as installed: CHAP by default, the node-stage Secret per PV
    Scheduled v = scheduledOntoTheNode("guarded", "iscsi-csi", "guarded-user");
    String pv = v.pv();
    String handle = v.handle();
    String secret = generatedSecret(pv, handle);
    assertThat(cluster.k("get", "pv", pv, "-o",
        "jsonpath={.spec.csi.nodeStageSecretRef.namespace}/{.spec.csi.nodeStageSecretRef.name}"))
        .isEqualTo(TestCluster.NAMESPACE + "/" + secret);
    Attached a = attach("guarded-user", pv, handle);
    assertThat(engine().target(handle).orElseThrow().chap()).isTrue();
    String how = "CHAP target, Secret " + secret;
    if (kubelet != null) {
      String dir = a.mounted().target();
      assertThat(kubelet.shell("echo guarded > " + dir + "/f && sync && cat " + dir + "/f"))
          .isEqualTo("guarded\n");
      String password = secretValue(secret, "password");
      assertThat(kubelet.console()).doesNotContain(password);
      assertThat(Files.readString(cluster.run().resolve("logs/controller.log")))
          .doesNotContain(password);
      how += ", staged in the VM with it (CHAP login), file written and read";
    }
    detach("guarded-user", pv, handle, a);
    cluster.k("delete", "pvc", "guarded", "-n", NS, "--wait=true");
    await("target of " + handle + " and Secret " + secret + " deleted", () ->
        engine().target(handle).isEmpty() && cluster.kubectl("get", "secret", secret, "-n",
            TestCluster.NAMESPACE).exit() != 0 ? "ok" : null);

    cluster.apply(pvc("open", "lc-open", "1Gi", "Filesystem", ""));
    awaitPhase("pvc", "open", "Bound");
    String openPv = get("pvc", "open", "{.spec.volumeName}");
    String openHandle = cluster.k("get", "pv", openPv, "-o", "jsonpath={.spec.csi.volumeHandle}");
    assertThat(engine().target(openHandle).orElseThrow().chap()).isFalse();
    assertThat(cluster.kubectl("get", "secret", "iscsi-csi-chap-" + openPv, "-n",
        TestCluster.NAMESPACE).exit()).isNotZero();
    String warning = awaitEvent("open", "ChapDisabled: volume " + openHandle + " has CHAP off");
    cluster.k("delete", "pvc", "open", "-n", NS, "--wait=true");
    step("default class + opt-out", "pod scheduled onto " + node + ", PVC of class iscsi-csi: "
        + how + "; PVC deleted -> target and Secret gone; class chap \"false\": Bound, no "
        + "Secret, event [" + warning + "]", since(t0));
  }

  @Test
  @Order(8)
  void chapVolumeOfTheChartsClassScheduledOntoTheNode() throws Exception {
    long t0 = System.nanoTime();
    // the chart's iscsi-csi-chap class: WaitForFirstConsumer, CHAP from the Secret it names for
    // provisioning, ControllerPublish and NodeStage (the one Secret the chart's RBAC lets read)
    String password = "pw" + java.util.UUID.randomUUID().toString().replace("-", "")
        .substring(0, 12);
    Path secret = Files.createTempFile("chap", ".env",
        java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
            java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
    try {
      Files.writeString(secret, "username=lifecycle\npassword=" + password + "\n");
      cluster.k("create", "secret", "generic", "iscsi-csi-chap", "-n", TestCluster.NAMESPACE,
          "--from-env-file=" + secret);
    } finally {
      Files.delete(secret);
    }
    Scheduled v = scheduledOntoTheNode("secure", "iscsi-csi-chap", "secure-user");
    String pv = v.pv();
    String handle = v.handle();
    Attached a = attach("secure-user", pv, handle);
    // the class names the Secret as provisioner secret too: CreateVolume sets the target's CHAP
    // from it, and no per-volume Secret is made
    assertThat(engine().target(handle).orElseThrow().chap()).isTrue();
    assertThat(cluster.kubectl("get", "secret", "iscsi-csi-chap-" + pv, "-n",
        TestCluster.NAMESPACE).exit()).isNotZero();
    String how = "CHAP target, " + nodeId + " granted";
    if (kubelet != null) {
      String dir = a.mounted().target();
      assertThat(kubelet.shell("echo chap-ok > " + dir + "/f && sync && cat " + dir + "/f"))
          .isEqualTo("chap-ok\n");
      assertThat(kubelet.console()).doesNotContain(password);
      how += ", staged in the VM with the node-stage Secret (CHAP login), file written and read";
    }
    detach("secure-user", pv, handle, a);
    cluster.k("delete", "pvc", "secure", "-n", NS, "--wait=true");
    await("target of " + handle + " deleted", () ->
        engine().target(handle).isEmpty() ? "ok" : null);
    cluster.k("delete", "secret", "iscsi-csi-chap", "-n", TestCluster.NAMESPACE);
    assertThat(Files.readString(cluster.run().resolve("logs/controller.log")))
        .doesNotContain(password);
    step("chap + scheduler", "pod scheduled onto " + node + ", PVC of class iscsi-csi-chap "
        + "provisioned for it (selected-node), " + how + "; detached", since(t0));
  }

  /**
   * A static PV of an existing SAN: tgtd on the host stands in for the array (CHAP, its own ACL
   * for the node's IQN). The attacher's ControllerPublish passes the PV's attributes through
   * without touching the engine, the node plugin logs in to the array with the PV's node-stage
   * Secret, formats the blank LUN once and mounts it; the bytes written in the VM are in the
   * array's backing file; detaching logs out, and the array sees no session afterwards.
   */
  @Test
  @Order(9)
  void staticPvOnAnExistingSan() throws Exception {
    assumeTrue(Tgtd.unavailableReason().isEmpty(), () -> Tgtd.unavailableReason().get());
    long t0 = System.nanoTime();
    Path san = cluster.run().resolve("san");
    Files.createDirectories(san);
    Path lun = san.resolve("lun1.img");
    try (RandomAccessFile f = new RandomAccessFile(lun.toFile(), "rw")) {
      f.setLength(SAN_LUN_BYTES);
    }
    String password = "san" + java.util.UUID.randomUUID().toString().replace("-", "")
        .substring(0, 13);
    String handle = "ext:lifecycle-san";
    String how = "attached by the controller without the engine";
    try (Tgtd array = Tgtd.start(SAN_PORT, SAN_CONTROL_INDEX, san)) {
      array.addTarget(1, SAN_IQN, lun, nodeId, "sanuser", password);
      Path env = Files.createTempFile("san", ".env",
          java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
              java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
      try {
        Files.writeString(env, "username=sanuser\npassword=" + password + "\n");
        cluster.k("create", "secret", "generic", "san-chap", "-n", NS, "--from-env-file=" + env);
      } finally {
        Files.delete(env);
      }
      cluster.apply("""
          apiVersion: v1
          kind: PersistentVolume
          metadata: {name: lifecycle-san}
          spec:
            capacity: {storage: 64Mi}
            accessModes: [ReadWriteOnce]
            persistentVolumeReclaimPolicy: Retain
            storageClassName: ""
            claimRef: {namespace: lifecycle, name: san}
            csi:
              driver: %s
              volumeHandle: %s
              fsType: ext4
              volumeAttributes:
                portals: "%s:%d"
                targetIqn: %s
                lun: "1"
                discovery: none
              nodeStageSecretRef: {name: san-chap, namespace: lifecycle}
          """.formatted(TestCluster.DRIVER, handle, QemuVm.HOST_ADDRESS, SAN_PORT, SAN_IQN));
      cluster.apply(pvc("san", "\"\"", "64Mi", "Filesystem", "  volumeName: lifecycle-san"));
      awaitPhase("pvc", "san", "Bound");
      cluster.apply(pod("san-user", "san", true));
      String va = await("VolumeAttachment of lifecycle-san attached", () -> {
        String line = attachment("lifecycle-san");
        return line.endsWith(" true") ? line.split(" ")[0] : null;
      });
      assertThat(cluster.k("get", "volumeattachment", va, "-o",
          "jsonpath={.status.attachmentMetadata.targetIqn}")).isEqualTo(SAN_IQN);
      int engineTargets = engine().targets().size();
      volumesInUse(inUseName(handle));
      if (kubelet != null) {
        VmKubelet.Mounted m = kubelet.mount(cluster, NS, "san-user");
        assertThat(nexuses(array.show())).as("the array's sessions").contains(nodeId);
        String dir = m.target();
        kubelet.shell("printf '%s' > %s/marker && sync".formatted(SAN_MARKER, dir));
        assertThat(kubelet.shell("cat " + dir + "/marker")).isEqualTo(SAN_MARKER);
        assertThat(kubelet.console()).doesNotContain(password);
        kubelet.unmount(m);
        assertThat(nexuses(array.show())).as("no session left on the array")
            .doesNotContain(nodeId);
        assertThat(new String(Files.readAllBytes(lun), StandardCharsets.ISO_8859_1))
            .as("the array's LUN file").contains(SAN_MARKER);
        how += "; CHAP login to the array from the VM, ext4 made on the blank LUN, marker "
            + "written and found in the array's backing file; logged out";
      }
      cluster.k("delete", "pod", "san-user", "-n", NS, "--grace-period=0", "--force",
          "--wait=true");
      volumesInUse();
      await("VolumeAttachment " + va + " deleted", () ->
          attachment("lifecycle-san").isEmpty() ? "gone" : null);
      cluster.k("delete", "pvc", "san", "-n", NS, "--wait=true");
      cluster.k("delete", "pv", "lifecycle-san", "--wait=true");
      cluster.k("delete", "secret", "san-chap", "-n", NS);
      assertThat(engine().targets()).as("the engine's targets, untouched by the static PV")
          .hasSize(engineTargets);
    }
    assertThat(Files.readString(cluster.run().resolve("logs/controller.log")))
        .doesNotContain(password);
    step("existing SAN", "static PV " + handle + " on tgtd (" + SAN_IQN + "): " + how,
        since(t0));
  }

  @Test
  @Order(10)
  void retainKeepsTheLun() throws Exception {
    long t0 = System.nanoTime();
    cluster.apply(pvc("kept", "lc-retain", "1Gi", "Filesystem", ""));
    awaitPhase("pvc", "kept", "Bound");
    String pv = get("pvc", "kept", "{.spec.volumeName}");
    String handle = cluster.k("get", "pv", pv, "-o", "jsonpath={.spec.csi.volumeHandle}");
    cluster.k("delete", "pvc", "kept", "-n", NS, "--wait=true");
    await("PV " + pv + " Released", () -> "Released".equals(cluster.k("get", "pv", pv, "-o",
        "jsonpath={.status.phase}")) ? "ok" : null);
    // a wrong DeleteVolume would come within seconds of the release: the target and its LUN
    // file stay, and the PV stays Released, through all of them
    org.awaitility.Awaitility.await("Retain keeps " + handle).during(RETAIN_WATCH)
        .atMost(RETAIN_WATCH.plusSeconds(30)).pollInterval(Duration.ofMillis(500))
        .untilAsserted(() -> {
          EngineView.Target t = engine().target(handle).orElseThrow(
              () -> new AssertionError("Retain lost the target of " + handle));
          assertThat(t.luns().getFirst().file()).exists();
          assertThat(cluster.k("get", "pv", pv, "-o", "jsonpath={.status.phase}"))
              .isEqualTo("Released");
        });
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
  @Order(11)
  void deletingEverythingLeavesNothing() throws Exception {
    long t0 = System.nanoTime();
    cluster.k("delete", "volumesnapshot", "snap", "-n", NS, "--wait=true", "--timeout=120s");
    cluster.k("delete", "pvc", "--all", "-n", NS, "--wait=true", "--timeout=120s");
    await("every PV gone", () -> cluster.k("get", "pv", "-o", "name").isEmpty() ? "ok" : null);
    await("every VolumeSnapshotContent gone", () ->
        cluster.k("get", "volumesnapshotcontents", "-o", "name").isEmpty() ? "ok" : null);
    // a LUN's file goes just after the state forgets it (crash ordering), so wait for both
    await("the engine empty", () -> {
      EngineView e = engine();
      assertThat(e.targets()).as("targets").isEmpty();
      assertThat(e.snapshots()).as("snapshots").isEmpty();
      assertThat(e.lunFiles()).as("LUN files").isEmpty();
      assertThat(e.snapshotFiles()).as("snapshot files").isEmpty();
      return e;
    });
    await("every IscsiVolume gone", () ->
        cluster.k("get", "iscsivolumes", "-o", "name").isEmpty() ? "ok" : null);
    assertThat(cluster.k("get", "secrets", "-n", TestCluster.NAMESPACE, "-l",
        "app.kubernetes.io/managed-by=" + TestCluster.DRIVER, "-o", "name"))
        .as("per-volume CHAP Secrets left").isEmpty();
    if (kubelet != null) {
      assertThat(kubelet.sessions()).as("iSCSI sessions left in the VM").isEmpty();
    }
    step("delete all", "no PV, no VolumeSnapshotContent, no IscsiVolume, no CHAP Secret; "
        + "engine: 0 targets, 0 grants, 0 snapshots, no LUN or snapshot file"
        + (kubelet != null ? "; no session in the VM" : ""), since(t0));
  }

  @Test
  @Order(12)
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
    String made = cluster.k("get", "statefulset,daemonset,serviceaccount,service,role,rolebinding,"
        + "networkpolicy", "-n", "iscsi-csi", "-l", sel, "-o", "name") + "\n" + cluster.k("get",
        "csidriver,storageclass,clusterrole,clusterrolebinding,volumesnapshotclass,"
            + "customresourcedefinition", "-l", sel, "-o", "name");
    assertThat(made).contains("statefulset.apps/", "daemonset.apps/",
        "csidriver.storage.k8s.io/iscsi.csi.iscsicsi.org", "storageclass.storage.k8s.io/",
        "networkpolicy.networking.k8s.io/iscsi-csi-controller",
        "customresourcedefinition.apiextensions.k8s.io/iscsivolumes.iscsi.csi.iscsicsi.org");
    long objects = made.lines().filter(l -> !l.isBlank()).count();
    step("helm install", "release deployed, " + objects + " objects accepted (workloads need a "
        + "kubelet to run: checked for acceptance only)", since(t0));

    long t1 = System.nanoTime();
    Helm.uninstall("iscsi-csi").withNamespace("iscsi-csi").withKubeConfig(cluster.kubeconfig())
        .call();
    // helm uninstall returns once it has asked for the deletions; a CRD lingers (Terminating)
    // until the apiserver has removed its custom resources, so wait as `helm uninstall --wait`
    // would, and name whatever is still there if it never goes.
    await("the release's objects to be deleted", () -> {
      String left = cluster.k("get", "statefulset,daemonset,serviceaccount,service,role,"
          + "rolebinding,configmap,secret,networkpolicy", "-n", "iscsi-csi", "-l", sel, "-o",
          "name")
          + cluster.k("get", "csidriver,storageclass,clusterrole,clusterrolebinding,"
              + "volumesnapshotclass,customresourcedefinition", "-l", sel, "-o", "name");
      assertThat(left).as("objects of the release left after helm uninstall").isBlank();
      return left;
    });
    step("helm uninstall", "no object of the release left", since(t1));
  }

  // ---- helpers

  /**
   * A class of this test, Immediate binding; like the chart's classes it names each volume's
   * generated CHAP Secret as node-stage secret, unless it turns CHAP off.
   */
  static String storageClass(String name, String reclaim, String params) {
    String stage = params.contains("chap: \"false\"") ? "" : """
          csi.storage.k8s.io/node-stage-secret-name: iscsi-csi-chap-${pv.name}
          csi.storage.k8s.io/node-stage-secret-namespace: %s
        """.formatted(TestCluster.NAMESPACE);
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
        %s""".formatted(name, TestCluster.DRIVER, reclaim, params, stage);
  }

  /**
   * The generated CHAP Secret of a volume: in the chart's namespace, named after the PV, labelled
   * with the volume id and the driver, owned by nothing, holding username (the volume id) and a
   * 16-character password under the node-stage keys. Returns its name.
   */
  static String generatedSecret(String pv, String handle) throws Exception {
    String name = "iscsi-csi-chap-" + pv;
    String meta = cluster.k("get", "secret", name, "-n", TestCluster.NAMESPACE, "-o",
        "jsonpath={.metadata.labels.csi\\.iscsicsi\\.org/volume-id} "
            + "{.metadata.labels.app\\.kubernetes\\.io/managed-by} "
            + "{.metadata.ownerReferences}");
    assertThat(meta.strip()).isEqualTo(handle + " " + TestCluster.DRIVER);
    assertThat(secretValue(name, "username")).isEqualTo(handle);
    assertThat(secretValue(name, "password")).matches("[A-Za-z0-9]{16}");
    return name;
  }

  static String secretValue(String secret, String key) throws Exception {
    String b64 = cluster.k("get", "secret", secret, "-n", TestCluster.NAMESPACE, "-o",
        "jsonpath={.data." + key + "}");
    return new String(java.util.Base64.getDecoder().decode(b64.strip()),
        StandardCharsets.UTF_8);
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

  /** A pod mounting {@code claim} at /data; bound to the node, or left to the scheduler. */
  static String pod(String name, String claim, boolean onNode) {
    return pod(name, claim, onNode, "volumeMounts: [{name: data, mountPath: /data}]");
  }

  /** A pod using {@code claim} as its container's {@code use} says (volumeMounts/Devices). */
  static String pod(String name, String claim, boolean onNode, String use) {
    return """
        apiVersion: v1
        kind: Pod
        metadata: {name: %s, namespace: lifecycle}
        spec:
          %s
          automountServiceAccountToken: false
          containers:
          - name: app
            image: registry.invalid/never-pulled:1
            %s
          volumes:
          - name: data
            persistentVolumeClaim: {claimName: %s}
        """.formatted(name, onNode ? "nodeName: " + node : "schedulerName: default-scheduler",
        use, claim);
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
    cluster.k("patch", "node", node, "--subresource=status", "--type=merge",
        "-p", "{\"status\":{\"volumesInUse\":[" + list + "]}}");
  }

  /** The attachment of a pod's volume and, with the VM, its mount. */
  record Attached(String attachment, VmKubelet.Mounted mounted) {}

  /** The "I_T nexus information" part of {@code tgtadm --op show}: the target's sessions. */
  static String nexuses(String show) {
    int from = show.indexOf("I_T nexus information:");
    int to = show.indexOf("LUN information:", from);
    return from < 0 || to < 0 ? "" : show.substring(from, to);
  }

  /**
   * Kubelet's part once a pod is on the node: report the volume in use (kubelet does before it
   * mounts), wait for the attach/detach controller's VolumeAttachment to be attached by the
   * attacher (the grant for the node's IQN), then stage and publish it in the VM.
   */
  static Attached attach(String pod, String pv, String handle) throws Exception {
    String va = await("VolumeAttachment of " + pv + " attached", () -> {
      String line = attachment(pv);
      return line.endsWith(" true") ? line.split(" ")[0] : null;
    });
    assertThat(cluster.k("get", "volumeattachment", va, "-o", "jsonpath={.spec.nodeName}"))
        .isEqualTo(node);
    assertThat(engine().target(handle).orElseThrow().initiators()).containsExactly(nodeId);
    volumesInUse(inUseName(handle));
    if (kubelet == null) {
      return new Attached(va, null);
    }
    VmKubelet.Mounted m = kubelet.mount(cluster, NS, pod);
    assertThat(kubelet.sessions()).contains(engine().target(handle).orElseThrow().name());
    return new Attached(va, m);
  }

  /**
   * Kubelet's part when the pod goes: unpublish and unstage in the VM, then drop the volume from
   * volumesInUse, upon which the attach/detach controller detaches; the grant must go.
   */
  static void detach(String pod, String pv, String handle, Attached a) throws Exception {
    cluster.k("delete", "pod", pod, "-n", NS, "--grace-period=0", "--force", "--wait=true");
    if (a.mounted() != null) {
      kubelet.unmount(a.mounted());
      assertThat(kubelet.sessions()).doesNotContain(
          engine().target(handle).orElseThrow().name());
    }
    volumesInUse();
    await("VolumeAttachment " + a.attachment() + " deleted", () ->
        attachment(pv).isEmpty() ? "gone" : null);
    assertThat(engine().target(handle).orElseThrow().initiators()).isEmpty();
    await("IscsiVolume " + handle + " without initiators or sessions", () ->
        isv(handle, "{.status.initiators[*]}/{.status.sessions}").equals("/0") ? "ok" : null);
  }

  /**
   * That a PVC made from data (restore, clone) carries data's bytes: with the VM, a pod mounts it
   * through the initiator and the file written into data reads back with the same md5; host-only,
   * the marker is in its LUN file.
   */
  static String carriesData(String pvc) throws Exception {
    String pv = get("pvc", pvc, "{.spec.volumeName}");
    String handle = cluster.k("get", "pv", pv, "-o", "jsonpath={.spec.csi.volumeHandle}");
    if (kubelet == null) {
      assertThat(readAt(lunOf(pvc), 4096, MARKER.length)).isEqualTo(MARKER);
      return "its LUN holds data's bytes";
    }
    String pod = "reader-" + pvc;
    cluster.apply(pod(pod, pvc, true));
    Attached a = attach(pod, pv, handle);
    String dir = a.mounted().target();
    String read = kubelet.shell("md5sum " + dir + "/data.bin | cut -d' ' -f1; cat " + dir
        + "/marker");
    detach(pod, pv, handle, a);
    assertThat(read.lines().toList()).containsExactly(dataSum,
        new String(MARKER, StandardCharsets.US_ASCII));
    return "mounted in the VM by pod " + pod + ": the file written into data through the "
        + "initiator reads back (md5 " + dataSum.substring(0, 8) + ")";
  }

  record Scheduled(String pv, String handle) {}

  /**
   * A PVC of a WaitForFirstConsumer class and a pod that uses it, left to kube-scheduler: the pod
   * lands on the node (topology from NodeGetInfo), then the PVC is provisioned for it.
   */
  static Scheduled scheduledOntoTheNode(String claim, String storageClass, String pod)
      throws Exception {
    cluster.apply(pvc(claim, storageClass, "1Gi", "Filesystem", ""));
    cluster.apply(pod(pod, claim, false));
    String scheduled = await("pod " + pod + " scheduled", () -> {
      String n = get("pod", pod, "{.spec.nodeName}");
      return n.isEmpty() ? null : n;
    });
    assertThat(scheduled).isEqualTo(node);
    awaitPhase("pvc", claim, "Bound");
    String pv = get("pvc", claim, "{.spec.volumeName}");
    String handle = cluster.k("get", "pv", pv, "-o", "jsonpath={.spec.csi.volumeHandle}");
    assertThat(get("pvc", claim, "{.metadata.annotations.volume\\.kubernetes\\.io/"
        + "selected-node}")).as("provisioned for the node the scheduler chose").isEqualTo(node);
    return new Scheduled(pv, handle);
  }

  /** kubelet's name of a CSI volume in the node's volumesInUse. */
  static String inUseName(String handle) {
    return "kubernetes.io/csi/" + TestCluster.DRIVER + "^" + handle;
  }

  /** kubectl get iscsivolume NAME -o jsonpath=... */
  static String isv(String name, String jsonPath) throws Exception {
    return cluster.k("get", "iscsivolume", name, "-o", "jsonpath=" + jsonPath);
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
    return await(cluster, what, probe);
  }

  /** {@link #await(String, Callable)} for the cluster of another test class. */
  static <T> T await(TestCluster cluster, String what, Callable<T> probe) {
    return ClusterWait.until(what, WAIT, Duration.ofMillis(500), probe, ClusterWait::never,
        () -> "logs in " + cluster.run().resolve("logs"));
  }

  static void writeAt(Path file, long offset, byte[] data) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.seek(offset);
      f.write(data);
      f.getFD().sync();
    }
  }

  static String md5(byte[] data) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(data));
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
}
