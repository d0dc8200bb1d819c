package org.iscsicsi.target.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.iscsicsi.target.testing.Exec;

/**
 * Runs libiscsi's command-line tools (package libiscsi-bin) with a timeout, argv only, through
 * {@link Exec} (output drained while the tool runs).
 */
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
    ProcessBuilder pb = new ProcessBuilder(argv);
    pb.environment().putAll(env);
    Exec.Result r = Exec.run(Duration.ofSeconds(timeoutSeconds), pb);
    return new Result(r.exit(), r.output());
  }
}
