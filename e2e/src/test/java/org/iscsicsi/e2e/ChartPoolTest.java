package org.iscsicsi.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.iscsicsi.e2e.ChartContentTest.container;
import static org.iscsicsi.e2e.ChartContentTest.controllerPod;
import static org.iscsicsi.e2e.ChartContentTest.names;
import static org.iscsicsi.e2e.ChartContentTest.statefulSet;
import static org.iscsicsi.e2e.ChartContentTest.texts;
import static org.iscsicsi.e2e.ChartContentTest.volume;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.iscsicsi.target.engine.BackendOption;
import org.iscsicsi.target.registry.BackendSpec;
import org.junit.jupiter.api.Test;

/**
 * The chart's pool mode ({@code engines.mode: pool}, docs/pools.md §1, §2, §4): the controller
 * without an embedded engine or LUN store and with the engines' TLS; the engine DaemonSet on the
 * labelled nodes (host network, the three ports on the node's IP, the hostPath state directory
 * handed to a non-root user, a hardened container); the engines' and the controller's RBAC, verb
 * by verb; topology keys turning on capacity tracking and the node plugin's {@code
 * --topology-keys}; the replication port and the engines' block backends ({@code
 * engines.backends}: flags the engine's own parser takes, root and the host's devices only when
 * a backend needs them); the engines' NetworkPolicy; and the values that cannot work refused. The
 * embedded default renders none of it (deploy/iscsi-csi.yaml, compared byte for byte by
 * DeployManifestsTest, pins the rest of the default output).
 */
class ChartPoolTest {
  static final String ENGINE = "iscsi-csi-engine";
  final List<ObjectNode> pool = ChartRenderer.render("pool");
  final List<ObjectNode> embedded = ChartRenderer.render("default");

  static List<ObjectNode> render(Map<String, Object> sets) {
    Map<String, Object> all = new HashMap<>(sets);
    all.putIfAbsent("engines.mode", "pool");
    return K8sObjects.parse(ChartRenderer.template("default", all));
  }

  static JsonNode enginePod(List<ObjectNode> objects) {
    return K8sObjects.get(objects, "DaemonSet", ENGINE).at("/spec/template/spec");
  }

  static List<String> controllerArgs(List<ObjectNode> objects) {
    return texts(container(controllerPod(objects), "controller").path("args"));
  }

  @Test
  void embeddedDefaultRendersNothingOfThePool() {
    assertThat(K8sObjects.find(embedded, "DaemonSet", ENGINE)).isEmpty();
    assertThat(K8sObjects.find(embedded, "CustomResourceDefinition",
        "iscsiengines.iscsi.csi.iscsicsi.org")).isEmpty();
    assertThat(K8sObjects.ofKind(embedded, "Secret")).isEmpty();
    assertThat(K8sObjects.find(embedded, "ServiceAccount", ENGINE)).isEmpty();
    assertThat(K8sObjects.find(embedded, "ClusterRole", "iscsi-csi-iscsiengines")).isEmpty();
    assertThat(controllerArgs(embedded)).contains("--state-dir=/var/lib/iscsi-csi")
        .noneMatch(a -> a.startsWith("--pool") || a.startsWith("--engine-tls"));
    assertThat(K8sObjects.get(embedded, "CSIDriver", ChartContentTest.DRIVER)
        .at("/spec/storageCapacity").asBoolean(true)).isFalse();
  }

