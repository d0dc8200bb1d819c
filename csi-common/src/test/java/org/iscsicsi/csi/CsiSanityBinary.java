package org.iscsicsi.csi;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Finds the pinned csi-sanity for the tests that run it (the controller's CsiSanityIT, the node
 * plugin's CsiSanityVmIT): {@code $CSI_SANITY}, else {@code ~/.cache/iscsi-csi/bin/csi-sanity},
 * else {@code go install} from the Go module proxy into that cache. Shared through this module's
 * test jar.
 */
public final class CsiSanityBinary {

  /** csi-test's release, pinned. */
  public static final String VERSION = "v5.4.0";
  /**
   * A VolumeAttributesClass's parameters (the driver's I/O limits), as csi-sanity's
   * {@code --csi.testvolumemutableparameters} file reads them (YAML): its volume-modification
   * specs create and modify volumes with these.
   */
  public static final String MUTABLE_PARAMETERS = """
      qos.readIops: "5000"
      qos.writeIops: "4000"
      qos.readBytesPerSecond: "400Mi"
      qos.writeBytesPerSecond: "200Mi"
      qos.burstSeconds: "1"
      """;

  private CsiSanityBinary() {}

  /**
   * The csi-sanity executable. Aborts the test (a skip with the reason) only when it is not
   * installed and no Go toolchain exists to install it; a failed install is an error.
   */
  public static Path find() throws IOException, InterruptedException {
    String env = System.getenv("CSI_SANITY");
    if (env != null && !env.isEmpty()) {
      return Path.of(env);
    }
    Path cache = Path.of(System.getProperty("user.home"), ".cache", "iscsi-csi");
    Path bin = cache.resolve("bin").resolve("csi-sanity");
    if (Files.isExecutable(bin)) {
      return bin;
    }
    Path go = Path.of("/usr/local/go/bin/go");
    ProcessBuilder pb = new ProcessBuilder(Files.isExecutable(go) ? go.toString() : "go",
        "install", "github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity@" + VERSION)
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(
            Files.createDirectories(cache).resolve("go-install.log").toFile()));
    pb.environment().put("GOBIN", bin.getParent().toString());
    pb.environment().putIfAbsent("GOPATH", cache.resolve("gopath").toString());
    pb.environment().put("GOFLAGS", "-modcacherw");
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      Assumptions.abort("csi-sanity is not installed and Go is not available to install it ("
          + e.getMessage() + ")");
      throw e;
    }
    if (!p.waitFor(15, TimeUnit.MINUTES) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IOException("go install csi-sanity failed; see "
          + cache.resolve("go-install.log"));
    }
    return bin;
  }
}
