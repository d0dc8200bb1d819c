package org.iscsicsi.target.lvm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;

/**
 * Parses the {@code --reportformat json} output of {@code vgs} and {@code lvs} run with
 * {@code --units b --nosuffix}: {@code {"report": [{"vg": [{...}]}]}}, every value a string
 * (sizes in bytes, percentages with two decimals, absent ones empty).
 */
final class LvmReport {

  private static final ObjectMapper JSON = new ObjectMapper();

  private LvmReport() {
  }

  static List<VolumeGroup> volumeGroups(String json) throws IOException {
    List<VolumeGroup> out = new ArrayList<>();
    for (JsonNode row : rows(json, "vg")) {
      out.add(new VolumeGroup(text(row, "vg_name"), bytes(row, "vg_size"), bytes(row, "vg_free"),
          bytes(row, "vg_extent_size")));
    }
    return out;
  }

  static List<LogicalVolume> logicalVolumes(String json) throws IOException {
    List<LogicalVolume> out = new ArrayList<>();
    for (JsonNode row : rows(json, "lv")) {
      out.add(new LogicalVolume(text(row, "lv_name"), text(row, "vg_name"),
          bytes(row, "lv_size"), text(row, "lv_attr"), text(row, "pool_lv"),
          percent(row, "data_percent"), text(row, "lv_path")));
    }
    return out;
  }

  private static List<JsonNode> rows(String json, String kind) throws IOException {
    JsonNode report;
    try {
      report = JSON.readTree(json).path("report");
    } catch (IOException e) {
      throw new IOException("not an lvm JSON report: " + e.getMessage(), e);
    }
    if (!report.isArray()) {
      throw new IOException("lvm JSON report without a \"report\" array");
    }
    List<JsonNode> rows = new ArrayList<>();
    for (JsonNode section : report) {
      JsonNode list = section.path(kind);
      if (!list.isArray()) {
        throw new IOException("lvm JSON report without a \"" + kind + "\" list");
      }
      list.forEach(rows::add);
    }
    return rows;
  }

  private static String text(JsonNode row, String field) throws IOException {
    JsonNode v = row.get(field);
    if (v == null || !v.isTextual()) {
      throw new IOException("lvm report row lacks \"" + field + "\": " + row);
    }
    return v.asText();
  }

  private static long bytes(JsonNode row, String field) throws IOException {
    String v = text(row, field);
    try {
      long n = Long.parseLong(v);
      if (n < 0) {
        throw new NumberFormatException("negative");
      }
      return n;
    } catch (NumberFormatException e) {
      throw new IOException("lvm report field \"" + field + "\" is not a byte count: \"" + v
          + "\" (run with --units b --nosuffix)", e);
    }
  }

  private static OptionalDouble percent(JsonNode row, String field) throws IOException {
    String v = text(row, field);
    if (v.isEmpty()) {
      return OptionalDouble.empty();
    }
    try {
      double d = Double.parseDouble(v);
      if (d < 0 || d > 100 || Double.isNaN(d)) {
        throw new NumberFormatException("outside 0-100");
      }
      return OptionalDouble.of(d);
    } catch (NumberFormatException e) {
      throw new IOException("lvm report field \"" + field + "\" is not a percentage: \"" + v
          + "\"", e);
    }
  }
}