  @Test
  void controllerHasNoEngineOrLunStoreAndTheEnginesTls() {
    assertThat(controllerArgs(pool))
        .contains("--pool", "--namespace=$(POD_NAMESPACE)",
            "--engine-tls-cert=/etc/iscsi-csi/engine-tls/tls.crt",
            "--engine-tls-key=/etc/iscsi-csi/engine-tls/tls.key",
            "--engine-tls-ca=/etc/iscsi-csi/engine-tls/ca.crt", "--leader-election")
        .noneMatch(a -> a.startsWith("--state-dir") || a.startsWith("--portal")
            || a.startsWith("--advertise"));
    JsonNode sts = statefulSet(pool);
    assertThat(sts.at("/spec/volumeClaimTemplates").isMissingNode()).isTrue();
    assertThat(sts.at("/spec/serviceName").isMissingNode()).isTrue();
    assertThat(K8sObjects.find(pool, "Service", "iscsi-csi-portal")).isEmpty();
    JsonNode pod = controllerPod(pool);
    assertThat(pod.path("hostNetwork").asBoolean()).isFalse();
    assertThat(pod.path("initContainers").isMissingNode()).isTrue();
    assertThat(names(pod.path("volumes"))).doesNotContain("state");
    assertThat(volume(pod, "engine-tls").at("/secret/secretName").asText())
        .isEqualTo("iscsi-csi-controller-tls");
    assertThat(volume(pod, "engine-tls").at("/secret/defaultMode").asInt()).isEqualTo(0400);
    JsonNode mount = mount(container(pod, "controller"), "engine-tls");
    assertThat(mount.path("mountPath").asText()).isEqualTo("/etc/iscsi-csi/engine-tls");
    assertThat(mount.path("readOnly").asBoolean()).isTrue();
    JsonNode controller = container(pod, "controller");
    assertThat(controller.at("/ports").findValuesAsText("name")).doesNotContain("iscsi");
    assertThat(controller.at("/readinessProbe/httpGet/port").asText()).isEqualTo("healthz");
    assertThat(controller.at("/startupProbe/httpGet/path").asText()).isEqualTo("/healthz");
  }

