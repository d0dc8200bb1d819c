package org.iscsicsi.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Runs helm (helm-java, which embeds helm v3.21.0) on the chart: template and lint, with the
 * default values or one of the documented variants in src/test/resources/values/.
 */
final class ChartRenderer {
  static final String RELEASE = "iscsi-csi";
  static final String NAMESPACE = "iscsi-csi";
  static final String KUBE_VERSION = "v1.37.2";

  private ChartRenderer() {}

  /** The documented values variants: file names under values/ without ".yaml". */
  static List<String> variants() {
    try (Stream<Path> files = Files.list(variantDir())) {
      return files
          .map(p -> p.getFileName().toString())
          .filter(n -> n.endsWith(".yaml"))
          .map(n -> n.substring(0, n.length() - ".yaml".length()))
          .sorted()
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Default values plus every variant: "default" means no values file. */
  static List<String> defaultAndVariants() {
    List<String> all = new ArrayList<>();
    all.add("default");
    all.addAll(variants());
    return all;
  }

  static Path variantFile(String variant) {
    return variantDir().resolve(variant + ".yaml");
  }

  private static Path variantDir() {
    try {
      return Path.of(ChartRenderer.class.getResource("/values").toURI());
    } catch (java.net.URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /** helm template with the variant's values file ("default": none) and extra --set pairs. */
  static String template(String variant, Map<String, Object> sets) {
    var cmd =
        new Helm(Repo.chart())
            .template()
            .withName(RELEASE)
            .withNamespace(NAMESPACE)
            .withKubeVersion(KUBE_VERSION);
    if (!variant.equals("default")) {
      cmd = cmd.withValuesFile(variantFile(variant));
    }
    for (var e : sets.entrySet()) {
      cmd = cmd.set(e.getKey(), e.getValue());
    }
    return cmd.call();
  }

  static String template(String variant) {
    return template(variant, Map.of());
  }

  static List<ObjectNode> render(String variant) {
    return K8sObjects.parse(template(variant));
  }

  /**
   * helm lint --strict of the chart with the variant's values. helm-java's lint takes no values
   * file, so the variant is merged into a copy of the chart's values.yaml (as helm merges it).
   */
  static LintResult lint(String variant, Path scratch) throws IOException {
    Path chart = Repo.chart();
    if (!variant.equals("default")) {
      Path copy = scratch.resolve("iscsi-csi");
      copyTree(chart, copy);
      JsonNode values = K8sObjects.YAML.readTree(chart.resolve("values.yaml").toFile());
      JsonNode overlay = K8sObjects.YAML.readTree(variantFile(variant).toFile());
      merge((ObjectNode) values, overlay);
      K8sObjects.YAML.writeValue(copy.resolve("values.yaml").toFile(), values);
      chart = copy;
    }
    return new Helm(chart).lint().strict().call();
  }

  /**
   * The chart's {@code helm test} hook objects, rendered. helm-java's template leaves hooks out,
   * so this renders a copy of the chart whose hook annotations are turned into plain
   * annotations ({@code hook-was}); everything else renders as helm renders it.
   */
  static List<ObjectNode> renderTestHooks(Path scratch) throws IOException {
    Path copy = scratch.resolve("iscsi-csi-hooks");
    copyTree(Repo.chart(), copy);
    try (Stream<Path> files = Files.walk(copy.resolve("templates/tests"))) {
      for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
        Files.writeString(f, Files.readString(f).replace("helm.sh/hook", "iscsi-csi/hook-was"));
      }
    }
    String yaml =
        new Helm(copy)
            .template()
            .withName(RELEASE)
            .withNamespace(NAMESPACE)
            .withKubeVersion(KUBE_VERSION)
            .call();
    return K8sObjects.parse(yaml).stream()
        .filter(o -> o.path("metadata").path("annotations").has("iscsi-csi/hook-was"))
        .toList();
  }

  /** Helm's merge: maps merge key by key, anything else (lists included) replaces. */
  static void merge(ObjectNode base, JsonNode overlay) {
    for (Iterator<Map.Entry<String, JsonNode>> it = overlay.properties().iterator();
        it.hasNext(); ) {
      var e = it.next();
      JsonNode current = base.get(e.getKey());
      if (current instanceof ObjectNode currentObject && e.getValue().isObject()) {
        merge(currentObject, e.getValue());
      } else {
        base.set(e.getKey(), e.getValue());
      }
    }
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> paths = Files.walk(from)) {
      for (Path p : (Iterable<Path>) paths::iterator) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target);
        }
      }
    }
  }
}
