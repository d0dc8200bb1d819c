package org.iscsicsi.e2e.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The chart ships the CSI sidecar releases the cluster test runs, with arguments those releases
 * accept. Pins, for each sidecar container of the controller StatefulSet in deploy/iscsi-csi.yaml
 * (the chart rendered with default values):
 *
 * <ul>
 *   <li>its image tag is the version e2e/cluster/build.sh builds and VolumeLifecycleTest runs, so
 *       a chart upgrade of a sidecar cannot go untested (and a build.sh upgrade forces the chart
 *       along);
 *   <li>the binary build.sh built from that release parses the container's exact arguments
 *       ({@code --version} after them: the sidecars parse every flag first, exit 2 on an unknown
 *       flag or feature gate, then print the version and exit 0), and warns about none of them
 *       (no deprecated flag, no GA feature gate).
 * </ul>
 *
 * <p>Needs build.sh's binaries; skipped with a reason when they are not built (CI builds them).
 */
class ChartSidecarsTest {
  static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  static final Pattern VERSION = Pattern.compile("(?m)^([A-Z_]+)_VERSION=(\\S+)");

  static Map<String, String> pinned;
  static List<JsonNode> containers;
  static Path bin;

  @BeforeAll
  static void load() throws Exception {
    Path repo = TestCluster.repoRoot();
    pinned = pinnedVersions(Files.readString(repo.resolve("e2e/cluster/build.sh")));
    containers = controllerContainers(Files.readString(repo.resolve("deploy/iscsi-csi.yaml")));
    Optional<Path> built = TestCluster.builtBinaries();
    bin = built.map(p -> p.resolve("bin")).orElse(null);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({
    "csi-provisioner, PROVISIONER",
    "csi-attacher, ATTACHER",
    "csi-resizer, RESIZER",
    "csi-snapshotter, SNAPSHOTTER"
  })
  void chartRunsTheTestedReleaseWithArgumentsItAccepts(String name, String versionKey)
      throws Exception {
    JsonNode container = container(name);
    String version = pinned.get(versionKey);
    assertThat(version).as("%s_VERSION in build.sh", versionKey).isNotNull();
    assertThat(container.path("image").asText())
        .isEqualTo("registry.k8s.io/sig-storage/" + name + ":v" + version);

    assumeTrue(bin != null, "e2e/cluster/build.sh has not built the sidecars here");
    List<String> argv = new ArrayList<>();
    argv.add(bin.resolve(name).toString());
    for (JsonNode arg : container.path("args")) {
      // The only substitution the chart relies on: kubelet expands $(POD_NAMESPACE).
      argv.add(arg.asText().replace("$(POD_NAMESPACE)", "iscsi-csi"));
    }
    argv.add("--version");
    TestCluster.Result r = TestCluster.exec(argv, Duration.ofSeconds(60), List.of());
    String output = r.out() + r.err();
    assertThat(r.exit()).as("%s with the chart's arguments:%n%s", name, output).isZero();
    assertThat(output.toLowerCase())
        .as("%s warns about the chart's arguments", name)
        .doesNotContain("deprecated")
        .doesNotContain("ga feature gate")
        .doesNotContain("unknown flag");
  }

  static JsonNode container(String name) {
    return containers.stream()
        .filter(c -> c.path("name").asText().equals(name))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no container " + name + " in the controller"));
  }

  static Map<String, String> pinnedVersions(String script) {
    Map<String, String> versions = new java.util.HashMap<>();
    Matcher m = VERSION.matcher(script);
    while (m.find()) {
      versions.put(m.group(1), m.group(2));
    }
    return versions;
  }

  /** The containers of the StatefulSet that runs the controller and its sidecars. */
  static List<JsonNode> controllerContainers(String yaml) throws IOException {
    try (MappingIterator<JsonNode> docs = YAML.readerFor(JsonNode.class).readValues(yaml)) {
      while (docs.hasNext()) {
        JsonNode doc = docs.next();
        if (doc != null && doc.path("kind").asText().equals("StatefulSet")) {
          List<JsonNode> list = new ArrayList<>();
          doc.at("/spec/template/spec/containers").forEach(list::add);
          return list;
        }
      }
    }
    throw new AssertionError("deploy/iscsi-csi.yaml has no StatefulSet");
  }
}