  @Test
  void engineDaemonSetRunsOnStorageNodesOnTheHostNetwork() {
    JsonNode ds = K8sObjects.get(pool, "DaemonSet", ENGINE);
    JsonNode pod = enginePod(pool);
    assertThat(pod.path("hostNetwork").asBoolean()).isTrue();
    assertThat(pod.path("hostPID").asBoolean(false)).isFalse();
    assertThat(pod.path("serviceAccountName").asText()).isEqualTo(ENGINE);
    assertThat(pod.at("/nodeSelector/iscsi.csi.iscsicsi.org~1storage-node").asText())
        .isEqualTo("true");
    assertThat(ds.at("/spec/template/metadata/labels/app.kubernetes.io~1component").asText())
        .isEqualTo("engine");
    JsonNode engine = container(pod, "engine");
    assertThat(engine.path("image").asText()).isEqualTo("localhost/iscsi-csi/controller:0.1.0");
    assertThat(texts(engine.path("command"))).containsExactly("/opt/iscsi-csi/bin/run-java",
        "/opt/iscsi-csi/controller", "controller", "org.iscsicsi.target.cli.TargetEngineCli");
    assertThat(texts(engine.path("args"))).containsExactly("serve", "--kubernetes",
        "--node=$(NODE_NAME)", "--namespace=$(POD_NAMESPACE)",
        "--state-dir=/var/lib/iscsi-csi/engine", "--portal=$(NODE_IP):3260",
        "--admin=$(NODE_IP):3262", "--admin-tls-cert=/etc/iscsi-csi/tls/tls.crt",
        "--admin-tls-key=/etc/iscsi-csi/tls/tls.key",
        "--admin-tls-client-ca=/etc/iscsi-csi/tls/ca.crt",
        "--replication=$(NODE_IP):3263", "--replication-tls-ca=/etc/iscsi-csi/tls/ca.crt",
        "--topology-keys=topology.kubernetes.io/zone");
    Map<String, String> fields = new HashMap<>();
    for (JsonNode env : engine.path("env")) {
      fields.put(env.path("name").asText(), env.at("/valueFrom/fieldRef/fieldPath").asText());
    }
    assertThat(fields).containsEntry("NODE_IP", "status.hostIP")
        .containsEntry("NODE_NAME", "spec.nodeName")
        .containsEntry("POD_NAMESPACE", "metadata.namespace");
    Map<String, String> ports = new HashMap<>();
    for (JsonNode p : engine.path("ports")) {
      ports.put(p.path("name").asText(), p.path("containerPort").asText());
    }
    assertThat(ports).containsExactlyInAnyOrderEntriesOf(
        Map.of("iscsi", "3260", "admin", "3262", "replication", "3263"));
    assertThat(engine.at("/readinessProbe/tcpSocket/port").asText()).isEqualTo("iscsi");
    assertThat(engine.at("/livenessProbe/tcpSocket/port").asText()).isEqualTo("iscsi");
    assertThat(engine.at("/resources/requests/memory").asText()).isEqualTo("512Mi");
    assertThat(engine.at("/resources/limits/memory").asText()).isEqualTo("1Gi");

    assertThat(volume(pod, "data").at("/hostPath/path").asText())
        .isEqualTo("/var/lib/iscsi-csi/engine");
    assertThat(volume(pod, "data").at("/hostPath/type").asText()).isEqualTo("DirectoryOrCreate");
    assertThat(mount(engine, "data").path("mountPath").asText())
        .isEqualTo("/var/lib/iscsi-csi/engine");
    assertThat(volume(pod, "tls").at("/secret/secretName").asText())
        .isEqualTo("iscsi-csi-engine-tls");
    assertThat(volume(pod, "tls").at("/secret/defaultMode").asInt()).isEqualTo(0400);
    assertThat(mount(engine, "tls").path("readOnly").asBoolean()).isTrue();

    List<ObjectNode> custom = render(Map.of("engines.ports.portal", 13260,
        "engines.ports.admin", 13262, "engines.ports.replication", 13263,
        "engines.dataDir", "/srv/engine", "engines.tolerations[0].key", "storage",
        "engines.tolerations[0].operator", "Exists", "engines.nodeSelector.pool", "a"));
    JsonNode customPod = enginePod(custom);
    assertThat(texts(container(customPod, "engine").path("args")))
        .contains("--portal=$(NODE_IP):13260", "--admin=$(NODE_IP):13262",
            "--replication=$(NODE_IP):13263", "--state-dir=/srv/engine")
        .noneMatch(a -> a.startsWith("--topology-keys"));
    assertThat(container(customPod, "engine").path("ports").findValuesAsText("containerPort"))
        .containsExactly("13260", "13262", "13263");
    assertThat(customPod.at("/tolerations/0/key").asText()).isEqualTo("storage");
    assertThat(customPod.at("/nodeSelector/pool").asText()).isEqualTo("a");
    assertThat(volume(customPod, "data").at("/hostPath/path").asText()).isEqualTo("/srv/engine");
  }

  @Test
  void engineRunsNonRootWithAReadOnlyRootAndNoCapabilities() {
    JsonNode pod = enginePod(pool);
    JsonNode podSecurity = pod.path("securityContext");
    assertThat(podSecurity.path("runAsNonRoot").asBoolean()).isTrue();
    assertThat(podSecurity.path("runAsUser").asInt()).isEqualTo(10001);
    assertThat(podSecurity.path("fsGroup").asInt()).as("reads the 0400 TLS Secret as its group")
        .isEqualTo(10001);
    assertThat(podSecurity.at("/seccompProfile/type").asText()).isEqualTo("RuntimeDefault");
    JsonNode engine = container(pod, "engine");
    assertThat(engine.at("/securityContext/readOnlyRootFilesystem").asBoolean()).isTrue();
    assertThat(engine.at("/securityContext/allowPrivilegeEscalation").asBoolean(true)).isFalse();
    assertThat(engine.at("/securityContext/privileged").asBoolean(false)).isFalse();
    assertThat(texts(engine.at("/securityContext/capabilities/drop"))).containsExactly("ALL");
    assertThat(engine.at("/securityContext/capabilities/add").isMissingNode()).isTrue();
    // the root-owned hostPath directory becomes the engine user's, 0700, before it starts
    JsonNode init = pod.at("/initContainers/0");
    assertThat(texts(init.path("command"))).containsExactly("install", "-d", "-m", "0700",
        "-o", "10001", "-g", "10001", "/var/lib/iscsi-csi/engine");
    assertThat(texts(init.at("/securityContext/capabilities/add")))
        .containsExactlyInAnyOrder("CHOWN", "FOWNER");
    assertThat(texts(init.at("/securityContext/capabilities/drop"))).containsExactly("ALL");
    assertThat(init.at("/securityContext/readOnlyRootFilesystem").asBoolean()).isTrue();
  }

