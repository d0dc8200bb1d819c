package org.iscsicsi.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.marcnuri.helm.LintResult;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code helm lint --strict} and {@code helm template} (helm v3.21.0 through helm-java) pass for
 * the default values and for every documented values variant (src/test/resources/values), and
 * values that cannot work fail the render with a message that names the value: through
 * values.schema.json (misspelled keys, enums) or the chart's own checks (combinations).
 */
class ChartLintTest {

  static java.util.List<String> variants() {
    return ChartRenderer.defaultAndVariants();
  }

  @ParameterizedTest(name = "lint {0}")
  @MethodSource("variants")
  void lintIsClean(String variant, @TempDir Path scratch) throws Exception {
    LintResult result = ChartRenderer.lint(variant, scratch);
    assertThat(result.isFailed()).as("lint failed: %s", result.getMessages()).isFalse();
    assertThat(result.getMessages())
        .as("strict lint reports nothing but the chart-icon recommendation")
        .allMatch(m -> m.contains("icon is recommended"));
  }

  @ParameterizedTest(name = "template {0}")
  @MethodSource("variants")
  void templateRendersTheDriver(String variant) {
    var objects = ChartRenderer.render(variant);
    assertThat(objects).extracting(K8sObjects::kind)
        .contains("CSIDriver", "StatefulSet", "DaemonSet", "StorageClass", "ServiceAccount");
  }

  @Test
  void variantsAreDocumented() {
    assertThat(ChartRenderer.variants())
        .as("values variants exercised by the tests")
        .contains("hostpath-storage", "hostnetwork-portal", "chap-secret", "monitoring");
  }

  @Test
  void unknownPortalModeFails() {
    assertThatThrownBy(() -> ChartRenderer.template("default", Map.of("portal.mode", "nodePort")))
        .hasMessageContaining("at '/portal/mode': value must be one of 'service', 'hostNetwork'");
  }

  @Test
  void misspelledValueFails() {
    assertThatThrownBy(() -> ChartRenderer.template("default", Map.of("portl.mode", "service")))
        .hasMessageContaining("values don't meet the specifications of the schema")
        .hasMessageContaining("portl");
  }

  @Test
  void unknownStorageClassParameterFails() {
    assertThatThrownBy(
            () -> ChartRenderer.template("default",
                Map.of("storageClasses[0].name", "x", "storageClasses[0].parameters.fstype",
                    "ext4")))
        .hasMessageContaining("fstype");
  }

  @Test
  void hostPathWithoutNodeSelectorFails() {
    assertThatThrownBy(
            () ->
                ChartRenderer.template(
                    "default", Map.of("controller.storage.type", "hostPath")))
        .hasMessageContaining("needs controller.nodeSelector");
  }

  @Test
  void shortChapSecretFails() {
    assertThatThrownBy(
            () ->
                ChartRenderer.template(
                    "default",
                    Map.of("chap.create", true, "chap.username", "u", "chap.password", "short")))
        .hasMessageContaining("chap.password must be 12 to 16 characters");
  }

  @Test
  void chapWithoutPasswordFails() {
    assertThatThrownBy(
            () -> ChartRenderer.template("default", Map.of("chap.create", true)))
        .hasMessageContaining("chap.create needs chap.username and chap.password");
  }

  @Test
  void badFsTypeFails() {
    assertThatThrownBy(
            () ->
                ChartRenderer.template(
                    "default", Map.of("storageClasses[0].parameters.fsType", "btrfs")))
        .hasMessageContaining(
            "at '/storageClasses/0/parameters/fsType': value must be one of 'ext4', 'xfs'");
  }
}
