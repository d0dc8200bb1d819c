package org.iscsicsi.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the chart promises an operator, read from the rendered objects: the CSIDriver's fields,
 * the controller with its embedded target and sidecars, how the portal address reaches the
 * target, the node DaemonSet's host access, least-privilege RBAC (Secrets only in the release
 * namespace), CHAP on every StorageClass (per-volume Secrets named as the controller names them,
 * or the chart's Secret) unless one turns it off, the thin pool's limits, the NetworkPolicy that
 * admits only the portal, probes and metrics, the snapshot switch and the helm test hook.
 */
class ChartContentTest {
  static final String DRIVER = "iscsi.csi.iscsicsi.org";
  final List<ObjectNode> objects = ChartRenderer.render("default");

  @Test
  void csiDriverIsAttachRequiredPersistentWithPodInfo() {
    JsonNode spec = K8sObjects.get(objects, "CSIDriver", DRIVER).path("spec");
    assertThat(spec.path("attachRequired").asBoolean()).isTrue();
    assertThat(spec.path("podInfoOnMount").asBoolean()).isTrue();
    assertThat(spec.path("fsGroupPolicy").asText()).isEqualTo("File");
    // Each volume is its own filesystem, so kubelet may mount it with the pod's SELinux label.
    assertThat(spec.path("seLinuxMount").asBoolean()).isTrue();
    assertThat(texts(spec.path("volumeLifecycleModes"))).containsExactly("Persistent");
  }

  @Test
  void controllerRunsTheTargetAndTheSidecarsPinnedInValues() throws Exception {
    JsonNode pod = controllerPod(objects);
    assertThat(names(pod.path("containers")))
        .containsExactly(
            "controller", "csi-provisioner", "csi-attacher", "csi-resizer", "csi-snapshotter",
            "liveness-probe");
    JsonNode values = K8sObjects.YAML.readTree(Repo.chart().resolve("values.yaml").toFile());
    JsonNode sidecars = values.path("sidecars");
    assertThat(container(pod, "csi-provisioner").path("image").asText())
        .isEqualTo(sidecars.path("provisioner").path("image").asText())
        .startsWith("registry.k8s.io/sig-storage/csi-provisioner:v");
    assertThat(container(pod, "csi-attacher").path("image").asText())
        .isEqualTo(sidecars.path("attacher").path("image").asText());
    assertThat(container(pod, "csi-resizer").path("image").asText())
        .isEqualTo(sidecars.path("resizer").path("image").asText());
    assertThat(container(pod, "csi-snapshotter").path("image").asText())
        .isEqualTo(sidecars.path("snapshotter").path("image").asText());
    assertThat(texts(container(pod, "csi-provisioner").path("args")))
        .contains("--extra-create-metadata")
        .doesNotContain("--feature-gates=Topology=true"); // GA: the flag only warns now
    assertThat(container(pod, "controller").path("image").asText())
        .isEqualTo("localhost/iscsi-csi/controller:0.1.0");
    assertThat(container(pod, "controller").at("/env").findValues("value").stream()
            .map(JsonNode::asText).toList())
        .contains("-Dcontroller.log=INFO");
    assertThat(texts(container(pod, "controller").path("args")))
        .startsWith("serve")
        .contains(
            "--endpoint=unix:///csi/csi.sock",
            "--state-dir=/var/lib/iscsi-csi",
            "--portal=0.0.0.0:3260",
            "--driver-name=" + DRIVER,
            "--metrics=0.0.0.0:9810",
            "--chap-secret-namespace=$(POD_NAMESPACE)",
            "--chap-secret-prefix=iscsi-csi-chap-",
            "--overcommit-ratio=1");
    assertThat(texts(container(pod, "controller").path("args")))
        .noneMatch(a -> a.startsWith("--max-volume-size"));
    List<ObjectNode> limited = K8sObjects.parse(ChartRenderer.template("default", Map.of(
        "controller.pool.overcommitRatio", 2, "controller.pool.maxVolumeSize", "500Gi")));
    assertThat(texts(container(controllerPod(limited), "controller").path("args")))
        .contains("--overcommit-ratio=2", "--max-volume-size=500Gi");
  }

  @Test
  void everyContainerHasResourcesAndAHardenedSecurityContext() {
    for (JsonNode c : controllerPod(objects).path("containers")) {
      assertThat(c.at("/resources/requests/memory").isMissingNode()).as(c.path("name").asText())
          .isFalse();
      assertThat(c.at("/resources/limits/memory").isMissingNode()).isFalse();
      assertThat(c.at("/securityContext/readOnlyRootFilesystem").asBoolean()).isTrue();
      assertThat(c.at("/securityContext/allowPrivilegeEscalation").asBoolean(true)).isFalse();
      assertThat(texts(c.at("/securityContext/capabilities/drop"))).containsExactly("ALL");
    }
    JsonNode podSecurity = controllerPod(objects).path("securityContext");
    assertThat(podSecurity.path("runAsNonRoot").asBoolean()).isTrue();
    assertThat(podSecurity.path("runAsUser").asInt()).isPositive();
  }

  @Test
  void serviceModeAdvertisesThePortalServiceClusterIp() {
    JsonNode service = K8sObjects.get(objects, "Service", "iscsi-csi-portal");
    assertThat(service.at("/spec/clusterIP").isMissingNode()).isTrue();
    assertThat(service.at("/spec/ports/0/port").asInt()).isEqualTo(3260);
    // kubelet's service links: <NAME>_SERVICE_HOST, upper case, dashes to underscores.
    String hostVar = "ISCSI_CSI_PORTAL_SERVICE_HOST";
    assertThat(K8sObjects.name(service).toUpperCase().replace('-', '_') + "_SERVICE_HOST")
        .isEqualTo(hostVar);
    JsonNode pod = controllerPod(objects);
    assertThat(texts(container(pod, "controller").path("args")))
        .contains("--advertise=$(" + hostVar + "):3260");
    assertThat(pod.path("enableServiceLinks").asBoolean(true)).isTrue();
    assertThat(pod.path("hostNetwork").asBoolean()).isFalse();
    // The Service selects the controller pod.
    JsonNode podLabels = statefulSet(objects).at("/spec/template/metadata/labels");
    service.at("/spec/selector").properties()
        .forEach(e -> assertThat(podLabels.path(e.getKey())).isEqualTo(e.getValue()));
  }

  @Test
  void hostNetworkModeAdvertisesTheNodeIp() {
    List<ObjectNode> rendered = ChartRenderer.render("hostnetwork-portal");
    JsonNode pod = controllerPod(rendered);
    assertThat(pod.path("hostNetwork").asBoolean()).isTrue();
    assertThat(texts(container(pod, "controller").path("args")))
        .contains("--advertise=$(HOST_IP):3260", "--portal=$(HOST_IP):3260");
    assertThat(K8sObjects.get(rendered, "Service", "iscsi-csi-portal").at("/spec/clusterIP")
            .asText())
        .isEqualTo("None");
    assertThat(texts(container(pod, "liveness-probe").path("args")))
        .contains("--health-port=29808");
    assertThat(container(pod, "controller").at("/ports").findValuesAsText("containerPort"))
        .contains("29808");
    // rbac.extraControllerRules: a ClusterRole of the controller's own, bound to its account.
    JsonNode role = K8sObjects.get(rendered, "ClusterRole", "iscsi-csi-controller");
    assertThat(texts(role.at("/rules/0/resources"))).contains("iscsivolumes");
    assertThat(K8sObjects.get(rendered, "ClusterRoleBinding", "iscsi-csi-controller")
        .at("/subjects/0/name").asText()).isEqualTo("iscsi-csi-controller");
    assertThat(K8sObjects.find(objects, "ClusterRole", "iscsi-csi-controller")).isEmpty();
  }

  @Test
  void lunStoreIsAPvcByDefaultAndAHostPathOnRequest() {
    JsonNode claim = statefulSet(objects).at("/spec/volumeClaimTemplates/0");
    assertThat(claim.at("/metadata/name").asText()).isEqualTo("state");
    assertThat(claim.at("/spec/resources/requests/storage").asText()).isEqualTo("100Gi");
    assertThat(statefulSet(objects).at("/spec/persistentVolumeClaimRetentionPolicy/whenDeleted")
            .asText()).isEqualTo("Retain");

    List<ObjectNode> hostPath = ChartRenderer.render("hostpath-storage");
    JsonNode pod = controllerPod(hostPath);
    assertThat(statefulSet(hostPath).at("/spec/volumeClaimTemplates").isMissingNode()).isTrue();
    assertThat(volume(pod, "state").at("/hostPath/path").asText()).isEqualTo("/srv/iscsi-csi");
    assertThat(pod.at("/nodeSelector/kubernetes.io~1hostname").asText()).isEqualTo("storage-1");
    assertThat(texts(pod.at("/initContainers/0/command")))
        .containsExactly("chown", "10001:10001", "/var/lib/iscsi-csi");
  }

  @Test
  void nodePluginSharesTheHostsIscsidAndKubeletMounts() {
    JsonNode pod = K8sObjects.get(objects, "DaemonSet", "iscsi-csi-node")
        .at("/spec/template/spec");
    assertThat(pod.path("hostNetwork").asBoolean()).isTrue();
    assertThat(pod.path("hostPID").asBoolean(false)).isFalse();
    assertThat(pod.path("priorityClassName").asText()).isEqualTo("system-node-critical");
    assertThat(pod.at("/tolerations/0/operator").asText()).isEqualTo("Exists");
    JsonNode plugin = container(pod, "node-plugin");
    assertThat(plugin.at("/securityContext/privileged").asBoolean()).isTrue();
    assertThat(texts(plugin.path("args")))
        .containsExactly("serve", "--endpoint=unix:///csi/csi.sock", "--node-name=$(NODE_NAME)",
            "--driver-name=" + DRIVER, "--state-dir=/var/lib/kubelet/plugins/" + DRIVER + "/state",
            "--kubelet-dir=/var/lib/kubelet", "--max-volumes=128");
    assertThat(plugin.at("/env").findValuesAsText("name")).contains("NODE_PLUGIN_LOG_LEVEL");
    Map<String, String> mounts = new java.util.HashMap<>();
    for (JsonNode m : plugin.path("volumeMounts")) {
      mounts.put(m.path("mountPath").asText(), m.path("mountPropagation").asText("")
          + (m.path("readOnly").asBoolean() ? "ro" : ""));
    }
    assertThat(mounts)
        .containsEntry("/var/lib/kubelet", "Bidirectional")
        .containsEntry("/lib/modules", "ro")
        .containsKeys("/dev", "/sys", "/etc/iscsi", "/var/lib/iscsi", "/run/lock/iscsi", "/csi");
    String pluginDir = "/var/lib/kubelet/plugins/" + DRIVER;
    assertThat(volume(pod, "socket-dir").at("/hostPath/path").asText()).isEqualTo(pluginDir);
    assertThat(texts(container(pod, "node-driver-registrar").path("args")))
        .contains("--kubelet-registration-path=" + pluginDir + "/csi.sock");
    assertThat(volume(pod, "registration-dir").at("/hostPath/path").asText())
        .isEqualTo("/var/lib/kubelet/plugins_registry");
  }

  /**
   * Replicated volumes stage as dm-multipath maps: the node plugin gets the host's multipath
   * directory (the wwids file its {@code multipath -a} writes, the conf.d drop-ins its preflight
   * reads) by default, the host's multipath.conf read-only only when a value names it (Debian's
   * package ships none, and a hostPath of type File would keep the pod from starting), and
   * neither with multipath switched off.
   */
  @Test
  void nodePluginSharesTheHostsMultipathDirectory() {
    JsonNode pod = K8sObjects.get(objects, "DaemonSet", "iscsi-csi-node").at("/spec/template/spec");
    assertThat(volume(pod, "etc-multipath").at("/hostPath/path").asText())
        .isEqualTo("/etc/multipath");
    assertThat(volume(pod, "etc-multipath").at("/hostPath/type").asText())
        .isEqualTo("DirectoryOrCreate");
    assertThat(pod.path("volumes").findValuesAsText("name")).doesNotContain("multipath-conf");
    assertThat(container(pod, "node-plugin").path("volumeMounts").findValuesAsText("mountPath"))
        .contains("/etc/multipath").doesNotContain("/etc/multipath.conf");

    JsonNode withConf = K8sObjects.get(ChartRenderer.render("multipath-preflight"), "DaemonSet",
        "iscsi-csi-node").at("/spec/template/spec");
    assertThat(volume(withConf, "multipath-conf").at("/hostPath/type").asText()).isEqualTo("File");
    JsonNode confMount = named(container(withConf, "node-plugin").path("volumeMounts"),
        "multipath-conf");
    assertThat(confMount.path("mountPath").asText()).isEqualTo("/etc/multipath.conf");
    assertThat(confMount.path("readOnly").asBoolean()).isTrue();

    JsonNode off = K8sObjects.get(K8sObjects.parse(ChartRenderer.template("default",
        Map.of("node.multipath.enabled", false))), "DaemonSet", "iscsi-csi-node")
        .at("/spec/template/spec");
    assertThat(off.path("volumes").findValuesAsText("name")).doesNotContain("etc-multipath");
  }

  @Test
  void kubeletDirFollowsValues() {
    JsonNode pod = K8sObjects.get(ChartRenderer.render("microk8s"), "DaemonSet", "iscsi-csi-node")
        .at("/spec/template/spec");
    String kubelet = "/var/snap/microk8s/common/var/lib/kubelet";
    assertThat(volume(pod, "kubelet-dir").at("/hostPath/path").asText()).isEqualTo(kubelet);
    assertThat(texts(container(pod, "node-driver-registrar").path("args")))
        .contains("--kubelet-registration-path=" + kubelet + "/plugins/" + DRIVER + "/csi.sock");
    assertThat(texts(container(pod, "node-plugin").path("args")))
        .contains("--state-dir=" + kubelet + "/plugins/" + DRIVER + "/state",
            "--kubelet-dir=" + kubelet);
  }

  @Test
  void rbacIsLeastPrivilege() {
    List<ObjectNode> rbac = new ArrayList<>();
    rbac.addAll(K8sObjects.ofKind(objects, "ClusterRole"));
    rbac.addAll(K8sObjects.ofKind(objects, "Role"));
    for (JsonNode role : rbac) {
      for (JsonNode rule : role.path("rules")) {
        assertThat(texts(rule.path("verbs"))).as(K8sObjects.name(role)).doesNotContain("*");
        assertThat(texts(rule.path("resources"))).doesNotContain("*");
        assertThat(texts(rule.path("apiGroups"))).doesNotContain("*");
        if (texts(rule.path("resources")).contains("secrets")) {
          assertThat(K8sObjects.kind(role)).as("secrets only through a namespaced Role")
              .isEqualTo("Role");
          assertThat(role.at("/metadata/namespace").asText()).isEqualTo("iscsi-csi");
          // the per-volume CHAP Secrets: made, read back and deleted; never listed or watched
          assertThat(texts(rule.path("verbs"))).containsExactly("create", "get", "delete");
        }
      }
    }
    for (String kind : List.of("ClusterRoleBinding", "RoleBinding")) {
      for (JsonNode binding : K8sObjects.ofKind(objects, kind)) {
        assertThat(binding.at("/subjects/0/name").asText()).isEqualTo("iscsi-csi-controller");
        assertThat(K8sObjects.find(objects, binding.at("/roleRef/kind").asText(),
            binding.at("/roleRef/name").asText())).as("bound role exists").isPresent();
      }
    }
    JsonNode nodeSa = K8sObjects.get(objects, "ServiceAccount", "iscsi-csi-node");
    assertThat(nodeSa.path("automountServiceAccountToken").asBoolean(true)).isFalse();
  }

  @Test
  void everyStorageClassRequiresChapUnlessItSaysOtherwise() {
    List<ObjectNode> classes = K8sObjects.ofKind(objects, "StorageClass");
    assertThat(classes).extracting(K8sObjects::name)
        .containsExactly("iscsi-csi", "iscsi-csi-xfs", "iscsi-csi-block", "iscsi-csi-chap");
    for (JsonNode sc : classes) {
      assertThat(sc.path("provisioner").asText()).isEqualTo(DRIVER);
      assertThat(sc.path("allowVolumeExpansion").asBoolean()).isTrue();
      assertThat(sc.path("volumeBindingMode").asText()).isEqualTo("WaitForFirstConsumer");
    }
    assertThat(K8sObjects.get(objects, "StorageClass", "iscsi-csi").at("/parameters/fsType")
        .asText()).isEqualTo("ext4");
    assertThat(K8sObjects.get(objects, "StorageClass", "iscsi-csi-xfs").at("/parameters/fsType")
        .asText()).isEqualTo("xfs");
    // generated credentials: the node-stage Secret is the one the controller names
    // (--chap-secret-prefix + the CSI volume name, which the provisioner makes the PV name)
    String prefix = texts(container(controllerPod(objects), "controller").path("args")).stream()
        .filter(a -> a.startsWith("--chap-secret-prefix=")).findFirst().orElseThrow()
        .substring("--chap-secret-prefix=".length());
    for (String name : List.of("iscsi-csi", "iscsi-csi-xfs", "iscsi-csi-block")) {
      JsonNode p = K8sObjects.get(objects, "StorageClass", name).path("parameters");
      assertThat(p.has("chap")).as(name + ": CHAP is the default").isFalse();
      assertThat(p.path("csi.storage.k8s.io/node-stage-secret-name").asText())
          .isEqualTo(prefix + "${pv.name}");
      assertThat(p.path("csi.storage.k8s.io/node-stage-secret-namespace").asText())
          .isEqualTo("iscsi-csi");
      assertThat(p.has("csi.storage.k8s.io/controller-publish-secret-name")).isFalse();
      assertThat(p.has("csi.storage.k8s.io/provisioner-secret-name")).isFalse();
    }
    // the chart's Secret: at CreateVolume (no per-volume Secret then), publish and stage
    JsonNode chap = K8sObjects.get(objects, "StorageClass", "iscsi-csi-chap").path("parameters");
    assertThat(chap.path("chap").asText()).isEqualTo("true");
    for (String stage : List.of("provisioner", "controller-publish", "node-stage")) {
      assertThat(chap.path("csi.storage.k8s.io/" + stage + "-secret-name").asText())
          .isEqualTo("iscsi-csi-chap");
      assertThat(chap.path("csi.storage.k8s.io/" + stage + "-secret-namespace").asText())
          .isEqualTo("iscsi-csi");
    }
    assertThat(K8sObjects.ofKind(objects, "Secret")).as("no Secret unless chap.create").isEmpty();

    // an explicit opt-out names no Secret; mutual CHAP keeps the per-volume Secret
    List<ObjectNode> optOut = ChartRenderer.render("chap-opt-out");
    JsonNode off = K8sObjects.get(optOut, "StorageClass", "iscsi-csi-open").path("parameters");
    assertThat(off.path("chap").asText()).isEqualTo("false");
    assertThat(off.has("csi.storage.k8s.io/node-stage-secret-name")).isFalse();
    JsonNode mutual = K8sObjects.get(optOut, "StorageClass", "iscsi-csi-mutual")
        .path("parameters");
    assertThat(mutual.path("mutualChap").asText()).isEqualTo("true");
    assertThat(mutual.path("csi.storage.k8s.io/node-stage-secret-name").asText())
        .isEqualTo(prefix + "${pv.name}");
  }

  @Test
  void networkPolicyAdmitsOnlyThePortalProbesAndMetrics() {
    JsonNode policy = K8sObjects.get(objects, "NetworkPolicy", "iscsi-csi-controller");
    JsonNode podLabels = statefulSet(objects).at("/spec/template/metadata/labels");
    policy.at("/spec/podSelector/matchLabels").properties()
        .forEach(e -> assertThat(podLabels.path(e.getKey())).isEqualTo(e.getValue()));
    assertThat(texts(policy.at("/spec/policyTypes"))).containsExactly("Ingress");
    JsonNode rules = policy.at("/spec/ingress");
    assertThat(rules).hasSize(2);
    assertThat(rules.get(0).path("ports").findValuesAsText("port"))
        .containsExactly("3260", "9808");
    assertThat(rules.get(0).path("from").findValuesAsText("cidr"))
        .containsExactly("0.0.0.0/0", "::/0");
    assertThat(rules.get(0).path("from").findValues("except")).isEmpty();
    assertThat(rules.get(1).path("ports").findValuesAsText("port")).containsExactly("9810");
    assertThat(texts(rules.get(1).at("/from/0/namespaceSelector/matchExpressions/0/values")))
        .containsExactly("monitoring");
    // every port the controller pod listens on is one of these
    assertThat(controllerPod(objects).path("containers").findValuesAsText("containerPort"))
        .containsExactlyInAnyOrder("3260", "9810", "9808");
    assertThat(OpenApiValidator.load().validate((ObjectNode) policy)).isEmpty();

    List<ObjectNode> narrowed = K8sObjects.parse(ChartRenderer.template("default", Map.of(
        "networkPolicy.podCIDRs[0]", "10.244.0.0/16", "networkPolicy.podCIDRs[1]", "fd00:10::/56",
        "networkPolicy.metricsNamespaces[0]", "observability")));
    JsonNode from = K8sObjects.get(narrowed, "NetworkPolicy", "iscsi-csi-controller")
        .at("/spec/ingress/0/from");
    assertThat(texts(from.at("/0/ipBlock/except"))).containsExactly("10.244.0.0/16");
    assertThat(texts(from.at("/1/ipBlock/except"))).containsExactly("fd00:10::/56");
    assertThat(K8sObjects.find(K8sObjects.parse(ChartRenderer.template("default", Map.of(
        "networkPolicy.enabled", false))), "NetworkPolicy", "iscsi-csi-controller")).isEmpty();
  }

  @Test
  void chapSecretCarriesOpenIscsiKeys() {
    JsonNode secret =
        K8sObjects.get(ChartRenderer.render("chap-secret"), "Secret", "iscsi-csi-chap");
    assertThat(names(secret.path("stringData")))
        .containsExactly("username", "password", "username_in", "password_in");
  }

  @Test
  void snapshotsCanBeSwitchedOff() {
    JsonNode vsc = K8sObjects.get(objects, "VolumeSnapshotClass", "iscsi-csi-snapshot");
    assertThat(vsc.path("driver").asText()).isEqualTo(DRIVER);
    List<ObjectNode> off = ChartRenderer.render("no-snapshots");
    assertThat(K8sObjects.ofKind(off, "VolumeSnapshotClass")).isEmpty();
    assertThat(names(controllerPod(off).path("containers"))).doesNotContain("csi-snapshotter");
    assertThat(K8sObjects.find(off, "ClusterRole", "iscsi-csi-snapshotter")).isEmpty();
  }

  /** Group snapshots are opt-in: the gate on csi-snapshotter, its RBAC and the class. */
  @Test
  void groupSnapshotsAreOptIn() {
    assertThat(K8sObjects.ofKind(objects, "VolumeGroupSnapshotClass")).isEmpty();
    assertThat(texts(container(controllerPod(objects), "csi-snapshotter").path("args")))
        .noneMatch(a -> a.contains("CSIVolumeGroupSnapshot"));
    List<ObjectNode> on = ChartRenderer.render("group-snapshots");
    JsonNode vgsc = K8sObjects.get(on, "VolumeGroupSnapshotClass", "iscsi-csi-group-snapshot");
    assertThat(vgsc.path("apiVersion").asText()).isEqualTo("groupsnapshot.storage.k8s.io/v1");
    assertThat(vgsc.path("driver").asText()).isEqualTo(DRIVER);
    assertThat(vgsc.path("deletionPolicy").asText()).isEqualTo("Delete");
    assertThat(texts(container(controllerPod(on), "csi-snapshotter").path("args")))
        .contains("--feature-gates=CSIVolumeGroupSnapshot=true");
    JsonNode role = K8sObjects.get(on, "ClusterRole", "iscsi-csi-snapshotter");
    List<String> resources = new java.util.ArrayList<>();
    role.path("rules").forEach(r -> resources.addAll(texts(r.path("resources"))));
    assertThat(resources).contains("volumegroupsnapshotclasses", "volumegroupsnapshotcontents",
        "volumegroupsnapshotcontents/status");
  }

  /**
   * Node limits: --max-volumes from node.maxVolumes; the CSIDriver's allocatable refresh period
   * only when set. The health monitor is opt-in, with its image from values and its RBAC.
   */
  @Test
  void nodeLimitsAndTheHealthMonitorFollowValues() {
    JsonNode node = K8sObjects.get(objects, "DaemonSet", "iscsi-csi-node")
        .at("/spec/template/spec");
    assertThat(texts(container(node, "node-plugin").path("args"))).contains("--max-volumes=128");
    assertThat(K8sObjects.get(objects, "CSIDriver", DRIVER).path("spec")
        .has("nodeAllocatableUpdatePeriodSeconds")).isFalse();
    assertThat(names(controllerPod(objects).path("containers")))
        .doesNotContain("csi-external-health-monitor-controller");
    assertThat(K8sObjects.find(objects, "ClusterRole", "iscsi-csi-health-monitor")).isEmpty();

    List<ObjectNode> on = K8sObjects.parse(ChartRenderer.template("default", Map.of(
        "node.maxVolumes", 40, "csiDriver.nodeAllocatableUpdatePeriodSeconds", 300,
        "sidecars.healthMonitor.enabled", true)));
    JsonNode onNode = K8sObjects.get(on, "DaemonSet", "iscsi-csi-node").at("/spec/template/spec");
    assertThat(texts(container(onNode, "node-plugin").path("args"))).contains("--max-volumes=40");
    assertThat(K8sObjects.get(on, "CSIDriver", DRIVER)
        .at("/spec/nodeAllocatableUpdatePeriodSeconds").asInt()).isEqualTo(300);
    JsonNode monitor = container(controllerPod(on), "csi-external-health-monitor-controller");
    assertThat(monitor.path("image").asText())
        .startsWith("registry.k8s.io/sig-storage/csi-external-health-monitor-controller:v");
    assertThat(texts(monitor.path("args"))).contains("--csi-address=/csi/csi.sock",
        "--monitor-interval=1m", "--enable-node-watcher=false");
    JsonNode role = K8sObjects.get(on, "ClusterRole", "iscsi-csi-health-monitor");
    List<String> resources = new ArrayList<>();
    role.path("rules").forEach(r -> resources.addAll(texts(r.path("resources"))));
    assertThat(resources).contains("persistentvolumeclaims", "events");
    assertThat(K8sObjects.find(on, "ClusterRoleBinding", "iscsi-csi-health-monitor")).isPresent();
  }

  @Test
  void serviceMonitorSelectsTheMetricsService() {
    List<ObjectNode> rendered = ChartRenderer.render("monitoring");
    JsonNode monitor = K8sObjects.get(rendered, "ServiceMonitor", "iscsi-csi-controller");
    JsonNode service = K8sObjects.get(rendered, "Service", "iscsi-csi-controller-metrics");
    monitor.at("/spec/selector/matchLabels").properties()
        .forEach(e -> assertThat(service.at("/metadata/labels").path(e.getKey()))
            .isEqualTo(e.getValue()));
    assertThat(monitor.at("/metadata/labels/release").asText()).isEqualTo("kube-prometheus-stack");
    assertThat(K8sObjects.ofKind(objects, "ServiceMonitor")).isEmpty();
  }

  @Test
  void helmTestWritesAndReadsThroughAPvc(@TempDir Path scratch) throws Exception {
    List<ObjectNode> hooks = ChartRenderer.renderTestHooks(scratch);
    assertThat(hooks).extracting(K8sObjects::kind).containsExactly("Pod");
    JsonNode pod = K8sObjects.get(hooks, "Pod", "iscsi-csi-test-write-read");
    assertThat(pod.at("/metadata/annotations/iscsi-csi~1hook-was").asText()).isEqualTo("test");
    assertThat(OpenApiValidator.load().validate(pod)).isEmpty();
    JsonNode claim = volume(pod.path("spec"), "data").at("/ephemeral/volumeClaimTemplate/spec");
    assertThat(claim.path("storageClassName").asText()).isEqualTo("iscsi-csi");
    String script = pod.at("/spec/containers/0/command/2").asText();
    assertThat(script).contains("/data/probe").contains("sync").contains("cmp");
  }

  @Test
  void iscsiVolumeCrdIsTheControllersWithRbacAndFlags() throws Exception {
    assertCrdIsTheControllers(objects, "iscsivolumes");
    JsonNode role = K8sObjects.get(objects, "ClusterRole", "iscsi-csi-iscsivolumes");
    assertThat(role.path("rules")).hasSize(1);
    assertThat(texts(role.at("/rules/0/resources"))).containsExactly("iscsivolumes");
    assertThat(texts(role.at("/rules/0/apiGroups"))).containsExactly("iscsi.csi.iscsicsi.org");
    JsonNode binding = K8sObjects.get(objects, "ClusterRoleBinding", "iscsi-csi-iscsivolumes");
    assertThat(binding.at("/subjects/0/name").asText()).isEqualTo("iscsi-csi-controller");
    assertThat(texts(container(controllerPod(objects), "controller").path("args")))
        .contains("--sync-crd", "--sync-interval=30", "--leader-election",
            "--leader-election-namespace=$(POD_NAMESPACE)");

    List<ObjectNode> off = K8sObjects.parse(ChartRenderer.template("default", Map.of(
        "controller.iscsiVolumes.enabled", false, "controller.leaderElection", false)));
    assertThat(K8sObjects.ofKind(off, "CustomResourceDefinition")).isEmpty();
    assertThat(K8sObjects.find(off, "ClusterRole", "iscsi-csi-iscsivolumes")).isEmpty();
    assertThat(texts(container(controllerPod(off), "controller").path("args")))
        .doesNotContain("--sync-crd", "--leader-election");
  }

  /**
   * The chart's CustomResourceDefinition {@code <plural>.iscsi.csi.iscsicsi.org} has the spec of
   * the controller's crd/{@code <plural>}.yaml; returns it.
   */
  static JsonNode assertCrdIsTheControllers(List<ObjectNode> objects, String plural)
      throws java.io.IOException {
    JsonNode crd = K8sObjects.get(objects, "CustomResourceDefinition",
        plural + ".iscsi.csi.iscsicsi.org");
    JsonNode own = K8sObjects.YAML.readTree(Repo.root()
        .resolve("controller/src/main/resources/crd/" + plural + ".yaml").toFile());
    assertThat(crd.path("spec")).as("the chart's CRD spec is the controller's").isEqualTo(
        own.path("spec"));
    return crd;
  }

  static JsonNode statefulSet(List<ObjectNode> objects) {
    return K8sObjects.get(objects, "StatefulSet", "iscsi-csi-controller");
  }

  static JsonNode controllerPod(List<ObjectNode> objects) {
    return statefulSet(objects).at("/spec/template/spec");
  }

  static JsonNode container(JsonNode podSpec, String name) {
    return named(podSpec.path("containers"), name);
  }

  static JsonNode volume(JsonNode podSpec, String name) {
    return named(podSpec.path("volumes"), name);
  }

  static JsonNode named(JsonNode list, String name) {
    for (JsonNode n : list) {
      if (n.path("name").asText().equals(name)) {
        return n;
      }
    }
    throw new AssertionError("no " + name + " in " + list);
  }

  static List<String> texts(JsonNode array) {
    return StreamSupport.stream(array.spliterator(), false).map(JsonNode::asText).toList();
  }

  static List<String> names(JsonNode node) {
    if (node.isArray()) {
      return StreamSupport.stream(node.spliterator(), false)
          .map(n -> n.path("name").asText()).toList();
    }
    List<String> keys = new ArrayList<>();
    node.fieldNames().forEachRemaining(keys::add);
    return keys;
  }
}
