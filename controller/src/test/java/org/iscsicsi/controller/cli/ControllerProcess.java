package org.iscsicsi.controller.cli;

import csi.v1.ControllerGrpc;
import csi.v1.Csi;
import csi.v1.IdentityGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.target.testing.ProcessReady;

/**
 * {@code bin/controller serve} as a child process on a unix socket, with the embedded engine on
 * a given state directory; a gRPC channel to it once it answers Probe.
 */
final class ControllerProcess implements AutoCloseable {

  final Path socket;
  final Path log;
  final Process process;
  final ManagedChannel channel;
  final ControllerGrpc.ControllerBlockingStub controller;
  final IdentityGrpc.IdentityBlockingStub identity;

  private ControllerProcess(Path socket, Path log, Process process, ManagedChannel channel) {
    this.socket = socket;
    this.log = log;
    this.process = process;
    this.channel = channel;
    this.controller = ControllerGrpc.newBlockingStub(channel);
    this.identity = IdentityGrpc.newBlockingStub(channel);
  }

  /** The launcher, relative to the module directory (surefire's working directory). */
  static Path launcher() {
    return Path.of("bin/controller").toAbsolutePath();
  }

  static ControllerProcess start(Path socket, Path stateDir, Path log, String... extra)
      throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("--state-dir", stateDir.toString(),
        "--portal", "127.0.0.1:0", "--advertise", "127.0.0.1:3260"));
    cmd.addAll(List.of(extra));
    return launch(socket, log, null, cmd);
  }

  /**
   * {@code bin/controller serve --pool} with {@code args} (TLS, namespace), reaching the API
   * server of {@code kubeconfig}.
   */
  static ControllerProcess startPool(Path socket, Path log, Path kubeconfig, String... args)
      throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("--pool"));
    cmd.addAll(List.of(args));
    return launch(socket, log, kubeconfig, cmd);
  }

  private static ControllerProcess launch(Path socket, Path log, Path kubeconfig,
      List<String> args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(launcher().toString(), "serve",
        "--endpoint", "unix://" + socket));
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
    if (kubeconfig != null) {
      pb.environment().put("KUBECONFIG", kubeconfig.toString());
    }
    Process p = pb.start();
    // Connect only once the socket exists: a channel that failed early sits in reconnect backoff.
    try {
      ProcessReady.await("bin/controller makes its socket", p, log, Duration.ofSeconds(60),
          () -> Files.exists(socket) && !startedBefore(socket, p));
    } catch (IOException e) {
      p.destroyForcibly();
      throw e;
    }
    ManagedChannel ch = Grpc.newChannelBuilder("unix://" + socket,
        InsecureChannelCredentials.create()).build();
    ControllerProcess cp = new ControllerProcess(socket, log, p, ch);
    try {
      cp.identity.withWaitForReady().withDeadlineAfter(30, TimeUnit.SECONDS)
          .probe(Csi.ProbeRequest.getDefaultInstance());
      return cp;
    } catch (StatusRuntimeException e) {
      cp.close();
      throw new IOException("bin/controller does not answer Probe: " + e.getStatus() + "\n"
          + Files.readString(log), e);
    }
  }

  /** True while the socket file is a stale one, older than the process. */
  private static boolean startedBefore(Path socket, Process p) throws IOException {
    try {
      long made = Files.getLastModifiedTime(socket).toMillis();
      long started = p.info().startInstant().map(java.time.Instant::toEpochMilli).orElse(0L);
      return made < started;
    } catch (java.nio.file.NoSuchFileException e) {
      return true;
    }
  }

  /** SIGKILL: no shutdown hook runs. */
  void kill() throws InterruptedException {
    channel.shutdownNow();
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  /** SIGTERM and wait; the exit code. */
  int stop() throws InterruptedException {
    channel.shutdownNow();
    process.destroy();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    }
    return process.exitValue();
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      stop();
    }
    channel.shutdownNow();
  }
}
