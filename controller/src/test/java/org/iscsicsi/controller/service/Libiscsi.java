package org.iscsicsi.controller.service;

import csi.v1.Csi;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * libiscsi's initiator tools (Debian package libiscsi-bin) as a test's initiator. CHAP
 * credentials go through libiscsi's environment variables, never the command line.
 */
final class Libiscsi {

  private Libiscsi() {}

  record Result(int exit, String output) {}

  static boolean installed() {
    return Files.isExecutable(Path.of("/usr/bin/iscsi-inq"));
  }

  /** The libiscsi URL of LUN 0 of a published volume, at its first portal. */
  static String url(Csi.ControllerPublishVolumeResponse r) {
    return "iscsi://" + r.getPublishContextOrThrow("portals").split(",")[0] + "/"
        + r.getPublishContextOrThrow("targetIqn") + "/" + r.getPublishContextOrThrow("lun");
  }

  /** Makes {@code pb} log in with {@code chap}'s username and password (none when empty). */
  static ProcessBuilder withChap(ProcessBuilder pb, Map<String, String> chap) {
    pb.environment().remove("LIBISCSI_CHAP_USERNAME");
    pb.environment().remove("LIBISCSI_CHAP_PASSWORD");
    if (!chap.isEmpty()) {
      pb.environment().put("LIBISCSI_CHAP_USERNAME", chap.get("username"));
      pb.environment().put("LIBISCSI_CHAP_PASSWORD", chap.get("password"));
    }
    return pb;
  }

  static Result run(Map<String, String> chap, String... cmd)
      throws IOException, InterruptedException {
    Process p = withChap(new ProcessBuilder(cmd).redirectErrorStream(true), chap).start();
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException(String.join(" ", cmd) + " did not finish in 30 s");
    }
    return new Result(p.exitValue(),
        new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
  }
}