  @Test
  void rbacGivesEnginesAndControllerExactlyTheirVerbs() {
    JsonNode engineCluster = K8sObjects.get(pool, "ClusterRole", ENGINE);
    assertThat(rules(engineCluster)).containsExactlyInAnyOrderEntriesOf(Map.of(
        "iscsi.csi.iscsicsi.org/iscsiengines", List.of("get", "create"),
        "iscsi.csi.iscsicsi.org/iscsiengines/status", List.of("patch"),
        "iscsi.csi.iscsicsi.org/iscsivolumes", List.of("get", "list", "watch", "update"),
        "/nodes", List.of("get")));
    JsonNode engineRole = K8sObjects.get(pool, "Role", ENGINE);
    assertThat(engineRole.at("/metadata/namespace").asText()).isEqualTo("iscsi-csi");
    assertThat(rules(engineRole)).containsExactlyInAnyOrderEntriesOf(Map.of(
        "coordination.k8s.io/leases", List.of("get", "create", "update")));
    assertThat(rules(K8sObjects.get(pool, "ClusterRole", "iscsi-csi-iscsiengines")))
        .containsExactlyInAnyOrderEntriesOf(Map.of(
            "iscsi.csi.iscsicsi.org/iscsiengines",
            List.of("get", "list", "watch", "patch", "update"),
            "iscsi.csi.iscsicsi.org/iscsiengines/status", List.of("patch")));
    // the controller's namespaced Role already reads the engines' Leases
    assertThat(rules(K8sObjects.get(pool, "Role", "iscsi-csi-controller"))
        .get("coordination.k8s.io/leases")).contains("get", "list", "watch");
    assertThat(boundTo(pool, "ClusterRoleBinding", ENGINE)).isEqualTo(ENGINE);
    assertThat(boundTo(pool, "RoleBinding", ENGINE)).isEqualTo(ENGINE);
    assertThat(boundTo(pool, "ClusterRoleBinding", "iscsi-csi-iscsiengines"))
        .isEqualTo("iscsi-csi-controller");
    assertThat(K8sObjects.get(pool, "ServiceAccount", ENGINE)
        .path("automountServiceAccountToken").asBoolean(true)).isTrue();
    for (String kind : List.of("ClusterRoleBinding", "RoleBinding")) {
      for (JsonNode binding : K8sObjects.ofKind(pool, kind)) {
        assertThat(K8sObjects.find(pool, binding.at("/roleRef/kind").asText(),
            binding.at("/roleRef/name").asText())).as("bound role exists").isPresent();
        assertThat(K8sObjects.find(pool, "ServiceAccount", binding.at("/subjects/0/name")
            .asText())).as("bound account exists").isPresent();
      }
    }
    List<ObjectNode> roles = new ArrayList<>(K8sObjects.ofKind(pool, "ClusterRole"));
    roles.addAll(K8sObjects.ofKind(pool, "Role"));
    for (JsonNode role : roles) {
      for (JsonNode rule : role.path("rules")) {
        assertThat(texts(rule.path("verbs"))).as(K8sObjects.name(role)).doesNotContain("*");
        if (texts(rule.path("resources")).contains("secrets")) {
          assertThat(K8sObjects.name(role)).isEqualTo("iscsi-csi-controller");
        }
      }
    }
  }

