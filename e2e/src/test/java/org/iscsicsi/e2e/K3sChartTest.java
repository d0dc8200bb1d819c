package org.iscsicsi.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.marcnuri.helm.Helm;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.k3s.K3sContainer;
import org.testcontainers.utility.DockerImageName;
import org.testcontainers.utility.MountableFile;

/**
 * Installs the chart on a real k3s (Testcontainers) with the images built by
 * deploy/images/build.sh imported into k3s' containerd, and drives the deploy/examples lifecycle
 * through the API: the controller becomes ready, PVCs are provisioned, a snapshot becomes ready,
 * a restore and a clone are provisioned from it, a PVC grows, everything deletes cleanly, and
 * {@code helm uninstall} leaves no driver object.
 *
 * <p>Skipped where Docker is missing (this machine: no Docker daemon), and when the images have
 * not been built ({@code -Discsi.images=true} first). The steps that need a node to log in (the
 * example pods) need a k3s node image with open-iscsi and iscsid ({@code -Discsi.k3s.iscsid=true}
 * with {@code -Discsi.k3sImage=...}); the stock rancher/k3s image has none, so by default the
 * lifecycle runs with volumeBindingMode Immediate and stops short of attaching.
 */
@Testcontainers(disabledWithoutDocker = true)
class K3sChartTest {
  static final String NS = "iscsi-csi";

  @Container
  static final K3sContainer K3S =
      new K3sContainer(
          DockerImageName.parse(System.getProperty("iscsi.k3sImage", "rancher/k3s:v1.34.1-k3s1"))
              .asCompatibleSubstituteFor("rancher/k3s"));

  @Test
  void chartInstallsAndTheExamplesLifecycleRuns() throws Exception {
    Path images = Path.of("target/images").toAbsolutePath();
    for (String image : List.of("controller", "node-plugin")) {
      Path tar = images.resolve(image + "-docker.tar");
      assumeTrue(Files.exists(tar), tar + " missing: build the images (-Discsi.images=true)");
      K3S.copyFileToContainer(MountableFile.forHostPath(tar), "/tmp/" + image + ".tar");
      var imported =
          K3S.execInContainer("ctr", "-n", "k8s.io", "images", "import", "/tmp/" + image + ".tar");
      assertThat(imported.getExitCode()).as(imported.getStderr()).isZero();
    }
    boolean iscsid = Boolean.getBoolean("iscsi.k3s.iscsid");
    String kubeconfig = K3S.getKubeConfigYaml();
    try (KubernetesClient k8s =
        new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(kubeconfig)).build()) {
      for (String crd : List.of("volumesnapshotclasses", "volumesnapshotcontents",
          "volumesnapshots")) {
        try (var in = getClass().getResourceAsStream(
            "/openapi/crds/snapshot.storage.k8s.io_" + crd + ".yaml")) {
          k8s.load(in).serverSideApply();
        }
      }
      var install = new Helm(Repo.chart()).install().withName("iscsi-csi").withNamespace(NS)
          .createNamespace().withKubeConfigContents(kubeconfig).waitReady().withTimeout(600);
      if (!iscsid) {
        install = install.set("storageClasses[0].volumeBindingMode", "Immediate");
      }
      assertThat(install.call().getStatus()).isEqualTo("deployed");
      k8s.apps().statefulSets().inNamespace(NS).withName("iscsi-csi-controller")
          .waitUntilReady(5, TimeUnit.MINUTES);

      apply(k8s, "01-pvc.yaml");
      waitBound(k8s, "iscsi-demo");
      if (iscsid) {
        apply(k8s, "02-pod.yaml");
        k8s.pods().withName("iscsi-demo").waitUntilReady(5, TimeUnit.MINUTES);
      }
      apply(k8s, "next/03-snapshot.yaml");
      var snapshots = k8s.genericKubernetesResources(
          new ResourceDefinitionContext.Builder().withGroup("snapshot.storage.k8s.io")
              .withVersion("v1").withPlural("volumesnapshots").withNamespaced(true).build());
      snapshots.inNamespace("default").withName("iscsi-demo-snap").waitUntilCondition(
          s -> s != null && Boolean.TRUE.equals(readyToUse(s)), 5, TimeUnit.MINUTES);
      apply(k8s, "next/04-restore.yaml", "PersistentVolumeClaim");
      waitBound(k8s, "iscsi-demo-restore");
      apply(k8s, "next/05-resize.yaml");
      k8s.persistentVolumeClaims().withName("iscsi-demo").waitUntilCondition(
          c -> c.getStatus().getCapacity() != null
              && "2Gi".equals(c.getStatus().getCapacity().get("storage").toString()),
          5, TimeUnit.MINUTES);
      apply(k8s, "next/06-clone.yaml");
      waitBound(k8s, "iscsi-demo-clone");
      apply(k8s, "07-block.yaml", "PersistentVolumeClaim");
      waitBound(k8s, "iscsi-demo-block");

      k8s.pods().inNamespace("default").delete();
      snapshots.inNamespace("default").delete();
      k8s.persistentVolumeClaims().inNamespace("default").delete();
      k8s.persistentVolumes().waitUntilCondition(pv -> pv == null, 5, TimeUnit.MINUTES);
      assertThat(k8s.persistentVolumes().list().getItems()).isEmpty();

      Helm.uninstall("iscsi-csi").withNamespace(NS).withKubeConfigContents(kubeconfig).call();
      assertThat(k8s.storage().v1().csiDrivers().withName("iscsi.csi.iscsicsi.org").get())
          .isNull();
    }
  }

  private static Object readyToUse(GenericKubernetesResource s) {
    Object status = s.getAdditionalProperties().get("status");
    return status instanceof java.util.Map<?, ?> m ? m.get("readyToUse") : null;
  }

  private static void waitBound(KubernetesClient k8s, String pvc) {
    k8s.persistentVolumeClaims().inNamespace("default").withName(pvc).waitUntilCondition(
        (PersistentVolumeClaim c) -> c != null && "Bound".equals(c.getStatus().getPhase()),
        5, TimeUnit.MINUTES);
  }

  /** Applies an example file (only objects of the given kinds, when any are named). */
  private static void apply(KubernetesClient k8s, String example, String... kinds)
      throws Exception {
    String yaml = Files.readString(Repo.deploy().resolve("examples").resolve(example));
    List<HasMetadata> objects =
        k8s.load(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8))).items();
    for (HasMetadata o : objects) {
      if (kinds.length == 0 || List.of(kinds).contains(o.getKind())) {
        k8s.resource(o).inNamespace("default").serverSideApply();
      }
    }
  }
}
