package org.iscsicsi.e2e.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.marcnuri.helm.Helm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Pool mode against a real kube-apiserver (e2e/cluster/start.sh {@code --pool 3}): the chart
 * rendered with {@code engines.mode=pool} and zone topology keys supplies the IscsiEngine CRD, the
 * engines' ServiceAccount and RBAC and the TLS key pairs; three {@code target-engine serve
 * --kubernetes} processes on the host (storage nodes node-a, node-b, node-c in zones a, b, c) run
 * as that ServiceAccount, and the controller runs with {@code --pool} and the chart's client
 * certificate. Pins:
 *
 * <ul>
 *   <li>each engine registers itself under the chart's RBAC, which the API server enforces: an
 *       IscsiEngine named after its node reporting node, portal and zone, and a Lease
 *       {@code iscsi-engine-<name>} held by {@code <name>/<incarnation>}; the engines' account
 *       may not delete IscsiEngines nor write their spec;
 *   <li>{@code kubectl get iscsiengines} prints the CRD's printer columns (and {@code -o wide}
 *       the priority ones) with each engine's node and portal;
 *   <li>the controller's leader marks every engine Ready: it reached each admin API over mutual
 *       TLS with the chart's client certificate and verified the chart's engine certificate;
 *   <li>a PVC of a class of this driver is provisioned by the controller in pool mode on exactly
 *       one of the engines (a {@code pool.} volume id; its target and LUN file in that engine's
 *       state only, the PV's node affinity that engine's zone, the engine's report counting it),
 *       and deleting the PVC removes them;
 *   <li>with WaitForFirstConsumer, a pod kube-scheduler places in zone b gets its volume on
 *       node-b's engine.
 * </ul>
 *
 * <p>Needs the binaries of e2e/cluster/build.sh: skipped with a reason when they are not built,
 * unless {@code -Discsi.cluster=true} asks to build them.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PoolClusterTest {
  static final int ENGINES = 3;
  static final List<String> NODES = List.of("node-a", "node-b", "node-c");
  static final String NS = "pool";
  static final String ZONE = "topology.kubernetes.io/zone";
  static final String ENGINE_SA = "system:serviceaccount:iscsi-csi:iscsi-csi-engine";
  static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  static TestCluster cluster;
  static Path run;

  @BeforeAll
  static void startCluster() throws Exception {
    run = TestCluster.freshRun("pool-cluster-run");
    String chart = new Helm(TestCluster.repoRoot().resolve("helm/iscsi-csi")).template()
        .withName("iscsi-csi").withNamespace(TestCluster.NAMESPACE).withKubeVersion("v1.37.2")
        .set("engines.mode", "pool").set("pool.topologyKeys[0]", ZONE).call();
    Files.writeString(run.resolve("chart-pool.yaml"), chart);
    writeTls(chart, "iscsi-csi-engine-tls", run.resolve("tls/engine"));
    writeTls(chart, "iscsi-csi-controller-tls", run.resolve("tls/controller"));
    cluster = TestCluster.startPool(run, ENGINES);
    System.out.println("pool cluster up in " + cluster.startUp.toMillis() + " ms");
  }

  @AfterAll
  static void stopCluster() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  @Order(1)
  void enginesRegisterWithTheirLeasesUnderTheChartsRbac() throws Exception {
    for (int i = 0; i < ENGINES; i++) {
      String name = NODES.get(i);
      String portal = "127.0.0.1:" + (PortBlock.ENGINE_PORTALS + i);
      String zone = name.substring("node-".length());
      VolumeLifecycleTest.await(cluster, "IscsiEngine " + name + " reporting its portal", () ->
          portal.equals(cluster.k("get", "iscsiengine", name, "-o",
              "jsonpath={.status.report.portal}")) ? true : null);
      assertThat(cluster.k("get", "iscsiengine", name, "-o", "jsonpath={.status.report.node}"))
          .isEqualTo(name);
      assertThat(cluster.k("get", "iscsiengine", name, "-o",
          "jsonpath={.status.report.topology." + ZONE.replace(".", "\\.") + "}"))
          .isEqualTo(zone);
      String incarnation = cluster.k("get", "iscsiengine", name, "-o",
          "jsonpath={.status.report.incarnation}");
      assertThat(incarnation).isNotEmpty();
      assertThat(cluster.k("get", "lease", "iscsi-engine-" + name, "-n", TestCluster.NAMESPACE,
          "-o", "jsonpath={.spec.holderIdentity}")).isEqualTo(name + "/" + incarnation);
      // the controller's leader reached its admin API with the chart's client certificate
      VolumeLifecycleTest.await(cluster, "IscsiEngine " + name + " Ready", () ->
          "Ready".equals(cluster.k("get", "iscsiengine", name, "-o",
              "jsonpath={.status.state}")) ? true : null);
    }
    String engines = "iscsiengines.iscsi.csi.iscsicsi.org";
    assertThat(canI("delete", engines)).isEqualTo("no");
    assertThat(canI("update", engines)).as("the spec is the operators'").isEqualTo("no");
    assertThat(canI("create", engines)).isEqualTo("yes");
    assertThat(canI("patch", engines, "--subresource=status")).isEqualTo("yes");
    assertThat(canI("get", "nodes")).isEqualTo("yes");
    assertThat(canI("list", "nodes")).isEqualTo("no");
  }

  @Test
  @Order(2)
  void getIscsiEnginesPrintsTheColumns() throws Exception {
    List<String> lines = cluster.k("get", "iscsiengines").lines().toList();
    assertThat(lines.getFirst().split("\\s+")).containsExactly("NAME", "NODE", "PORTAL",
        "CAPACITY", "ALLOCATED", "VOLUMES", "SESSIONS", "STATE", "AGE");
    assertThat(lines).hasSize(ENGINES + 1);
    for (int i = 0; i < ENGINES; i++) {
      assertThat(lines.get(i + 1).split("\\s+")).startsWith(NODES.get(i), NODES.get(i),
          "127.0.0.1:" + (PortBlock.ENGINE_PORTALS + i));
    }
    assertThat(cluster.k("get", "iscsiengines", "-o", "wide").lines().findFirst().orElseThrow())
        .contains("INCARNATION", "VERSION", "DRAIN");
    System.out.println(cluster.k("get", "iscsiengines", "-o", "wide"));
  }

  @Test
  @Order(3)
  void aPvcIsProvisionedOnOneEngineAndDeletedFromIt() throws Exception {
    cluster.k("create", "namespace", NS);
    cluster.apply(classAndClaim("pool-immediate", "Immediate", "data", "64Mi"));
    String pv = boundPv("data");
    String handle = handleOf(pv);
    assertThat(handle).startsWith("pool.");
    List<String> holders = new ArrayList<>();
    for (String node : NODES) {
      EngineView view = EngineView.read(run.resolve("engines").resolve(node));
      if (view.target(handle).isPresent()) {
        holders.add(node);
        assertThat(view.lunFiles()).hasSize(1);
        assertThat(Files.size(view.target(handle).orElseThrow().luns().getFirst().file()))
            .isEqualTo(64L << 20);
      } else {
        assertThat(view.lunFiles()).as("no LUN on " + node).isEmpty();
      }
    }
    assertThat(holders).as("engines holding " + handle).hasSize(1);
    System.out.println("volume " + handle + " on " + holders.getFirst());
    String holder = holders.getFirst();
    assertThat(zoneOf(pv)).as("the PV is reachable from its engine's zone")
        .isEqualTo(holder.substring("node-".length()));
    VolumeLifecycleTest.await(cluster, "IscsiEngine " + holder + " reporting the volume", () ->
        "1".equals(cluster.k("get", "iscsiengine", holder, "-o",
            "jsonpath={.status.report.volumes}")) ? true : null);

    deleteClaim("data", pv);
    EngineView after = EngineView.read(run.resolve("engines").resolve(holders.getFirst()));
    assertThat(after.target(handle)).isEmpty();
    assertThat(after.lunFiles()).isEmpty();
  }

  @Test
  @Order(4)
  void aWaitForFirstConsumerPvcLandsInItsPodsZone() throws Exception {
    cluster.apply(classAndClaim("pool-wffc", "WaitForFirstConsumer", "zoned", "32Mi") + """
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: zoned, namespace: pool}
        spec:
          nodeSelector: {topology.kubernetes.io/zone: b}
          containers:
            - {name: app, image: busybox, command: [sleep, "3600"],
               volumeMounts: [{name: data, mountPath: /data}]}
          volumes:
            - {name: data, persistentVolumeClaim: {claimName: zoned}}
        """);
    // capacity tracking (pool.topologyKeys): one CSIStorageCapacity of the class per zone,
    // from GetCapacity per segment, which kube-scheduler checks before placing the pod
    String zonesOfClass = "jsonpath={range .items[?(@.storageClassName==\"pool-wffc\")]}"
        + "{.nodeTopology.matchLabels." + ZONE.replace(".", "\\.") + "} {end}";
    VolumeLifecycleTest.await(cluster, "CSIStorageCapacity of pool-wffc in zones a, b, c", () -> {
      List<String> zones = List.of(cluster.k("get", "csistoragecapacities", "-n",
          TestCluster.NAMESPACE, "-o", zonesOfClass).strip().split(" "));
      return zones.containsAll(List.of("a", "b", "c")) ? zones : null;
    });
    String pv = boundPv("zoned");
    // kube-scheduler binds the pod once its volume is bound: the PVC can be Bound a moment first
    String scheduled = VolumeLifecycleTest.await(cluster, "pod zoned scheduled", () -> {
      String n = cluster.k("get", "pod", "zoned", "-n", NS, "-o", "jsonpath={.spec.nodeName}");
      return n.isEmpty() ? null : n;
    });
    assertThat(scheduled).isEqualTo("node-b");
    String handle = handleOf(pv);
    assertThat(EngineView.read(run.resolve("engines/node-b")).target(handle))
        .as("placed on the engine of the pod's zone").isPresent();
    assertThat(zoneOf(pv)).isEqualTo("b");

    cluster.k("delete", "pod", "zoned", "-n", NS, "--grace-period=0", "--force", "--wait=true");
    deleteClaim("zoned", pv);
    assertThat(EngineView.read(run.resolve("engines/node-b")).target(handle)).isEmpty();
  }

  /** A StorageClass of the driver with per-volume CHAP and a PVC of it in namespace pool. */
  static String classAndClaim(String storageClass, String bindingMode, String pvc, String size) {
    return """
        apiVersion: storage.k8s.io/v1
        kind: StorageClass
        metadata: {name: %s}
        provisioner: iscsi.csi.iscsicsi.org
        volumeBindingMode: %s
        parameters:
          fsType: ext4
          csi.storage.k8s.io/node-stage-secret-name: iscsi-csi-chap-${pv.name}
          csi.storage.k8s.io/node-stage-secret-namespace: iscsi-csi
        ---
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata: {name: %s, namespace: %s}
        spec:
          accessModes: [ReadWriteOnce]
          storageClassName: %s
          resources: {requests: {storage: %s}}
        """.formatted(storageClass, bindingMode, pvc, NS, storageClass, size);
  }

  /** The PV of a PVC of namespace pool, once it is Bound. */
  static String boundPv(String pvc) throws Exception {
    VolumeLifecycleTest.await(cluster, "PVC " + pvc + " Bound", () ->
        "Bound".equals(cluster.k("get", "pvc", pvc, "-n", NS, "-o",
            "jsonpath={.status.phase}")) ? true : null);
    return cluster.k("get", "pvc", pvc, "-n", NS, "-o", "jsonpath={.spec.volumeName}");
  }

  static String handleOf(String pv) throws Exception {
    return cluster.k("get", "pv", pv, "-o", "jsonpath={.spec.csi.volumeHandle}");
  }

  /** Deletes a PVC of namespace pool and waits until its PV (reclaim policy Delete) is gone. */
  static void deleteClaim(String pvc, String pv) throws Exception {
    cluster.k("delete", "pvc", pvc, "-n", NS, "--wait=false");
    VolumeLifecycleTest.await(cluster, "PV " + pv + " deleted", () ->
        cluster.kubectl("get", "pv", pv).exit() != 0 ? true : null);
  }

  /** The zone a PV's node affinity requires. */
  static String zoneOf(String pv) throws Exception {
    return cluster.k("get", "pv", pv, "-o", "jsonpath={.spec.nodeAffinity.required"
        + ".nodeSelectorTerms[*].matchExpressions[?(@.key==\"" + ZONE + "\")].values[*]}");
  }

  /** {@code kubectl auth can-i} as the engines' ServiceAccount: "yes" or "no". */
  static String canI(String verb, String resource, String... more) throws Exception {
    List<String> args = new ArrayList<>(List.of("auth", "can-i", verb, resource, "--as",
        ENGINE_SA));
    args.addAll(List.of(more));
    return cluster.kubectl(args.toArray(String[]::new)).out().strip();
  }

  /** The Secret's files as kubelet mounts them for the pods (0400). */
  static void writeTls(String chart, String secret, Path dir) throws Exception {
    Files.createDirectories(dir);
    try (MappingIterator<JsonNode> docs = YAML.readerFor(JsonNode.class).readValues(chart)) {
      while (docs.hasNext()) {
        JsonNode doc = docs.next();
        if (doc != null && "Secret".equals(doc.path("kind").asText())
            && secret.equals(doc.at("/metadata/name").asText())) {
          for (Map.Entry<String, JsonNode> e : doc.path("data").properties()) {
            Path file = dir.resolve(e.getKey());
            Files.write(file, Base64.getDecoder().decode(e.getValue().asText()));
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("r--------"));
          }
          return;
        }
      }
    }
    throw new AssertionError("no Secret " + secret + " in the chart");
  }
}
