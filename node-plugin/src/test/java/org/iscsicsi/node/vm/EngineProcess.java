package org.iscsicsi.node.vm;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.iscsicsi.csi.exec.CommandResult;
import org.iscsicsi.target.testing.ProcessReady;

/**
 * This project's target engine as a separate process ({@code target-engine/bin/target-engine
 * serve}), for the VM tier: started, administered through its CLI, killed with SIGKILL and
 * started again on the same state directory.
 */
final class EngineProcess implements AutoCloseable {

  /** A LUN's identity as {@code lun create} reports it. */
  record Lun(String serial, String naa) {}

  /** How long the engine may take to answer its CLI after a start, on a loaded machine. */
  private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
  private static final Pattern LUN = Pattern.compile("serial (\\S+), naa (\\p{XDigit}+)");

  private final Path launcher;
  private final Path stateDir;
  private final String portal;
  private final String advertise;
  private final String admin;
  private final Path log;
  private Process process;

  private EngineProcess(Path launcher, Path stateDir, String portal, String advertise,
      String admin, Path log) {
    this.launcher = launcher;
    this.stateDir = stateDir;
    this.portal = portal;
    this.advertise = advertise;
    this.admin = admin;
    this.log = log;
  }

  static Path launcher() {
    return Path.of(System.getProperty("user.dir")).resolveSibling("target-engine")
        .resolve("bin/target-engine");
  }

  /** Why the engine cannot run here, or empty. */
  static Optional<String> unavailableReason() {
    Path l = launcher();
    if (!Files.isExecutable(l)) {
      return Optional.of(l + " missing");
    }
    if (!Files.exists(l.getParent().resolveSibling("target/target-engine.jar"))) {
      return Optional.of("target-engine.jar not built");
    }
    return Optional.empty();
  }

  static EngineProcess start(Path stateDir, String portal, String advertise, String admin,
      Path log) throws IOException, InterruptedException {
    EngineProcess e = new EngineProcess(launcher(), stateDir, portal, advertise, admin, log);
    e.startProcess();
    return e;
  }

  private void startProcess() throws IOException, InterruptedException {
    process = new ProcessBuilder(launcher.toString(), "serve", "--state-dir", stateDir.toString(),
        "--portal", portal, "--advertise", advertise, "--admin", admin)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    ProcessReady.await("target engine answers its CLI", process, log, START_TIMEOUT,
        () -> cli(false, "info").exitCode() == 0);
  }

  /** SIGKILL: no orderly shutdown, as when a node or container dies. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  void restart() throws IOException, InterruptedException {
    startProcess();
  }

  /** Creates a target with LUN 0, a grant for {@code initiator} and incoming CHAP. */
  Lun createVolume(String iqn, long bytes, String initiator, String user, String secret)
      throws IOException {
    cli(true, "target", "create", iqn);
    CommandResult r = cli(true, "lun", "create", iqn, "--lun", "0", "--size",
        (bytes >> 20) + "M");
    Matcher m = LUN.matcher(r.stdout());
    if (!m.find()) {
      throw new IOException("unexpected lun create output: " + r.stdout());
    }
    cli(true, "acl", "add", iqn, initiator);
    clientEnv(true, Map.of("CHAP_SECRET", secret), "chap", "set", iqn, "--user", user,
        "--password-env", "CHAP_SECRET");
    return new Lun(m.group(1), m.group(2));
  }

  /**
   * Creates a target with portal group tag {@code slot} and LUN 0 served through ALUA port slot
   * {@code slot} (active/optimized until {@link #setAlua}), with {@code identity} when another
   * engine exports it already (null: a new one), granted to {@code initiator} without CHAP.
   */
  Lun createAluaVolume(String iqn, int slot, long bytes, String initiator, Lun identity)
      throws IOException {
    cli(true, "target", "create", iqn, "--portal-group-tag", Integer.toString(slot));
    List<String> args = new ArrayList<>(List.of("lun", "create", iqn, "--lun", "0", "--size",
        (bytes >> 20) + "M", "--port-slot", Integer.toString(slot)));
    if (identity != null) {
      args.addAll(List.of("--naa", identity.naa(), "--serial", identity.serial()));
    }
    CommandResult r = cli(true, args.toArray(String[]::new));
    Matcher m = LUN.matcher(r.stdout());
    if (!m.find()) {
      throw new IOException("unexpected lun create output: " + r.stdout());
    }
    cli(true, "acl", "add", iqn, initiator);
    return new Lun(m.group(1), m.group(2));
  }

  /** Sets the ALUA states of LUN 0's port groups ({@code "1=standby"}, ...). */
  String setAlua(String iqn, String... slotStates) throws IOException {
    List<String> args = new ArrayList<>(List.of("lun", "alua", iqn, "--lun", "0"));
    args.addAll(List.of(slotStates));
    return cli(true, args.toArray(String[]::new)).stdout();
  }

  /** The file that holds LUN 0's bytes (the default pool directory, named by its NAA). */
  Path lunFile(Lun lun) {
    return stateDir.resolve("luns").resolve(lun.naa() + ".img");
  }

  /** Grows LUN 0 online (initiators get a capacity-changed unit attention). */
  void resize(String iqn, long bytes) throws IOException {
    cli(true, "lun", "resize", iqn, "--lun", "0", "--size", (bytes >> 20) + "M");
  }

  String sessions() throws IOException {
    return cli(true, "sessions").stdout();
  }

  private CommandResult cli(boolean check, String... args) throws IOException {
    return clientEnv(check, Map.of(), args);
  }

  private CommandResult clientEnv(boolean check, Map<String, String> env, String... args)
      throws IOException {
    List<String> argv = new ArrayList<>(List.of(launcher.toString()));
    argv.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(argv);
    pb.environment().put("TARGET_ENGINE_ADMIN", admin);
    pb.environment().putAll(env);
    try {
      Process p = pb.start();
      byte[] out = p.getInputStream().readAllBytes();
      byte[] err = p.getErrorStream().readAllBytes();
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException("target-engine " + args[0] + " timed out");
      }
      CommandResult r = new CommandResult(p.exitValue(), new String(out, StandardCharsets.UTF_8),
          new String(err, StandardCharsets.UTF_8));
      if (check && r.exitCode() != 0) {
        throw new IOException("target-engine " + String.join(" ", List.of(args).subList(0,
            Math.min(2, args.length))) + " failed: " + r.stderr());
      }
      return r;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }

  @Override
  public void close() throws InterruptedException {
    if (process != null && process.isAlive()) {
      process.destroy();
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    }
  }
}
