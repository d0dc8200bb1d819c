package org.iscsicsi.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every object the chart renders, for the default values and each variant, is valid against the
 * Kubernetes v1.37.2 OpenAPI v3 schema (and the VolumeSnapshot CRD schema), and the validator
 * itself rejects what a strict apiserver rejects (unknown field, wrong type, missing required
 * field, enum value, bad name), so a pass means something.
 */
class ChartSchemaTest {
  static OpenApiValidator validator;

  @BeforeAll
  static void loadSchemas() {
    validator = OpenApiValidator.load();
  }

  static List<String> variants() {
    return ChartRenderer.defaultAndVariants();
  }

  @ParameterizedTest(name = "schema {0}")
  @MethodSource("variants")
  void renderedObjectsMatchTheApiSchema(String variant) {
    List<ObjectNode> objects = ChartRenderer.render(variant);
    assertThat(objects).isNotEmpty();
    List<String> errors = objects.stream().flatMap(o -> validator.validate(o).stream()).toList();
    assertThat(errors).as("schema errors of variant %s", variant).isEmpty();
  }

  @Test
  void everyRenderedKindHasASchemaExceptTheServiceMonitor() {
    List<String> unchecked =
        ChartRenderer.render("monitoring").stream()
            .filter(o -> !validator.knows(o))
            .map(o -> o.path("apiVersion").asText() + " " + K8sObjects.kind(o))
            .distinct()
            .toList();
    assertThat(unchecked).containsExactly("monitoring.coreos.com/v1 ServiceMonitor");
  }

  @Test
  void unknownFieldIsRejected() {
    ObjectNode sts = statefulSet();
    ((ObjectNode) sts.path("spec").path("template").path("spec")).put("hostNetwrok", true);
    assertThat(validator.validate(sts))
        .anyMatch(e -> e.contains(".spec.template.spec.hostNetwrok: unknown field"));
  }

  @Test
  void wrongTypeIsRejected() {
    ObjectNode sts = statefulSet();
    ((ObjectNode) sts.path("spec")).put("replicas", "one");
    assertThat(validator.validate(sts))
        .anyMatch(e -> e.contains(".spec.replicas: expected an integer"));
  }

  @Test
  void nonStringEnvValueIsRejected() {
    ObjectNode sts = statefulSet();
    ObjectNode env =
        (ObjectNode) sts.at("/spec/template/spec/containers/0/env").get(0);
    env.remove("valueFrom");
    env.put("value", true);
    assertThat(validator.validate(sts))
        .anyMatch(e -> e.contains("env[0].value: expected a string, got boolean"));
  }

  @Test
  void missingRequiredFieldIsRejected() {
    ObjectNode sts = statefulSet();
    ((ObjectNode) sts.at("/spec/template/spec/containers/0")).remove("name");
    assertThat(validator.validate(sts))
        .anyMatch(e -> e.contains("containers[0].name: required field missing"));
  }

  @Test
  void crdEnumIsEnforced() {
    ObjectNode vsc =
        K8sObjects.get(
            ChartRenderer.render("default"), "VolumeSnapshotClass", "iscsi-csi-snapshot");
    vsc.put("deletionPolicy", "Keep");
    assertThat(validator.validate(vsc))
        .anyMatch(e -> e.contains(".deletionPolicy: \"Keep\" is not one of"));
  }

  @Test
  void invalidNameAndLabelAreRejected() {
    ObjectNode sts = statefulSet();
    ((ObjectNode) sts.path("metadata")).put("name", "Bad_Name");
    ((ObjectNode) sts.path("metadata").path("labels")).put("app", "a value with spaces");
    assertThat(validator.validate(sts))
        .anyMatch(e -> e.contains("not a DNS-1123 subdomain"))
        .anyMatch(e -> e.contains("labels.app: invalid value"));
  }

  @Test
  void unknownKindIsRejected() {
    ObjectNode sts = statefulSet();
    sts.put("apiVersion", "apps/v1beta9");
    assertThat(validator.validate(sts)).anyMatch(e -> e.contains("no schema for apps/v1beta9"));
  }

  private static ObjectNode statefulSet() {
    return K8sObjects.get(ChartRenderer.render("default"), "StatefulSet", "iscsi-csi-controller");
  }
}