  @Test
  void topologyKeysTurnOnCapacityTrackingAndTheNodePluginsKeys() {
    assertThat(K8sObjects.get(pool, "CSIDriver", ChartContentTest.DRIVER)
        .at("/spec/storageCapacity").asBoolean()).isTrue();
    JsonNode provisioner = container(controllerPod(pool), "csi-provisioner");
    assertThat(texts(provisioner.path("args")))
        .contains("--enable-capacity", "--capacity-ownerref-level=1");
    Map<String, String> fields = new HashMap<>();
    for (JsonNode env : provisioner.path("env")) {
      fields.put(env.path("name").asText(), env.at("/valueFrom/fieldRef/fieldPath").asText());
    }
    assertThat(fields).containsEntry("POD_NAME", "metadata.name")
        .containsEntry("NAMESPACE", "metadata.namespace");
    assertThat(rules(K8sObjects.get(pool, "Role", "iscsi-csi-capacity")))
        .containsExactlyInAnyOrderEntriesOf(Map.of(
            "storage.k8s.io/csistoragecapacities",
            List.of("get", "list", "watch", "create", "update", "patch", "delete"),
            "/pods", List.of("get")));
    JsonNode nodePod = K8sObjects.get(pool, "DaemonSet", "iscsi-csi-node")
        .at("/spec/template/spec");
    assertThat(texts(container(nodePod, "node-plugin").path("args")))
        .contains("--topology-keys=topology.kubernetes.io/zone");
    assertThat(nodePod.path("automountServiceAccountToken").asBoolean()).isTrue();
    assertThat(rules(K8sObjects.get(pool, "ClusterRole", "iscsi-csi-node-topology")))
        .containsExactlyEntriesOf(Map.of("/nodes", List.of("get")));
    assertThat(boundTo(pool, "ClusterRoleBinding", "iscsi-csi-node-topology"))
        .isEqualTo("iscsi-csi-node");

    // pool mode without keys: one segment, no capacity objects, the node plugin as before
    List<ObjectNode> flat = render(Map.of());
    assertThat(K8sObjects.get(flat, "CSIDriver", ChartContentTest.DRIVER)
        .at("/spec/storageCapacity").asBoolean(true)).isFalse();
    assertThat(texts(container(controllerPod(flat), "csi-provisioner").path("args")))
        .doesNotContain("--enable-capacity");
    JsonNode flatNode = K8sObjects.get(flat, "DaemonSet", "iscsi-csi-node")
        .at("/spec/template/spec");
    assertThat(flatNode.path("automountServiceAccountToken").asBoolean(true)).isFalse();
    assertThat(texts(container(flatNode, "node-plugin").path("args")))
        .noneMatch(a -> a.startsWith("--topology-keys"));
    assertThat(K8sObjects.find(flat, "ClusterRole", "iscsi-csi-node-topology")).isEmpty();
    assertThat(K8sObjects.find(flat, "Role", "iscsi-csi-capacity")).isEmpty();
  }

