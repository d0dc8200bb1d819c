package org.iscsicsi.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * deploy/ is the chart rendered with default values: the test fails when deploy/iscsi-csi.yaml
 * drifts from {@code helm template} (rewrite it with {@code -Discsi.updateDeploy=true}); the
 * kustomization builds (with kubectl, when installed) into exactly those objects; every example
 * is valid against the API schema and the examples form one consistent lifecycle (the classes,
 * snapshot and source PVCs they name exist, a resize grows, block means volumeDevices, a claim
 * bound by volumeName has its static PV of an existing SAN and that PV's Secret).
 */
class DeployManifestsTest {
  static final String HEADER =
      """
      # Generated from helm/iscsi-csi with default values (release iscsi-csi, namespace
      # iscsi-csi) by e2e's DeployManifestsTest. Do not edit: change the chart, then run
      #   ./mvnw -pl e2e test -Dtest=DeployManifestsTest -Discsi.updateDeploy=true
      """;

  @Test
  void manifestsMatchTheChart() throws IOException {
    String expected = HEADER + ChartRenderer.template("default");
    Path file = Repo.deploy().resolve("iscsi-csi.yaml");
    if (Boolean.getBoolean("iscsi.updateDeploy")) {
      Files.writeString(file, expected);
    }
    assertThat(file).as("deploy/iscsi-csi.yaml exists").exists();
    assertThat(Files.readString(file))
        .as("deploy/iscsi-csi.yaml differs from the chart: rerun with -Discsi.updateDeploy=true")
        .isEqualTo(expected);
  }

  @Test
  void manifestsAreValidAgainstTheApiSchema() throws IOException {
    OpenApiValidator validator = OpenApiValidator.load();
    List<String> errors = new ArrayList<>();
    for (String f : List.of("namespace.yaml", "iscsi-csi.yaml")) {
      for (ObjectNode o : K8sObjects.parse(Files.readString(Repo.deploy().resolve(f)))) {
        errors.addAll(validator.validate(o));
      }
    }
    assertThat(errors).isEmpty();
  }

  @Test
  void kustomizationBuildsTheChartObjects() throws Exception {
    Path kubectl = onPath("kubectl");
    assumeTrue(kubectl != null, "kubectl not installed: kustomize build not checked");
    Process p =
        new ProcessBuilder(kubectl.toString(), "kustomize", Repo.deploy().toString())
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as("kubectl kustomize exit code").isZero();
    Set<String> built = ids(K8sObjects.parse(out));
    Set<String> expected = ids(ChartRenderer.render("default"));
    expected.add("v1 Namespace iscsi-csi");
    assertThat(built).isEqualTo(expected);
  }

  @Test
  void examplesAreValidAgainstTheApiSchema() throws IOException {
    OpenApiValidator validator = OpenApiValidator.load();
    List<String> errors = new ArrayList<>();
    List<ObjectNode> examples = examples();
    for (ObjectNode o : examples) {
      errors.addAll(validator.validate(o));
    }
    assertThat(errors).isEmpty();
    assertThat(examples).extracting(K8sObjects::kind)
        .contains("StorageClass", "PersistentVolumeClaim", "Pod", "VolumeSnapshot");
  }

  @Test
  void examplesFormOneLifecycle() throws IOException {
    List<ObjectNode> chart = ChartRenderer.render("default");
    List<ObjectNode> examples = examples();
    Set<String> classes = new HashSet<>();
    for (JsonNode sc : K8sObjects.ofKind(chart, "StorageClass")) {
      classes.add(K8sObjects.name(sc));
    }
    for (JsonNode sc : K8sObjects.ofKind(examples, "StorageClass")) {
      assertThat(sc.path("provisioner").asText()).isEqualTo("iscsi.csi.iscsicsi.org");
      classes.add(K8sObjects.name(sc));
    }
    Set<String> pvcs = new HashSet<>();
    List<JsonNode> claims = new ArrayList<>(K8sObjects.ofKind(examples, "PersistentVolumeClaim"));
    claims.forEach(c -> pvcs.add(K8sObjects.name(c)));
    for (JsonNode pvc : claims) {
      if (!pvc.at("/spec/volumeName").asText().isEmpty()) {
        assertStaticBinding(examples, pvc);
        continue;
      }
      assertThat(classes).contains(pvc.at("/spec/storageClassName").asText());
      JsonNode source = pvc.at("/spec/dataSource");
      if (source.path("kind").asText().equals("VolumeSnapshot")) {
        assertThat(K8sObjects.find(examples, "VolumeSnapshot", source.path("name").asText()))
            .isPresent();
      } else if (source.path("kind").asText().equals("PersistentVolumeClaim")) {
        assertThat(pvcs).contains(source.path("name").asText());
      }
    }
    for (JsonNode snap : K8sObjects.ofKind(examples, "VolumeSnapshot")) {
      assertThat(pvcs).contains(snap.at("/spec/source/persistentVolumeClaimName").asText());
      assertThat(K8sObjects.find(chart, "VolumeSnapshotClass",
          snap.at("/spec/volumeSnapshotClassName").asText())).isPresent();
    }
    for (JsonNode pod : K8sObjects.ofKind(examples, "Pod")) {
      for (JsonNode v : pod.at("/spec/volumes")) {
        String claim = v.at("/persistentVolumeClaim/claimName").asText();
        assertThat(pvcs).contains(claim);
        JsonNode pvc = claims.stream().filter(c -> K8sObjects.name(c).equals(claim))
            .findFirst().orElseThrow();
        boolean block = pvc.at("/spec/volumeMode").asText().equals("Block");
        String use = block ? "volumeDevices" : "volumeMounts";
        assertThat(pod.at("/spec/containers/0/" + use).findValuesAsText("name"))
            .as("%s uses %s through %s", K8sObjects.name(pod), claim, use)
            .contains(v.path("name").asText());
      }
    }
    // The resize example grows the PVC of 01-pvc.yaml.
    JsonNode before = K8sObjects.parse(read("01-pvc.yaml")).getFirst();
    JsonNode after = K8sObjects.parse(read("next/05-resize.yaml")).getFirst();
    assertThat(K8sObjects.name(after)).isEqualTo(K8sObjects.name(before));
    assertThat(gibibytes(after)).isGreaterThan(gibibytes(before));
  }

  /**
   * A claim bound by volumeName to a static PV of an existing SAN: no class on either side (so no
   * provisioning), the PV this driver's with an external handle, Retain, reserved for the claim,
   * and its node-stage Secret among the examples.
   */
  private static void assertStaticBinding(List<ObjectNode> examples, JsonNode pvc) {
    assertThat(pvc.at("/spec/storageClassName").asText()).isEmpty();
    JsonNode pv = K8sObjects.find(examples, "PersistentVolume",
        pvc.at("/spec/volumeName").asText()).orElseThrow();
    assertThat(pv.at("/spec/storageClassName").asText()).isEmpty();
    assertThat(pv.at("/spec/persistentVolumeReclaimPolicy").asText()).isEqualTo("Retain");
    assertThat(pv.at("/spec/claimRef/name").asText()).isEqualTo(K8sObjects.name(pvc));
    assertThat(pv.at("/spec/csi/driver").asText()).isEqualTo("iscsi.csi.iscsicsi.org");
    assertThat(pv.at("/spec/csi/volumeHandle").asText()).startsWith("ext:");
    assertThat(pv.at("/spec/csi/volumeAttributes").fieldNames()).toIterable()
        .contains("portals", "targetIqn", "lun");
    assertThat(K8sObjects.find(examples, "Secret",
        pv.at("/spec/csi/nodeStageSecretRef/name").asText())).isPresent();
  }

  private static int gibibytes(JsonNode pvc) {
    String size = pvc.at("/spec/resources/requests/storage").asText();
    assertThat(size).endsWith("Gi");
    return Integer.parseInt(size.substring(0, size.length() - 2));
  }

  private static String read(String example) throws IOException {
    return Files.readString(Repo.deploy().resolve("examples").resolve(example));
  }

  private static List<ObjectNode> examples() throws IOException {
    List<ObjectNode> all = new ArrayList<>();
    // the set applied at once, next/ (one at a time after it) and setups/ (other setups)
    try (Stream<Path> files = Files.walk(Repo.deploy().resolve("examples"))) {
      for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
        all.addAll(K8sObjects.parse(Files.readString(f)));
      }
    }
    return all;
  }

  private static Set<String> ids(List<ObjectNode> objects) {
    Set<String> ids = new HashSet<>();
    objects.forEach(o -> ids.add(K8sObjects.id(o)));
    return ids;
  }

  static Path onPath(String tool) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      Path p = Path.of(dir, tool);
      if (Files.isExecutable(p)) {
        return p;
      }
    }
    return null;
  }
}
