package org.iscsicsi.node.vm;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import org.iscsicsi.target.testing.ProcessReady;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Debian's tgtd (package tgt) as an iSCSI target peer for tests: started in the foreground on its
 * own control index and portal, configured with tgtadm, and stopped by deleting its targets and
 * then the system ({@code tgtadm --op delete --mode system}; tgtd ignores SIGTERM, and refuses to
 * delete the system while targets exist).
 *
 * <p>tgtd advertises the address it listens on in SendTargets answers, so a guest reaching it
 * through qemu's 10.0.2.2 must create its node record for the portal it knows.
 */
public final class Tgtd implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(Tgtd.class);
  /** How long tgtd may take to answer tgtadm after it starts. */
  private static final Duration START_TIMEOUT = Duration.ofSeconds(15);
  private static final Pattern NAME = Pattern.compile("[a-z0-9.:-]+");
  private static final Pattern CHAP = Pattern.compile("[A-Za-z0-9_-]{1,64}");
  /** LUN parameters such as {@code readonly=1} or {@code scsi_sn=X}, comma-separated. */
  private static final Pattern LUN_PARAMS =
      Pattern.compile("[a-z_]+=[A-Za-z0-9_-]+(,[a-z_]+=[A-Za-z0-9_-]+)*");

  private final Process process;
  private final int controlIndex;
  private final Path logFile;
  private final List<Integer> targets = new ArrayList<>();

  private final Thread shutdownHook;

  private Tgtd(Process process, int controlIndex, Path logFile) {
    this.process = process;
    this.controlIndex = controlIndex;
    this.logFile = logFile;
    // tgtd ignores SIGTERM and would outlive a JVM that exits without close().
    this.shutdownHook = new Thread(this::stop, "tgtd-shutdown");
    Runtime.getRuntime().addShutdownHook(shutdownHook);
  }

  /** Why tgtd cannot run here (not installed, or not root), or empty. */
  public static Optional<String> unavailableReason() {
    for (String tool : List.of("/usr/sbin/tgtd", "/usr/sbin/tgtadm")) {
      if (!Files.isExecutable(Path.of(tool))) {
        return Optional.of(tool + " missing (apt-get install tgt)");
      }
    }
    if (!"root".equals(System.getProperty("user.name"))) {
      return Optional.of("tgtd needs root");
    }
    return Optional.empty();
  }

  /**
   * Starts tgtd listening on 127.0.0.1:{@code port} with management socket {@code controlIndex}
   * (a small number naming its socket, not a TCP port); waits until tgtadm reaches it.
   */
  public static Tgtd start(int port, int controlIndex, Path workDir) throws IOException,
      InterruptedException {
    Path log = workDir.resolve("tgtd-" + port + ".log");
    Process p = new ProcessBuilder("/usr/sbin/tgtd", "-f", "-C", Integer.toString(controlIndex),
        "--iscsi", "portal=127.0.0.1:" + port)
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    Tgtd tgtd = new Tgtd(p, controlIndex, log);
    try {
      ProcessReady.await("tgtd answers tgtadm", p, log, START_TIMEOUT,
          () -> tgtd.tgtadm(false, "--op", "show", "--mode", "target").exit() == 0);
      return tgtd;
    } catch (IOException | RuntimeException e) {
      tgtd.close();
      throw e;
    }
  }

  /**
   * Adds target {@code tid} with LUN 1 backed by {@code backingFile}, reachable only by
   * {@code initiator} (ACL by initiator name) and only with CHAP {@code user}/{@code secret}.
   */
  public void addTarget(int tid, String iqn, Path backingFile, String initiator, String user,
      String secret) throws IOException, InterruptedException {
    if (!NAME.matcher(iqn).matches() || !NAME.matcher(initiator).matches()) {
      throw new IllegalArgumentException("bad iSCSI name " + iqn + " / " + initiator);
    }
    account(user, secret);
    String t = Integer.toString(tid);
    tgtadm(true, "--lld", "iscsi", "--op", "new", "--mode", "target", "--tid", t, "-T", iqn);
    targets.add(tid);
    tgtadm(true, "--lld", "iscsi", "--op", "new", "--mode", "logicalunit", "--tid", t,
        "--lun", "1", "-b", backingFile.toString());
    tgtadm(true, "--lld", "iscsi", "--op", "bind", "--mode", "target", "--tid", t,
        "-Q", initiator);
    tgtadm(true, "--lld", "iscsi", "--op", "bind", "--mode", "account", "--tid", t,
        "--user", user);
  }

  /**
   * Changes LUN 1 of target {@code tid}: {@code readonly=1} makes tgtd report write protect (the
   * WP bit of MODE SENSE) and refuse writes; {@code scsi_sn=X} sets the VPD page 0x80 serial.
   */
  void updateLun(int tid, String params) throws IOException, InterruptedException {
    if (!LUN_PARAMS.matcher(params).matches()) {
      throw new IllegalArgumentException("LUN parameters must match " + LUN_PARAMS);
    }
    tgtadm(true, "--lld", "iscsi", "--op", "update", "--mode", "logicalunit", "--tid",
        Integer.toString(tid), "--lun", "1", "--params", params);
  }

  /**
   * Mutual CHAP for target {@code tid}: tgtd answers the initiator's challenge as {@code user}
   * with {@code secret} (the initiator's {@code username_in}/{@code password_in}).
   */
  void addOutgoingAccount(int tid, String user, String secret)
      throws IOException, InterruptedException {
    account(user, secret);
    tgtadm(true, "--lld", "iscsi", "--op", "bind", "--mode", "account", "--tid",
        Integer.toString(tid), "--user", user, "--outgoing");
  }

  /**
   * SendTargets discovery requires CHAP as the existing account {@code user} (bound without a
   * target id).
   */
  void requireDiscoveryChap(String user) throws IOException, InterruptedException {
    if (!CHAP.matcher(user).matches()) {
      throw new IllegalArgumentException("CHAP user must match " + CHAP);
    }
    tgtadm(true, "--lld", "iscsi", "--op", "bind", "--mode", "account", "--user", user);
  }

  private void account(String user, String secret) throws IOException, InterruptedException {
    if (!CHAP.matcher(user).matches() || !CHAP.matcher(secret).matches()) {
      throw new IllegalArgumentException("CHAP user and secret must match " + CHAP);
    }
    tgtadm(true, "--lld", "iscsi", "--op", "new", "--mode", "account", "--user", user,
        "--password", secret);
  }

  /** {@code tgtadm --op show --mode target}: targets, LUNs, I_T nexuses (sessions), ACLs. */
  public String show() throws IOException, InterruptedException {
    return tgtadm(true, "--op", "show", "--mode", "target").output();
  }

  /** The daemon's own log so far. */
  String logText() {
    try {
      return Files.readString(logFile, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(no tgtd log: " + e.getMessage() + ")";
    }
  }

  /** Deletes the targets and the system, so tgtd exits; kills it if it does not. */
  @Override
  public void close() {
    stop();
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException e) {
      // The JVM is already shutting down; the hook stops tgtd.
    }
  }

  private synchronized void stop() {
    if (!process.isAlive()) {
      return;
    }
    try {
      for (int tid : targets) {
        tgtadm(false, "--lld", "iscsi", "--op", "delete", "--mode", "target", "--tid",
            Integer.toString(tid), "--force");
      }
      tgtadm(false, "--op", "delete", "--mode", "system");
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        log.warn("tgtd still runs after deleting the system; killing it");
      }
    } catch (IOException e) {
      log.warn("stopping tgtd through tgtadm failed; killing it", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      process.destroyForcibly();
    }
  }

  private record Result(int exit, String output) { }

  private Result tgtadm(boolean check, String... args) throws IOException, InterruptedException {
    List<String> argv = new ArrayList<>(List.of("/usr/sbin/tgtadm", "-C",
        Integer.toString(controlIndex)));
    argv.addAll(List.of(args));
    // The argv may hold a CHAP secret: messages name the operation only.
    String op = String.join(" ", List.of(args).subList(0, Math.min(args.length, 6)));
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
    CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> {
      try {
        return p.getInputStream().readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
    try {
      if (!p.waitFor(15, TimeUnit.SECONDS)) {
        throw new IOException("tgtadm " + op + " timed out after 15 s");
      }
      Result r = new Result(p.exitValue(),
          new String(out.get(5, TimeUnit.SECONDS), StandardCharsets.UTF_8));
      if (check && r.exit() != 0) {
        throw new IOException("tgtadm " + op + " failed (" + r.exit() + "): " + r.output().trim());
      }
      return r;
    } catch (ExecutionException | TimeoutException e) {
      throw new IOException("reading tgtadm " + op + " output failed", e);
    } finally {
      p.destroyForcibly();
    }
  }
}
