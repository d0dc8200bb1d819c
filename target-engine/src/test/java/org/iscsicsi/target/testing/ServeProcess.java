package org.iscsicsi.target.testing;

import static org.awaitility.Awaitility.await;

import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.target.v1.GetEngineInfoRequest;
import org.iscsicsi.target.v1.TargetAdminGrpc.TargetAdminBlockingStub;

/**
 * {@code bin/target-engine serve} as a process of its own, for integration tests that need the
 * packaged engine (run by failsafe after {@code package}): where the launcher is, a free loopback
 * port, starting it with its output in a log file, and waiting until the admin API says it serves.
 */
public final class ServeProcess {

  /** How long an engine may take to come up on a loaded build machine. */
  public static final Duration START_TIMEOUT = Duration.ofSeconds(90);
  private static final Duration POLL = Duration.ofMillis(100);

  private ServeProcess() {
  }

  /** {@code target-engine/bin/target-engine} of the module under test. */
  public static Path launcher() {
    Path module = Path.of(System.getProperty("basedir", "")).toAbsolutePath();
    return module.resolve("bin/target-engine");
  }

  /** Why the packaged engine cannot run here (launcher or jar missing), or empty. */
  public static Optional<String> unavailableReason() {
    Path l = launcher();
    if (!Files.isExecutable(l)) {
      return Optional.of(l + " missing");
    }
    Path jar = l.getParent().resolveSibling("target/target-engine.jar").normalize();
    return Files.exists(jar) ? Optional.empty() : Optional.of(jar + " not built");
  }

  /** A port free on the loopback interface right now. */
  public static int freePort() {
    // Never the same port twice in one JVM: a test that asks for three ports at once, or a port
    // an earlier test's process may still hold, would otherwise get a taken one now and then.
    while (true) {
      try (var socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
        int port = socket.getLocalPort();
        if (HANDED_OUT.add(port)) {
          return port;
        }
      } catch (IOException e) {
        throw new java.io.UncheckedIOException("no free loopback port", e);
      }
    }
  }

  private static final java.util.Set<Integer> HANDED_OUT =
      java.util.concurrent.ConcurrentHashMap.newKeySet();

  /**
   * Starts {@code target-engine serve ARGS}, stdout and stderr appended to {@code log}, on this
   * test's JDK; {@code env} is added to the environment (e.g. TARGET_ENGINE_JAVA_OPTS).
   */
  public static Process start(List<String> args, Path log, Map<String, String> env)
      throws IOException {
    List<String> argv = new ArrayList<>(List.of(launcher().toString(), "serve"));
    argv.addAll(args);
    var pb = new ProcessBuilder(argv).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
    pb.environment().putAll(env);
    return pb.start();
  }

  /** Polls the admin API until the engine says it serves; returns how long that took. */
  public static Duration awaitServing(TargetAdminBlockingStub admin, Process engine) {
    long start = System.nanoTime();
    await("engine serves").atMost(START_TIMEOUT).pollInterval(POLL)
        .ignoreException(StatusRuntimeException.class) // not up yet
        .failFast(() -> {
          if (!engine.isAlive()) {
            throw new AssertionError("engine process exited with " + engine.exitValue());
          }
        })
        .until(() -> admin.withDeadlineAfter(2, TimeUnit.SECONDS)
            .getEngineInfo(GetEngineInfoRequest.getDefaultInstance()).getServing());
    return Duration.ofNanos(System.nanoTime() - start);
  }
}