  @Test
  void engineNetworkPolicyAdmitsPortalFromNodesAdminFromControllerReplicationFromEngines() {
    JsonNode policy = K8sObjects.get(pool, "NetworkPolicy", ENGINE);
    JsonNode podLabels = K8sObjects.get(pool, "DaemonSet", ENGINE)
        .at("/spec/template/metadata/labels");
    policy.at("/spec/podSelector/matchLabels").properties()
        .forEach(e -> assertThat(podLabels.path(e.getKey())).isEqualTo(e.getValue()));
    JsonNode rules = policy.at("/spec/ingress");
    assertThat(rules).hasSize(3);
    assertThat(rules.get(0).path("ports").findValuesAsText("port")).containsExactly("3260");
    assertThat(rules.get(0).path("from").findValuesAsText("cidr"))
        .containsExactly("0.0.0.0/0", "::/0");
    assertThat(rules.get(1).path("ports").findValuesAsText("port")).containsExactly("3262");
    assertThat(rules.get(1).at("/from/0/podSelector/matchLabels/app.kubernetes.io~1component")
        .asText()).isEqualTo("controller");
    assertThat(rules.get(2).path("ports").findValuesAsText("port")).containsExactly("3263");
    assertThat(rules.get(2).at("/from/0/podSelector/matchLabels/app.kubernetes.io~1component")
        .asText()).isEqualTo("engine");
    // every port the engine listens on is one of these
    assertThat(container(enginePod(pool), "engine").path("ports")
        .findValuesAsText("containerPort")).containsExactlyInAnyOrder("3260", "3262", "3263");
    // the controller's policy keeps its probe and metrics ports, no portal there any more
    JsonNode controllerRules = K8sObjects.get(pool, "NetworkPolicy", "iscsi-csi-controller")
        .at("/spec/ingress");
    assertThat(controllerRules.get(0).path("ports").findValuesAsText("port"))
        .containsExactly("9808");

    JsonNode narrowed = K8sObjects.get(render(Map.of("networkPolicy.podCIDRs[0]",
        "10.244.0.0/16")), "NetworkPolicy", ENGINE).at("/spec/ingress/0/from");
    assertThat(texts(narrowed.at("/0/ipBlock/except"))).containsExactly("10.244.0.0/16");
    assertThat(K8sObjects.find(render(Map.of("networkPolicy.enabled", false)),
        "NetworkPolicy", ENGINE)).isEmpty();
  }

  @Test
  void backendsBecomeEngineFlagsTheEngineParses() {
    List<ObjectNode> objects = render(Map.ofEntries(
        Map.entry("engines.backends[0].name", "thin"),
        Map.entry("engines.backends[0].type", "lvm-thin"),
        Map.entry("engines.backends[0].source", "vg-storage/pool"),
        Map.entry("engines.backends[1].name", "thick"),
        Map.entry("engines.backends[1].type", "lvm"),
        Map.entry("engines.backends[1].source", "vg-storage"),
        Map.entry("engines.backends[2].name", "whole"),
        Map.entry("engines.backends[2].type", "disk"),
        Map.entry("engines.backends[2].source", "/dev/disk/by-id/ata-disk1"),
        Map.entry("engines.backends[2].thin", true),
        Map.entry("engines.backends[3].name", "raw"),
        Map.entry("engines.backends[3].type", "blockio"),
        Map.entry("engines.backends[3].source", "/dev/sdb"),
        Map.entry("engines.backends[4].name", "files"),
        Map.entry("engines.backends[4].type", "fileio")));
    JsonNode engine = container(enginePod(objects), "engine");
    List<String> flags = texts(engine.path("args")).stream()
        .filter(a -> a.startsWith("--backend=")).map(a -> a.substring("--backend=".length()))
        .toList();
    assertThat(flags).containsExactly("thin=lvm-thin:vg-storage/pool", "thick=lvm:vg-storage",
        "whole=disk:/dev/disk/by-id/ata-disk1,thin", "raw=blockio:/dev/sdb", "files=fileio");
    // the engine's own parser takes every value the chart renders, in order, the first default
    List<BackendOption> parsed = flags.stream().map(BackendOption::parse).toList();
    assertThat(parsed).extracting(BackendOption::name)
        .containsExactly("thin", "thick", "whole", "raw", "files");
    assertThat(parsed.get(2)).isEqualTo(
        new BackendOption.Disk("whole", Path.of("/dev/disk/by-id/ata-disk1"), true));
    assertThat(((BackendOption.Given) parsed.get(0)).spec())
        .isEqualTo(BackendSpec.lvmThin("thin", "vg-storage", "pool"));
    assertThat(((BackendOption.Given) parsed.get(3)).spec())
        .isEqualTo(BackendSpec.blockio("raw", Path.of("/dev/sdb")));

    // devices and lvm: root, privileged, the host's /dev and lvm's shared directories
    JsonNode security = engine.path("securityContext");
    assertThat(security.path("privileged").asBoolean()).isTrue();
    assertThat(security.path("runAsUser").asInt(-1)).isZero();
    assertThat(security.path("runAsNonRoot").asBoolean(true)).isFalse();
    assertThat(security.path("readOnlyRootFilesystem").asBoolean()).isTrue();
    JsonNode pod = enginePod(objects);
    Map<String, String> hostPaths = Map.of("dev", "/dev", "lvm-run", "/run/lvm",
        "lvm-lock", "/run/lock/lvm", "lvm-backup", "/etc/lvm/backup",
        "lvm-archive", "/etc/lvm/archive");
    hostPaths.forEach((name, path) -> {
      assertThat(volume(pod, name).at("/hostPath/path").asText()).as(name).isEqualTo(path);
      assertThat(mount(engine, name).path("mountPath").asText()).as(name).isEqualTo(path);
    });

    // fileio only: still the hardened non-root container, no host devices
    List<ObjectNode> files = render(Map.of("engines.backends[0].name", "files",
        "engines.backends[0].type", "fileio"));
    JsonNode filesEngine = container(enginePod(files), "engine");
    assertThat(texts(filesEngine.path("args"))).contains("--backend=files=fileio");
    assertThat(filesEngine.at("/securityContext/privileged").asBoolean(false)).isFalse();
    assertThat(filesEngine.at("/securityContext/runAsUser").isMissingNode()).isTrue();
    assertThat(names(enginePod(files).path("volumes"))).doesNotContain("dev", "lvm-lock");
    assertThat(texts(container(enginePod(pool), "engine").path("args")))
        .noneMatch(a -> a.startsWith("--backend"));
  }

