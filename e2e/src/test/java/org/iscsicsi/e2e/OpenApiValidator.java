package org.iscsicsi.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

/**
 * Validates Kubernetes objects against the API's published OpenAPI v3 schema (Kubernetes
 * v1.37.2, shipped in test resources) and against CRD schemas (VolumeSnapshot*), the way a
 * kube-apiserver with strict field validation decodes them: unknown fields, wrong JSON types,
 * missing required fields, values outside an enum are errors. It also checks what the apiserver
 * validates beyond the schema for every object: metadata names (DNS-1123) and label syntax.
 *
 * <p>This stands in for a server-side dry run until the e2e control plane (issue 8) exists; it
 * does not run admission or the per-kind validation code of the apiserver.
 */
final class OpenApiValidator {
  static final String K8S_VERSION = "v1.37.2";
  private static final String[] K8S_DOCS = {
    "api__v1", "apis__apps__v1", "apis__storage.k8s.io__v1", "apis__rbac.authorization.k8s.io__v1",
    "apis__apiextensions.k8s.io__v1", "apis__networking.k8s.io__v1"
  };
  private static final String[] CRDS = {
    "snapshot.storage.k8s.io_volumesnapshotclasses.yaml",
    "snapshot.storage.k8s.io_volumesnapshotcontents.yaml",
    "snapshot.storage.k8s.io_volumesnapshots.yaml",
    "groupsnapshot.storage.k8s.io_volumegroupsnapshotclasses.yaml"
  };
  private static final String OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
  private static final Pattern DNS_SUBDOMAIN =
      Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  private static final Pattern LABEL_VALUE =
      Pattern.compile("(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?");
  private static final Pattern LABEL_NAME =
      Pattern.compile("[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?");

  /** Kinds the chart may render whose CRD schema is not shipped: checked for metadata only. */
  static final Set<String> METADATA_ONLY = Set.of("monitoring.coreos.com/v1 ServiceMonitor");

  private final Map<String, JsonNode> schemas = new HashMap<>();
  private final Map<String, JsonNode> byGvk = new HashMap<>();

  private OpenApiValidator() {}

  static OpenApiValidator load() {
    OpenApiValidator v = new OpenApiValidator();
    for (String doc : K8S_DOCS) {
      String res = "/openapi/k8s-" + K8S_VERSION + "/" + doc + "_openapi.json.gz";
      try (InputStream in = new GZIPInputStream(resource(res))) {
        JsonNode components = K8sObjects.JSON.readTree(in).path("components").path("schemas");
        components
            .properties()
            .forEach(
                e -> {
                  v.schemas.putIfAbsent(e.getKey(), e.getValue());
                  for (JsonNode gvk : e.getValue().path("x-kubernetes-group-version-kind")) {
                    v.byGvk.putIfAbsent(
                        apiVersion(gvk.path("group").asText(), gvk.path("version").asText())
                            + " "
                            + gvk.path("kind").asText(),
                        e.getValue());
                  }
                });
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + res, e);
      }
    }
    for (String crd : CRDS) {
      String res = "/openapi/crds/" + crd;
      try (InputStream in = resource(res)) {
        JsonNode def = K8sObjects.YAML.readTree(in);
        String group = def.path("spec").path("group").asText();
        String kind = def.path("spec").path("names").path("kind").asText();
        for (JsonNode version : def.path("spec").path("versions")) {
          if (version.path("served").asBoolean()) {
            v.byGvk.put(
                apiVersion(group, version.path("name").asText()) + " " + kind,
                version.path("schema").path("openAPIV3Schema"));
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + res, e);
      }
    }
    return v;
  }

  private static InputStream resource(String name) {
    InputStream in = OpenApiValidator.class.getResourceAsStream(name);
    if (in == null) {
      throw new IllegalStateException("missing test resource " + name);
    }
    return in;
  }

  private static String apiVersion(String group, String version) {
    return group.isEmpty() ? version : group + "/" + version;
  }

  /** Whether a schema for this object's apiVersion and kind is known. */
  boolean knows(JsonNode object) {
    return byGvk.containsKey(gvk(object));
  }

  private static String gvk(JsonNode object) {
    return object.path("apiVersion").asText() + " " + object.path("kind").asText();
  }

  /** Every problem found in {@code object}, each prefixed with the object and a JSON path. */
  List<String> validate(JsonNode object) {
    List<String> errors = new ArrayList<>();
    String id = K8sObjects.id(object);
    JsonNode schema = byGvk.get(gvk(object));
    if (schema == null && !METADATA_ONLY.contains(gvk(object))) {
      errors.add(id + ": no schema for " + gvk(object) + " in Kubernetes " + K8S_VERSION);
      return errors;
    }
    if (schema != null) {
      check(object, schema, "", errors);
    }
    checkMetadata(object, errors);
    return errors.stream().map(e -> id + ": " + e).toList();
  }

  private void checkMetadata(JsonNode object, List<String> errors) {
    JsonNode meta = object.path("metadata");
    if (!meta.isObject()) {
      errors.add(".metadata: missing");
      return;
    }
    // CRD schemas declare metadata as a bare object; the apiserver decodes it as ObjectMeta.
    check(meta, schemas.get(OBJECT_META), ".metadata", errors);
    String name = meta.path("name").asText("");
    if (name.isEmpty() || name.length() > 253 || !DNS_SUBDOMAIN.matcher(name).matches()) {
      errors.add(".metadata.name: not a DNS-1123 subdomain: '" + name + "'");
    }
    meta.path("labels")
        .properties()
        .forEach(
            e -> {
              if (!validQualifiedName(e.getKey())) {
                errors.add(".metadata.labels: invalid key '" + e.getKey() + "'");
              }
              String value = e.getValue().asText();
              if (value.length() > 63 || !LABEL_VALUE.matcher(value).matches()) {
                errors.add(".metadata.labels." + e.getKey() + ": invalid value '" + value + "'");
              }
            });
    meta.path("annotations")
        .properties()
        .forEach(
            e -> {
              if (!validQualifiedName(e.getKey())) {
                errors.add(".metadata.annotations: invalid key '" + e.getKey() + "'");
              }
            });
  }

