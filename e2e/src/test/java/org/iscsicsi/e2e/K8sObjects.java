package org.iscsicsi.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Parses multi-document Kubernetes YAML (helm output, deploy/) into JSON trees. */
final class K8sObjects {
  static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  static final ObjectMapper JSON = new ObjectMapper();

  private K8sObjects() {}

  /** Every non-empty document of {@code yaml}; fails on a document that is not an object. */
  static List<ObjectNode> parse(String yaml) {
    List<ObjectNode> objects = new ArrayList<>();
    try (MappingIterator<JsonNode> docs = YAML.readerFor(JsonNode.class).readValues(yaml)) {
      while (docs.hasNext()) {
        JsonNode doc = docs.next();
        if (doc == null || doc.isNull() || doc.isMissingNode()) {
          continue;
        }
        if (!(doc instanceof ObjectNode object)) {
          throw new IllegalArgumentException("YAML document is not an object: " + doc);
        }
        if (!object.isEmpty()) {
          objects.add(object);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot parse YAML", e);
    }
    return objects;
  }

  static String kind(JsonNode o) {
    return o.path("kind").asText();
  }

  static String name(JsonNode o) {
    return o.path("metadata").path("name").asText();
  }

  static String id(JsonNode o) {
    return o.path("apiVersion").asText() + " " + kind(o) + " " + name(o);
  }

  static List<ObjectNode> ofKind(List<ObjectNode> objects, String kind) {
    return objects.stream().filter(o -> kind(o).equals(kind)).toList();
  }

  static Optional<ObjectNode> find(List<ObjectNode> objects, String kind, String name) {
    return objects.stream()
        .filter(o -> kind(o).equals(kind) && name(o).equals(name))
        .findFirst();
  }

  static ObjectNode get(List<ObjectNode> objects, String kind, String name) {
    return find(objects, kind, name)
        .orElseThrow(() -> new AssertionError("no " + kind + " " + name + " rendered"));
  }
}