  @Test
  void backendsThatCannotWorkAreRefused() {
    assertThatThrownBy(() -> ChartRenderer.template("default", Map.of(
        "engines.backends[0].name", "thin", "engines.backends[0].type", "lvm-thin",
        "engines.backends[0].source", "vg/pool")))
        .hasMessageContaining("engines.backends thin needs engines.mode pool");
    assertThatThrownBy(() -> render(Map.of("engines.backends[0].name", "thin",
        "engines.backends[0].type", "lvm-thin", "engines.backends[0].source", "vg")))
        .hasMessageContaining("engines.backends thin: lvm-thin's source is VG/POOL");
    assertThatThrownBy(() -> render(Map.of("engines.backends[0].name", "raw",
        "engines.backends[0].type", "blockio")))
        .hasMessageContaining("engines.backends raw: type blockio needs a source");
    assertThatThrownBy(() -> render(Map.of("engines.backends[0].name", "raw",
        "engines.backends[0].type", "blockio", "engines.backends[0].source", "sdb")))
        .hasMessageContaining("blockio's source is a device under /dev/");
    assertThatThrownBy(() -> render(Map.of("engines.backends[0].name", "files",
        "engines.backends[0].type", "fileio", "engines.backends[0].source", "/srv")))
        .hasMessageContaining("fileio takes no source");
    assertThatThrownBy(() -> render(Map.of("engines.backends[0].name", "t",
        "engines.backends[0].type", "lvm", "engines.backends[0].source", "vg",
        "engines.backends[0].thin", true)))
        .hasMessageContaining("thin applies to type disk only");
    assertThatThrownBy(() -> render(Map.of("engines.backends[0].name", "a",
        "engines.backends[0].type", "lvm", "engines.backends[0].source", "vg",
        "engines.backends[1].name", "a", "engines.backends[1].type", "fileio")))
        .hasMessageContaining("engines.backends: the name a repeats");
    assertThatThrownBy(() -> render(Map.of("engines.backends[0].name", "Bad_Name",
        "engines.backends[0].type", "fileio")))
        .hasMessageContaining("/engines/backends/0/name");
    assertThatThrownBy(() -> render(Map.of("engines.backends[0].name", "x",
        "engines.backends[0].type", "zfs")))
        .hasMessageContaining("/engines/backends/0/type");
    assertThatThrownBy(() -> render(Map.of("engines.backends[0].name", "x",
        "engines.backends[0].type", "lvm", "engines.backends[0].source", "vg;rm -rf /")))
        .hasMessageContaining("/engines/backends/0/source");
  }