  private static boolean validQualifiedName(String key) {
    int slash = key.indexOf('/');
    String name = slash < 0 ? key : key.substring(slash + 1);
    if (slash >= 0) {
      String prefix = key.substring(0, slash);
      if (prefix.length() > 253 || !DNS_SUBDOMAIN.matcher(prefix).matches()) {
        return false;
      }
    }
    return name.length() <= 63 && LABEL_NAME.matcher(name).matches();
  }

  private JsonNode resolve(JsonNode schema) {
    while (schema.has("$ref")) {
      String ref = schema.get("$ref").asText();
      String name = ref.substring(ref.lastIndexOf('/') + 1);
      JsonNode target = schemas.get(name);
      if (target == null) {
        throw new IllegalStateException("unresolved schema reference " + ref);
      }
      schema = target;
    }
    return schema;
  }

  private void check(JsonNode value, JsonNode schema, String path, List<String> errors) {
    schema = resolve(schema);
    if (value.isNull()) {
      return; // the apiserver treats an explicit null as unset
    }
    for (JsonNode part : schema.path("allOf")) {
      check(value, part, path, errors);
    }
    if (schema.has("oneOf") || schema.has("anyOf")) {
      JsonNode alternatives = schema.has("oneOf") ? schema.get("oneOf") : schema.get("anyOf");
      boolean any = false;
      for (JsonNode alternative : alternatives) {
        List<String> sub = new ArrayList<>();
        check(value, alternative, path, sub);
        any |= sub.isEmpty();
      }
      if (!any && !schema.path("x-kubernetes-int-or-string").asBoolean()) {
        errors.add(path + ": " + describe(value) + " matches none of " + alternatives);
        return;
      }
    }
    if (schema.path("x-kubernetes-int-or-string").asBoolean()) {
      if (!value.isIntegralNumber() && !value.isTextual()) {
        errors.add(path + ": expected an integer or a string, got " + describe(value));
      }
      return;
    }
    if (schema.has("enum")) {
      boolean found = false;
      for (JsonNode allowed : schema.get("enum")) {
        found |= allowed.equals(value);
      }
      if (!found) {
        errors.add(path + ": " + value + " is not one of " + schema.get("enum"));
      }
    }
    String type = schema.path("type").asText("");
    switch (type) {
      case "string" -> expect(value.isTextual(), "a string", value, path, errors);
      case "integer" -> expect(value.isIntegralNumber(), "an integer", value, path, errors);
      case "number" -> expect(value.isNumber(), "a number", value, path, errors);
      case "boolean" -> expect(value.isBoolean(), "a boolean", value, path, errors);
      case "array" -> {
        if (expect(value.isArray(), "an array", value, path, errors) && schema.has("items")) {
          for (int i = 0; i < value.size(); i++) {
            check(value.get(i), schema.get("items"), path + "[" + i + "]", errors);
          }
        }
      }
      case "object", "" -> {
        if (type.isEmpty() && !schema.has("properties") && !schema.has("additionalProperties")) {
          return; // no constraint (e.g. a oneOf wrapper already checked)
        }
        if (expect(value.isObject(), "an object", value, path, errors)) {
          checkObject(value, schema, path, errors);
        }
      }
      default -> errors.add(path + ": unsupported schema type " + type);
    }
  }

  private void checkObject(JsonNode value, JsonNode schema, String path, List<String> errors) {
    JsonNode properties = schema.path("properties");
    JsonNode additional = schema.get("additionalProperties");
    boolean preserveUnknown = schema.path("x-kubernetes-preserve-unknown-fields").asBoolean();
    value
        .properties()
        .forEach(
            e -> {
              String field = e.getKey();
              String fieldPath = path + "." + field;
              if (path.isEmpty() && field.equals("metadata")) {
                return; // checked as ObjectMeta by checkMetadata (CRDs declare a bare object)
              }
              if (properties.has(field)) {
                check(e.getValue(), properties.get(field), fieldPath, errors);
              } else if (additional != null && additional.isObject()) {
                check(e.getValue(), additional, fieldPath, errors);
              } else if (!preserveUnknown
                  && !(path.isEmpty() && (field.equals("apiVersion") || field.equals("kind")))
                  && !(additional != null && additional.asBoolean(false))) {
                errors.add(fieldPath + ": unknown field");
              }
            });
    for (JsonNode required : schema.path("required")) {
      if (!value.has(required.asText())) {
        errors.add(path + "." + required.asText() + ": required field missing");
      }
    }
  }

  private static boolean expect(
      boolean ok, String expected, JsonNode value, String path, List<String> errors) {
    if (!ok) {
      errors.add(path + ": expected " + expected + ", got " + describe(value));
    }
    return ok;
  }

  private static String describe(JsonNode value) {
    String text = value.toString();
    return value.getNodeType().name().toLowerCase() + " "
        + (text.length() > 60 ? text.substring(0, 60) + "..." : text);
  }
}
