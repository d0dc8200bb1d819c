package org.iscsicsi.e2e;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Starts a container from an OCI image tarball with real tools from Debian's packages: umoci
 * unpacks the image into a runtime bundle (rootfs + config.json from the image's config), runc
 * runs it. No daemon, no registry.
 */
final class OciRuntime {
  /** Output and exit code of one container run. */
  record Run(int exitCode, String output) {}

  private OciRuntime() {}

  /** Which of the tools this needs are missing from PATH (empty: all there). */
  static List<String> missingTools() {
    List<String> missing = new ArrayList<>();
    for (String tool : List.of("mmdebstrap", "umoci", "runc", "tar")) {
      if (DeployManifestsTest.onPath(tool) == null) {
        missing.add(tool);
      }
    }
    return missing;
  }

  /** Unpacked layouts and bundles, shared by the tests of one run (unpacking is the slow part). */
  private static final Map<String, Path> UNPACKED = new ConcurrentHashMap<>();
  private static Path cacheDir;

  private static synchronized Path cacheDir() throws IOException {
    if (cacheDir == null) {
      cacheDir = Files.createTempDirectory("iscsi-csi-oci");
    }
    return cacheDir;
  }

  /** Deletes the unpacked layouts and bundles (rm -rf: rootfs trees hold absolute symlinks). */
  static synchronized void cleanup() throws Exception {
    if (cacheDir != null) {
      exec(Duration.ofMinutes(2), "rm", "-rf", "--one-file-system", cacheDir.toString());
      cacheDir = null;
      UNPACKED.clear();
    }
  }

  /** The tags in an OCI image tarball's index. */
  static List<String> tags(Path ociTar) throws Exception {
    Path layout = extract(ociTar);
    var index = K8sObjects.JSON.readTree(layout.resolve("index.json").toFile());
    List<String> tags = new ArrayList<>();
    for (var m : index.path("manifests")) {
      tags.add(m.at("/annotations/org.opencontainers.image.ref.name").asText());
    }
    return tags;
  }

  /**
   * Runs {@code tag} of the image. {@code args} replaces the image's entrypoint+cmd when not
   * null (like {@code podman run --entrypoint}); null keeps the image's own. Runs of one tag
   * share one unpacked bundle (what a run writes stays for the next, as in a reused container).
   */
  static Run run(Path ociTar, String tag, List<String> args) throws Exception {
    Path bundle = bundle(ociTar, tag);
    ObjectNode spec =
        (ObjectNode) K8sObjects.JSON.readTree(bundle.resolve("config.json.image").toFile());
    ObjectNode process = (ObjectNode) spec.get("process");
    process.put("terminal", false);
    if (args != null) {
      ArrayNode argv = process.putArray("args");
      args.forEach(argv::add);
    }
    K8sObjects.JSON.writeValue(bundle.resolve("config.json").toFile(), spec);
    String id = "iscsi-csi-e2e-" + UUID.randomUUID().toString().substring(0, 8);
    try {
      return exec(Duration.ofMinutes(2), "runc", "run", "--bundle", bundle.toString(), id);
    } finally {
      exec(Duration.ofSeconds(30), "runc", "delete", "--force", id);
    }
  }

  private static Path bundle(Path ociTar, String tag) throws Exception {
    String key = ociTar.toAbsolutePath() + ":" + tag;
    Path cached = UNPACKED.get(key);
    if (cached != null) {
      return cached;
    }
    Path layout = extract(ociTar);
    Path bundle = cacheDir().resolve("bundle-" + UUID.randomUUID());
    Run r = exec(Duration.ofMinutes(3), "umoci", "unpack", "--image", layout + ":" + tag,
        bundle.toString());
    if (r.exitCode() != 0) {
      throw new IOException("umoci unpack " + tag + " failed: " + r.output());
    }
    Files.copy(bundle.resolve("config.json"), bundle.resolve("config.json.image"));
    UNPACKED.put(key, bundle);
    return bundle;
  }

  private static Path extract(Path ociTar) throws Exception {
    String key = ociTar.toAbsolutePath().toString();
    Path cached = UNPACKED.get(key);
    if (cached != null) {
      return cached;
    }
    Path layout = cacheDir().resolve("layout-" + UUID.randomUUID());
    Files.createDirectories(layout);
    Run r = exec(Duration.ofMinutes(2), "tar", "-C", layout.toString(), "-xf",
        ociTar.toString());
    if (r.exitCode() != 0) {
      throw new IOException("cannot extract " + ociTar + ": " + r.output());
    }
    UNPACKED.put(key, layout);
    return layout;
  }

  /** Runs argv (no shell) with a deadline; stdout and stderr merged. */
  static Run exec(Duration timeout, String... argv) throws Exception {
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
    p.getOutputStream().close();
    var out = new java.io.ByteArrayOutputStream();
    Thread reader = Thread.ofVirtual().start(() -> {
      try {
        p.getInputStream().transferTo(out);
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      p.destroyForcibly();
      throw new IOException(String.join(" ", argv) + " did not finish in " + timeout);
    }
    reader.join(5000);
    return new Run(p.exitValue(), out.toString(StandardCharsets.UTF_8));
  }
}
