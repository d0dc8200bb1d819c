package org.iscsicsi.controller.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.iscsicsi.target.testing.Exec;

/**
 * The real {@code target-engine} launcher of the sibling module ({@code ../target-engine}), run
 * as a separate process on this JDK: the engine in another process and the CLI an operator
 * types, not their classes called in this JVM.
 */
public final class TargetEngineLauncher {

  private TargetEngineLauncher() {
  }

  /** {@code target-engine/bin/target-engine}, from the controller module (surefire's cwd). */
  public static Path path() {
    return Path.of("../target-engine/bin/target-engine").toAbsolutePath().normalize();
  }

  /**
   * Why the launcher cannot run here, if it cannot (its jar is built by target-engine's package).
   */
  public static Optional<String> missing() {
    Path jar = path().getParent().resolveSibling("target/target-engine.jar");
    return Files.exists(jar) ? Optional.empty()
        : Optional.of(jar + " not built (./mvnw -pl target-engine package)");
  }

  /** A process builder for {@code target-engine ARGS} on this test's JDK. */
  public static ProcessBuilder builder(String... args) {
    List<String> argv = new ArrayList<>(List.of(path().toString()));
    argv.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(argv);
    pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
    return pb;
  }

  /** Runs a client command to its end. */
  public static Exec.Result run(String... args) throws IOException, InterruptedException {
    return run(Map.of(), args);
  }

  /** Runs a client command to its end with these environment variables added. */
  public static Exec.Result run(Map<String, String> env, String... args) throws IOException,
      InterruptedException {
    List<String> argv = new ArrayList<>(List.of("env",
        "JAVA_HOME=" + System.getProperty("java.home")));
    env.forEach((k, v) -> argv.add(k + "=" + v));
    argv.add(path().toString());
    argv.addAll(List.of(args));
    return Exec.run(Duration.ofSeconds(60), argv);
  }
}
