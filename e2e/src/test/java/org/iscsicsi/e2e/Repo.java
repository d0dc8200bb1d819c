package org.iscsicsi.e2e;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locations in the repository that the e2e tests read: the chart, deploy/ and the images. */
final class Repo {
  private Repo() {}

  /** The repository root (surefire passes it; from an IDE the working dir is e2e/). */
  static Path root() {
    String configured = System.getProperty("iscsi.repoRoot");
    Path root = configured != null ? Path.of(configured) : Path.of("..");
    root = root.toAbsolutePath().normalize();
    if (!Files.isDirectory(root.resolve("helm/iscsi-csi"))) {
      throw new IllegalStateException("not the repository root (no helm/iscsi-csi): " + root);
    }
    return root;
  }

  static Path chart() {
    return root().resolve("helm/iscsi-csi");
  }

  static Path deploy() {
    return root().resolve("deploy");
  }
}