  @Test
  void existingSecretsReplaceTheGeneratedOnes() {
    List<ObjectNode> own = render(Map.of("engines.tls.existingSecret", "engines-cm",
        "engines.tls.existingControllerSecret", "controller-cm"));
    assertThat(K8sObjects.ofKind(own, "Secret")).isEmpty();
    assertThat(volume(enginePod(own), "tls").at("/secret/secretName").asText())
        .isEqualTo("engines-cm");
    assertThat(volume(controllerPod(own), "engine-tls").at("/secret/secretName").asText())
        .isEqualTo("controller-cm");
    assertThatThrownBy(() -> render(Map.of("engines.tls.existingSecret", "engines-cm")))
        .hasMessageContaining("engines.tls.existingSecret and "
            + "engines.tls.existingControllerSecret go together");
  }

  @Test
  void valuesThatCannotWorkAreRefused() {
    assertThatThrownBy(() -> ChartRenderer.template("default",
        Map.of("pool.topologyKeys[0]", "topology.kubernetes.io/zone")))
        .hasMessageContaining("pool.topologyKeys needs engines.mode pool");
    assertThatThrownBy(() -> render(Map.of("engines.mode", "remote")))
        .hasMessageContaining("at '/engines/mode': value must be one of 'embedded', 'pool'");
    assertThatThrownBy(() -> render(Map.of("pool.topologyKeys[0]", "Bad Key/zone")))
        .hasMessageContaining("/pool/topologyKeys/0");
    assertThatThrownBy(() -> render(Map.of("engines.ports.admin", 3260)))
        .hasMessageContaining("engines.ports must differ");
  }

  @Test
  void iscsiEngineCrdIsTheControllersWithItsPrinterColumns() throws Exception {
    JsonNode crd = ChartContentTest.assertCrdIsTheControllers(pool, "iscsiengines");
    assertThat(crd.at("/spec/versions/0/additionalPrinterColumns").findValuesAsText("name"))
        .containsExactly("Node", "Portal", "Capacity", "Allocated", "Volumes", "Sessions",
            "State", "Age", "Incarnation", "Version", "Drain");
    assertThat(crd.at("/spec/versions/0/subresources/status").isObject()).isTrue();
  }

  /** "apiGroup/resource" → verbs, for every rule of a role. */
  static Map<String, List<String>> rules(JsonNode role) {
    Map<String, List<String>> out = new HashMap<>();
    for (JsonNode rule : role.path("rules")) {
      for (String group : texts(rule.path("apiGroups"))) {
        for (String resource : texts(rule.path("resources"))) {
          assertThat(out.put(group + "/" + resource, texts(rule.path("verbs"))))
              .as("one rule per resource in " + K8sObjects.name(role)).isNull();
        }
      }
    }
    return out;
  }

  static String boundTo(List<ObjectNode> objects, String kind, String name) {
    JsonNode binding = K8sObjects.get(objects, kind, name);
    assertThat(binding.at("/roleRef/name").asText()).isEqualTo(name);
    assertThat(binding.path("subjects")).hasSize(1);
    return binding.at("/subjects/0/name").asText();
  }

  static JsonNode mount(JsonNode container, String volume) {
    for (JsonNode m : container.path("volumeMounts")) {
      if (m.path("name").asText().equals(volume)) {
        return m;
      }
    }
    throw new AssertionError("no mount of " + volume + " in " + container.path("name"));
  }
}
