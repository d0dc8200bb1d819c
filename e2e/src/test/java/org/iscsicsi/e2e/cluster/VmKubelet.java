package org.iscsicsi.e2e.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import csi.v1.Csi;
import csi.v1.IdentityGrpc;
import csi.v1.NodeGrpc;
import io.fabric8.kubernetes.api.model.Quantity;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Base64;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.iscsicsi.node.vm.NodePluginGuest;
import org.iscsicsi.node.vm.QemuVm;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Plays kubelet's volume part for the cluster's one node, which is the real node plugin
 * ({@code node-plugin/bin/node-plugin serve}) in a qemu VM with Debian's kernel and open-iscsi
 * (node-plugin's VM tier, {@link QemuVm} and {@link NodePluginGuest} from its test jar), for
 * VolumeLifecycleTest, which looks between kubelet's steps (the real kubelet runs in {@link VmNode}
 * for {@link PodVolumeTest}). It makes the CSI calls kubelet makes, with what kubelet takes from
 * the API objects:
 *
 * <ul>
 *   <li>registration: NodeGetInfo's node id, topology and volume limit become the Node's labels
 *       and the CSINode (register-node.sh);
 *   <li>mount: the VolumeAttachment kubelet waits for is named as kubelet names it ({@code
 *       csi-<sha256(handle + driver + node)>}) and must be attached; NodeStageVolume gets the PV's
 *       volume handle, {@code volumeAttributes}, the attachment's {@code attachmentMetadata} as
 *       publish context, the node-stage Secret the PV names, and kubelet's staging path ({@code
 *       plugins/kubernetes.io/csi/<driver>/<sha256(handle)>/globalmount}); NodePublishVolume the
 *       same plus the pod's target path ({@code pods/<uid>/volumes/kubernetes.io~csi/<pv>/mount})
 *       and, as the CSIDriver asks with podInfoOnMount, the pod's name, namespace, uid and service
 *       account in the volume context. Access modes map as kubelet maps them (ReadWriteOnce is
 *       SINGLE_NODE_MULTI_WRITER when the plugin has that capability);
 *   <li>unmount: NodeUnpublishVolume, then NodeUnstageVolume.
 * </ul>
 *
 * <p>The controller's portal listens on the host's loopback; the guest reaches it as {@value
 * QemuVm#HOST_ADDRESS} through qemu's user networking, so the controller advertises that address.
 */
final class VmKubelet implements AutoCloseable {
  /** Host port forwarded to the guest's CSI port (in the run's port block). */
  static final int CSI_PORT = PortBlock.VM_CSI;
  static final String NODE = "vm-node-1";
  static final String INITIATOR = "iqn.2026-11.org.iscsicsi.e2e:vm-node-1";
  static final String ROOT = "/var/lib/kubelet";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Logger log = LoggerFactory.getLogger(VmKubelet.class);

  private final QemuVm vm;
  private final NodePluginGuest guest;
  private ManagedChannel channel;
  private NodeGrpc.NodeBlockingStub node;
  private Csi.NodeGetInfoResponse info;
  private final Set<Csi.NodeServiceCapability.RPC.Type> caps = new HashSet<>();

  /**
   * A volume this stand-in mounted for a pod, with the paths it used, and the size the filesystem
   * was grown to on this mount (0: no node expansion was pending).
   */
  record Mounted(String pod, String pv, String handle, String staging, String target,
      boolean staged, long expandedTo) {}

  private VmKubelet(QemuVm vm) {
    this.vm = vm;
    this.guest = new NodePluginGuest(vm);
  }

  /**
   * Why no VM can play the node here, or empty: qemu missing, node-plugin.jar not built, or
   * {@code -Discsi.cluster.vm=false}.
   */
  static Optional<String> unavailableReason(Path repo) {
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

  /** Boots the VM with the node plugin as node {@value #NODE}; returns at once. */
  static VmKubelet boot() throws IOException {
    return new VmKubelet(QemuVm.builder().initiatorName(INITIATOR)
        .timeout(Duration.ofMinutes(40)).hostForward(CSI_PORT, NodePluginGuest.CSI_PORT)
        .script(NodePluginGuest.script(NODE)).start());
  }

  /**
   * Waits for the plugin to serve, checks it is this driver, and asks it what kubelet's plugin
   * registration asks: NodeGetInfo and NodeGetCapabilities.
   */
  Csi.NodeGetInfoResponse awaitPlugin(Duration timeout) throws Exception {
    try {
      vm.awaitConsole(NodePluginGuest.LISTENING, timeout);
    } catch (TimeoutException e) {
      throw new IllegalStateException("the node plugin in the VM did not start: " + e.getMessage()
          + "\nconsole:\n" + vm.console(), e);
    }
    channel = Grpc.newChannelBuilder("127.0.0.1:" + CSI_PORT, InsecureChannelCredentials.create())
        .build();
    String name = IdentityGrpc.newBlockingStub(channel).withDeadlineAfter(2, TimeUnit.MINUTES)
        .getPluginInfo(Csi.GetPluginInfoRequest.getDefaultInstance()).getName();
    if (!name.equals(TestCluster.DRIVER)) {
      throw new IllegalStateException("the VM's plugin is " + name + ", not " + TestCluster.DRIVER);
    }
    node = NodeGrpc.newBlockingStub(channel);
    info = node.withDeadlineAfter(2, TimeUnit.MINUTES)
        .nodeGetInfo(Csi.NodeGetInfoRequest.getDefaultInstance());
    node.withDeadlineAfter(2, TimeUnit.MINUTES)
        .nodeGetCapabilities(Csi.NodeGetCapabilitiesRequest.getDefaultInstance())
        .getCapabilitiesList().forEach(c -> caps.add(c.getRpc().getType()));
    return info;
  }

  Csi.NodeGetInfoResponse info() {
    return info;
  }

  Duration elapsed() {
    return vm.elapsed();
  }

  String console() {
    return vm.console();
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

  /**
   * What kubelet does once the pod's volume is attached: stage (if the plugin stages) and publish
   * the pod's one PVC volume, with kubelet's paths for a filesystem volume (a directory the
   * plugin mounts on) or a block volume (pkg/volume/csi csi_block.go: a staging directory per PV
   * and a file per pod that the plugin bind-mounts the device on).
   */
  Mounted mount(TestCluster cluster, String namespace, String podName) throws Exception {
    JsonNode pod = json(cluster.k("get", "pod", podName, "-n", namespace, "-o", "json"));
    String uid = pod.at("/metadata/uid").asText();
    String nodeName = pod.at("/spec/nodeName").asText();
    if (!nodeName.equals(NODE)) {
      throw new AssertionError("pod " + podName + " is on node '" + nodeName + "', not " + NODE);
    }
    String claim = pod.at("/spec/volumes/0/persistentVolumeClaim/claimName").asText();
    String pvName = cluster.k("get", "pvc", claim, "-n", namespace, "-o",
        "jsonpath={.spec.volumeName}");
    JsonNode pv = json(cluster.k("get", "pv", pvName, "-o", "json"));
    boolean block = pv.at("/spec/volumeMode").asText("Filesystem").equals("Block");
    JsonNode csi = pv.at("/spec/csi");
    String driver = csi.path("driver").asText();
    String handle = csi.path("volumeHandle").asText();
    // kubelet waits for the attachment it names itself (pkg/volume/csi getAttachmentName)
    String attachment = "csi-" + sha256(handle + driver + NODE);
    JsonNode va = json(cluster.k("get", "volumeattachment", attachment, "-o", "json"));
    if (!va.at("/status/attached").asBoolean()) {
      throw new AssertionError("VolumeAttachment " + attachment + " is not attached: " + va);
    }
    Map<String, String> publishContext = strings(va.at("/status/attachmentMetadata"));
    Map<String, String> attributes = strings(csi.path("volumeAttributes"));
    Csi.VolumeCapability.Builder capBuilder = Csi.VolumeCapability.newBuilder()
        .setAccessMode(Csi.VolumeCapability.AccessMode.newBuilder()
            .setMode(accessMode(pv.at("/spec/accessModes/0").asText())));
    if (block) {
      capBuilder.setBlock(Csi.VolumeCapability.BlockVolume.getDefaultInstance());
    } else {
      capBuilder.setMount(Csi.VolumeCapability.MountVolume.newBuilder()
          .setFsType(csi.path("fsType").asText("ext4"))
          .addAllMountFlags(pv.at("/spec/mountOptions").valueStream().map(JsonNode::asText)
              .toList()));
    }
    Csi.VolumeCapability cap = capBuilder.build();
    String staging = block
        ? ROOT + "/plugins/kubernetes.io/csi/volumeDevices/staging/" + pvName
        : ROOT + "/plugins/kubernetes.io/csi/" + driver + "/" + sha256(handle) + "/globalmount";
    String target = block
        ? ROOT + "/plugins/kubernetes.io/csi/volumeDevices/publish/" + pvName + "/" + uid
        : ROOT + "/pods/" + uid + "/volumes/kubernetes.io~csi/" + pvName + "/mount";
    boolean stages = caps.contains(Csi.NodeServiceCapability.RPC.Type.STAGE_UNSTAGE_VOLUME);
    // kubelet creates the parents (and writes vol_data.json there), and for a block volume the
    // staging directory itself; the plugin the leaves
    shell("mkdir -p " + (block ? staging : parent(staging)) + " " + parent(target));
    if (stages) {
      node.withDeadlineAfter(3, TimeUnit.MINUTES).nodeStageVolume(
          Csi.NodeStageVolumeRequest.newBuilder().setVolumeId(handle)
              .putAllPublishContext(publishContext).setStagingTargetPath(staging)
              .setVolumeCapability(cap).putAllVolumeContext(attributes)
              .putAllSecrets(secret(cluster, csi.path("nodeStageSecretRef"))).build());
    }
    Map<String, String> context = new LinkedHashMap<>(attributes);
    JsonNode csiDriver = json(cluster.k("get", "csidriver", driver, "-o", "json"));
    if (csiDriver.at("/spec/podInfoOnMount").asBoolean()) {
      context.put("csi.storage.k8s.io/pod.name", podName);
      context.put("csi.storage.k8s.io/pod.namespace", namespace);
      context.put("csi.storage.k8s.io/pod.uid", uid);
      context.put("csi.storage.k8s.io/serviceAccount.name",
          pod.at("/spec/serviceAccountName").asText("default"));
      context.put("csi.storage.k8s.io/ephemeral", "false");
    }
    node.withDeadlineAfter(3, TimeUnit.MINUTES).nodePublishVolume(
        Csi.NodePublishVolumeRequest.newBuilder().setVolumeId(handle)
            .putAllPublishContext(publishContext).setStagingTargetPath(stages ? staging : "")
            .setTargetPath(target).setVolumeCapability(cap).setReadonly(false)
            .putAllVolumeContext(context)
            .putAllSecrets(secret(cluster, csi.path("nodePublishSecretRef"))).build());
    long expandedTo = expandIfPending(cluster, namespace, claim, pv, handle, staging, target,
        cap);
    return new Mounted(podName, pvName, handle, staging, target, stages, expandedTo);
  }

  /** Resize conditions kubelet drops from a PVC once the node finished expanding. */
  private static final Set<String> RESIZE_CONDITIONS = Set.of("Resizing",
      "FileSystemResizePending", "ControllerResizeError", "NodeResizeError");

  /**
   * Kubelet's expansion on mount: when the PVC waits for the node (FileSystemResizePending after
   * ControllerExpandVolume), NodeExpandVolume to the PV's capacity on the published volume, then
   * what kubelet writes back (pkg/volume/util MarkFSResizeFinished): the PVC's status capacity,
   * without the resize conditions and the allocated resource status. Returns the new size, or 0.
   */
  private long expandIfPending(TestCluster cluster, String namespace, String claim, JsonNode pv,
      String handle, String staging, String target, Csi.VolumeCapability cap) throws Exception {
    JsonNode pvc = json(cluster.k("get", "pvc", claim, "-n", namespace, "-o", "json"));
    boolean pending = pvc.at("/status/conditions").valueStream()
        .anyMatch(c -> c.path("type").asText().equals("FileSystemResizePending"));
    if (!pending || !caps.contains(Csi.NodeServiceCapability.RPC.Type.EXPAND_VOLUME)) {
      return 0;
    }
    String size = pv.at("/spec/capacity/storage").asText();
    long bytes = Quantity.getAmountInBytes(new Quantity(size)).longValueExact();
    long grown = node.withDeadlineAfter(3, TimeUnit.MINUTES).nodeExpandVolume(
        Csi.NodeExpandVolumeRequest.newBuilder().setVolumeId(handle).setVolumePath(target)
            .setStagingTargetPath(staging).setVolumeCapability(cap)
            .setCapacityRange(Csi.CapacityRange.newBuilder().setRequiredBytes(bytes)).build())
        .getCapacityBytes();
    var kept = JSON.createArrayNode();
    pvc.at("/status/conditions").valueStream()
        .filter(c -> !RESIZE_CONDITIONS.contains(c.path("type").asText())).forEach(kept::add);
    var status = JSON.createObjectNode();
    status.putObject("capacity").put("storage", size);
    status.set("conditions", kept);
    status.putObject("allocatedResourceStatuses").putNull("storage");
    var patch = JSON.createObjectNode();
    patch.set("status", status);
    cluster.k("patch", "pvc", claim, "-n", namespace, "--subresource=status", "--type=merge",
        "-p", JSON.writeValueAsString(patch));
    return grown == 0 ? bytes : grown;
  }

  /** What kubelet does when the pod is gone: unpublish, then unstage. */
  void unmount(Mounted m) {
    node.withDeadlineAfter(3, TimeUnit.MINUTES).nodeUnpublishVolume(
        Csi.NodeUnpublishVolumeRequest.newBuilder().setVolumeId(m.handle())
            .setTargetPath(m.target()).build());
    if (m.staged()) {
      node.withDeadlineAfter(3, TimeUnit.MINUTES).nodeUnstageVolume(
          Csi.NodeUnstageVolumeRequest.newBuilder().setVolumeId(m.handle())
              .setStagingTargetPath(m.staging()).build());
    }
  }

  /** The guest's iSCSI sessions ({@code iscsiadm -m session}), empty when none. */
  String sessions() throws IOException, InterruptedException {
    NodePluginGuest.Result r = guest.run("iscsiadm -m session", Duration.ofMinutes(2));
    return switch (r.exit()) {
      case 0 -> r.out().strip();
      case 21 -> ""; // ISCSI_ERR_NO_OBJS_FOUND: no active sessions
      default -> throw new AssertionError("iscsiadm -m session failed (exit " + r.exit() + "): "
          + r.out());
    };
  }

  /**
   * Kubelet's mapping of a Kubernetes access mode (pkg/volume/csi asCSIAccessModeV1), with the
   * single-node multi-writer capability of the plugin.
   */
  Csi.VolumeCapability.AccessMode.Mode accessMode(String k8sMode) {
    boolean multi = caps.contains(Csi.NodeServiceCapability.RPC.Type.SINGLE_NODE_MULTI_WRITER);
    return switch (k8sMode) {
      case "ReadWriteOnce" -> multi ? Csi.VolumeCapability.AccessMode.Mode.SINGLE_NODE_MULTI_WRITER
          : Csi.VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER;
      case "ReadOnlyMany" -> Csi.VolumeCapability.AccessMode.Mode.MULTI_NODE_READER_ONLY;
      case "ReadWriteMany" -> Csi.VolumeCapability.AccessMode.Mode.MULTI_NODE_MULTI_WRITER;
      case "ReadWriteOncePod" -> multi
          ? Csi.VolumeCapability.AccessMode.Mode.SINGLE_NODE_SINGLE_WRITER
          : Csi.VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER;
      default -> throw new IllegalArgumentException("unknown access mode " + k8sMode);
    };
  }

  /** The Secret a PV's {@code node*SecretRef} names, as kubelet reads it; empty without one. */
  private static Map<String, String> secret(TestCluster cluster, JsonNode ref) throws Exception {
    if (ref.isMissingNode() || ref.isNull()) {
      return Map.of();
    }
    JsonNode s = json(cluster.k("get", "secret", ref.path("name").asText(), "-n",
        ref.path("namespace").asText(), "-o", "json"));
    Map<String, String> out = new LinkedHashMap<>();
    s.path("data").properties().forEach(e -> out.put(e.getKey(),
        new String(Base64.getDecoder().decode(e.getValue().asText()), StandardCharsets.UTF_8)));
    return out;
  }

  private static Map<String, String> strings(JsonNode object) {
    Map<String, String> out = new LinkedHashMap<>();
    object.properties().forEach(e -> out.put(e.getKey(), e.getValue().asText()));
    return out;
  }

  private static JsonNode json(String text) throws IOException {
    return JSON.readTree(text);
  }

  private static String parent(String path) {
    return path.substring(0, path.lastIndexOf('/'));
  }

  static String sha256(String s) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
          .digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Stops the plugin and the VM (the guest loop powers it off; killed if it does not). */
  @Override
  public void close() throws Exception {
    try {
      if (channel != null) {
        channel.shutdownNow();
      }
      guest.stop();
      vm.awaitExit(Duration.ofMinutes(1));
    } catch (TimeoutException e) {
      log.warn("the VM did not power off within a minute; killing it", e);
    } finally {
      vm.close();
    }
  }
}
