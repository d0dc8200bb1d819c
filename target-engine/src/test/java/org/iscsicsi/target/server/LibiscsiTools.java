package org.iscsicsi.target.server;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs libiscsi's command-line tools (package libiscsi-bin) with a timeout, argv only. */
final class LibiscsiTools {

  record Result(int exitCode, String output) {
  }

  private LibiscsiTools() {
  }

  static boolean available(String tool) {
    return Files.isExecutable(Path.of("/usr/bin", tool));
  }

  static Result run(Map<String, String> env, long timeoutSeconds, String... argv)
      throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(argv));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().putAll(env);
    Process p = pb.start();
    p.getOutputStream().close();
    byte[] out;
    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      p.waitFor(5, TimeUnit.SECONDS);
      throw new AssertionError(cmd + " did not finish within " + timeoutSeconds + " s");
    }
    out = p.getInputStream().readAllBytes();
    return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
  }
}
