package org.iscsicsi.controller.identity;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/** The plugin's name and the version the build stamped into {@code version.properties}. */
public record DriverInfo(String name, String version) {

  /** The version of this build ("dev" when run from unfiltered sources). */
  public static String buildVersion() {
    try (InputStream in = DriverInfo.class.getResourceAsStream(
        "/org/iscsicsi/controller/version.properties")) {
      if (in == null) {
        return "dev";
      }
      Properties p = new Properties();
      p.load(in);
      String v = p.getProperty("version", "dev");
      return v.startsWith("${") ? "dev" : v;
    } catch (IOException e) {
      throw new UncheckedIOException("reading version.properties", e);
    }
  }
}
