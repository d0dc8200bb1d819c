package org.iscsicsi.node.vm;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A qemu VM (software emulation) running Debian bookworm's Linux kernel with the real kernel
 * iSCSI initiator (open-iscsi's iscsid and iscsiadm), for tests that need what this machine's
 * kernel lacks: a SCSI layer, {@code iscsi_tcp}, block devices, mkfs and mount.
 *
 * <p>The VM is booted by {@code node-plugin/vm/run-vm.sh} (guest prepared and cached by
 * {@code prepare-guest.sh}; see {@code node-plugin/vm/README.md}). It runs one guest shell script
 * as root and powers off; {@link #awaitExit} returns that script's exit code. Inside the guest:
 *
 * <ul>
 *   <li>the host is reachable as {@value #HOST_ADDRESS} (qemu user-mode networking: the host's
 *       127.0.0.1), the guest is 10.0.2.15;
 *   <li>the repository is mounted read-only at {@value #GUEST_REPO} (so
 *       {@code /repo/node-plugin/target/...} jars), the JDK at {@value #GUEST_JDK} ({@code java}
 *       is on the PATH), and a read-write control directory at {@value #GUEST_CTL} ({@link
 *       #controlDir()} on the host) for files passed either way while the VM runs;
 *   <li>iscsid is running, {@code /etc/iscsi/initiatorname.iscsi} holds {@link
 *       Builder#initiatorName}, and {@code /dev/disk/by-path/ip-...-iscsi-...-lun-N} links appear
 *       for iSCSI disks as udev would make them.
 * </ul>
 *
 * <p>Typical use:
 *
 * <pre>{@code
 * try (QemuVm vm = QemuVm.builder()
 *     .env("PORTAL", "10.0.2.2:13460")
 *     .hostForward(hostPort, 50051)
 *     .script("java -jar /repo/node-plugin/target/node-plugin.jar serve ...")
 *     .start()) {
 *   vm.awaitConsole("listening", Duration.ofMinutes(2));
 *   ... call the guest through 127.0.0.1:hostPort ...
 *   Files.writeString(vm.controlDir().resolve("stop"), "");  // if the script waits for it
 *   assertThat(vm.awaitExit(Duration.ofMinutes(1))).isZero();
 * }
 * }</pre>
 *
 * <p>{@link #close()} kills qemu if it still runs (a JVM shutdown hook does too) and deletes the
 * control directory.
 */
public final class QemuVm implements AutoCloseable {

  /** The host's loopback as the guest reaches it. */
  public static final String HOST_ADDRESS = "10.0.2.2";

  /** Where the repository is mounted (read-only) in the guest. */
  public static final String GUEST_REPO = "/repo";

  /** Where the shared JDK is mounted (read-only) in the guest. */
  public static final String GUEST_JDK = "/jdk";

  /** Where {@link #controlDir()} is mounted (read-write) in the guest. */
  public static final String GUEST_CTL = "/ctl";

  /** Exit code of {@link #awaitExit} when the runner's hard timeout killed the VM. */
  public static final int EXIT_TIMEOUT = 124;

  /** Exit code of {@link #awaitExit} when the VM ended without reporting one (boot failure). */
  public static final int EXIT_NO_REPORT = 125;

  private static final Logger log = LoggerFactory.getLogger(QemuVm.class);
  private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
  private static final Pattern GUEST_PATH = Pattern.compile("/[A-Za-z0-9._/-]+");
  private static final Pattern BOOT_LINE =
      Pattern.compile("iscsi-vm: running guest command at ([0-9.]+) s");

  private final Process process;
  private final Path controlDir;
  private final Thread reader;
  private final Thread shutdownHook;
  private final long startNanos;
  private final List<String> console = new ArrayList<>();
  private volatile boolean closing;

  private QemuVm(Process process, Path controlDir, Consumer<String> listener) {
    this.process = process;
    this.controlDir = controlDir;
    this.startNanos = System.nanoTime();
    this.shutdownHook = new Thread(this::kill, "qemu-vm-shutdown");
    Runtime.getRuntime().addShutdownHook(shutdownHook);
    this.reader = Thread.ofPlatform().daemon().name("qemu-vm-console").start(() -> {
      try (BufferedReader in = new BufferedReader(
          new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = in.readLine()) != null) {
          String clean = line.replace("\r", "");
          synchronized (console) {
            console.add(clean);
            console.notifyAll();
          }
          log.info("[vm] {}", clean);
          listener.accept(clean);
        }
      } catch (IOException e) {
        if (!closing) {
          log.warn("reading the VM console failed", e);
        }
      }
    });
  }

  /** A builder with the defaults: 1 GiB, one CPU, a 300 s hard timeout. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Why this machine cannot run the VM, or empty when it can: qemu-system-x86_64 must be on the
   * PATH (Debian package qemu-system-x86) and the runner script present. For JUnit assumptions.
   */
  public static Optional<String> unavailableReason() {
    if (findOnPath("qemu-system-x86_64").isEmpty()) {
      return Optional.of("qemu-system-x86_64 not found (apt-get install qemu-system-x86)");
    }
    try {
      runner();
    } catch (IllegalStateException e) {
      return Optional.of(e.getMessage());
    }
    return Optional.empty();
  }

  /** The host directory mounted read-write at {@value #GUEST_CTL} in the guest. */
  public Path controlDir() {
    return controlDir;
  }

  /** The console lines so far (kernel messages, the guest script's stdout and stderr). */
  public List<String> consoleLines() {
    synchronized (console) {
      return List.copyOf(console);
    }
  }

  /** The console so far as one text. */
  public String console() {
    return String.join("\n", consoleLines());
  }

  /**
   * Waits until a console line contains {@code text} and returns that line.
   *
   * @throws TimeoutException if no such line appears in time or the VM ends first
   */
  public String awaitConsole(String text, Duration timeout)
      throws InterruptedException, TimeoutException {
    return awaitLine(line -> line.contains(text), timeout, "\"" + text + "\"");
  }

  /**
   * Waits until a console line matches {@code pattern} (find) and returns its matcher.
   *
   * @throws TimeoutException if no such line appears in time or the VM ends first
   */
  public Matcher awaitConsole(Pattern pattern, Duration timeout)
      throws InterruptedException, TimeoutException {
    String line = awaitLine(l -> pattern.matcher(l).find(), timeout, pattern.pattern());
    Matcher m = pattern.matcher(line);
    if (!m.find()) {
      throw new IllegalStateException("pattern stopped matching " + line);
    }
    return m;
  }

  private String awaitLine(Predicate<String> test, Duration timeout, String what)
      throws InterruptedException, TimeoutException {
    long deadline = System.nanoTime() + timeout.toNanos();
    int seen = 0;
    synchronized (console) {
      while (true) {
        for (; seen < console.size(); seen++) {
          if (test.test(console.get(seen))) {
            return console.get(seen);
          }
        }
        if (!reader.isAlive()) {
          throw new TimeoutException("the VM ended without a console line matching " + what);
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new TimeoutException("no console line matching " + what + " within " + timeout);
        }
        TimeUnit.NANOSECONDS.timedWait(console, Math.min(left, TimeUnit.MILLISECONDS.toNanos(200)));
      }
    }
  }

  /**
   * Waits for the VM to power off and returns the guest script's exit code ({@link #EXIT_TIMEOUT}
   * or {@link #EXIT_NO_REPORT} when the VM could not report one).
   *
   * @throws TimeoutException if the VM still runs after {@code timeout} (it keeps running until
   *     {@link #close()})
   */
  public int awaitExit(Duration timeout) throws InterruptedException, TimeoutException {
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new TimeoutException("the VM still runs after " + timeout);
    }
    reader.join(TimeUnit.SECONDS.toMillis(10));
    return process.exitValue();
  }

  /**
   * The guest kernel's uptime when the guest script started (boot time inside the VM), once the
   * console has shown it.
   */
  public Optional<Double> guestBootSeconds() {
    for (String line : consoleLines()) {
      Matcher m = BOOT_LINE.matcher(line);
      if (m.find()) {
        return Optional.of(Double.parseDouble(m.group(1)));
      }
    }
    return Optional.empty();
  }

  /** Time since {@link Builder#start()} launched the runner (wall clock, host side). */
  public Duration elapsed() {
    return Duration.ofNanos(System.nanoTime() - startNanos);
  }

  /** Whether qemu (or the runner around it) still runs. */
  public boolean isRunning() {
    return process.isAlive();
  }

  /** Kills qemu if it still runs and deletes the control directory. */
  @Override
  public void close() {
    kill();
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException e) {
      // The JVM is already shutting down; the hook does the same work.
    }
    deleteTree(controlDir);
  }

  private void kill() {
    closing = true;
    // The runner is bash -> timeout -> qemu: kill the whole tree, children first.
    List<ProcessHandle> tree = process.descendants().toList();
    tree.forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
    try {
      process.waitFor(10, TimeUnit.SECONDS);
      for (ProcessHandle p : tree) {
        p.onExit().get(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      log.warn("qemu did not end after SIGKILL", e);
    }
  }

  private static void deleteTree(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      log.warn("could not delete the VM control directory {}", dir, e);
    }
  }

  /** {@code node-plugin/vm/run-vm.sh}, found from the working directory (module or repo root). */
  static Path runner() {
    String configured = System.getProperty("iscsi.vm.runner");
    if (configured != null) {
      return requireExecutable(Path.of(configured));
    }
    Path dir = Path.of("").toAbsolutePath();
    for (Path d = dir; d != null; d = d.getParent()) {
      for (Path candidate : List.of(d.resolve("vm/run-vm.sh"),
          d.resolve("node-plugin/vm/run-vm.sh"))) {
        if (Files.isExecutable(candidate)) {
          return candidate;
        }
      }
    }
    throw new IllegalStateException("node-plugin/vm/run-vm.sh not found above " + dir
        + " (set -Discsi.vm.runner=PATH)");
  }

  private static Path requireExecutable(Path p) {
    if (!Files.isExecutable(p)) {
      throw new IllegalStateException("VM runner is not executable: " + p);
    }
    return p;
  }

  private static Optional<Path> findOnPath(String name) {
    String path = Objects.requireNonNullElse(System.getenv("PATH"), "/usr/bin:/bin");
    for (String dir : path.split(":")) {
      Path p = Path.of(dir.isEmpty() ? "." : dir, name);
      if (Files.isExecutable(p)) {
        return Optional.of(p);
      }
    }
    return Optional.empty();
  }

  /** Single-quotes a value for /bin/sh. */
  static String shellQuote(String value) {
    return "'" + value.replace("'", "'\\''") + "'";
  }

  /** Configures and starts a {@link QemuVm}. */
  public static final class Builder {
    private String script;
    private final Map<String, String> env = new LinkedHashMap<>();
    private final List<String> shares = new ArrayList<>();
    private final List<String> forwards = new ArrayList<>();
    private Path disk;
    private Duration timeout = Duration.ofSeconds(300);
    private int memoryMb = 1024;
    private int cpus = 1;
    private String initiatorName = "iqn.2026-11.org.iscsicsi:vm";
    private Consumer<String> listener = line -> { };

    private Builder() { }

    /**
     * The guest script: /bin/sh (busybox ash) commands run as root in {@value #GUEST_CTL}, after
     * the {@link #env} exports; its exit code is {@link #awaitExit}'s. Required.
     */
    public Builder script(String script) {
      this.script = Objects.requireNonNull(script, "script");
      return this;
    }

    /**
     * An environment variable for the guest script (exported at its top). Values stay out of the
     * command line and the console, so secrets may pass here.
     */
    public Builder env(String name, String value) {
      if (!ENV_NAME.matcher(name).matches()) {
        throw new IllegalArgumentException("not a shell variable name: " + name);
      }
      env.put(name, Objects.requireNonNull(value, "value"));
      return this;
    }

    /** Shares a host directory over 9p at {@code guestPath} (read-only unless asked). */
    public Builder share(Path hostDir, String guestPath, boolean readOnly) {
      if (!Files.isDirectory(hostDir)) {
        throw new IllegalArgumentException("not a directory: " + hostDir);
      }
      if (!GUEST_PATH.matcher(guestPath).matches() || hostDir.toString().contains(":")) {
        throw new IllegalArgumentException("bad share " + hostDir + " -> " + guestPath);
      }
      shares.add(hostDir.toAbsolutePath() + ":" + guestPath + ":" + (readOnly ? "ro" : "rw"));
      return this;
    }

    /** Forwards the host's 127.0.0.1:{@code hostPort} to the guest's TCP {@code guestPort}. */
    /**
     * Attaches a raw image file as the guest's virtio disk {@code /dev/vda}: it outlives the VM,
     * so a second VM booted with it finds what the first one wrote (a node's reboot).
     */
    public Builder disk(Path rawImage) {
      this.disk = rawImage;
      return this;
    }

    public Builder hostForward(int hostPort, int guestPort) {
      if (hostPort < 1 || hostPort > 65535 || guestPort < 1 || guestPort > 65535) {
        throw new IllegalArgumentException("ports out of range: " + hostPort + ":" + guestPort);
      }
      forwards.add(hostPort + ":" + guestPort);
      return this;
    }

    /** Hard limit for the whole run, boot included; the runner kills qemu after it. */
    public Builder timeout(Duration timeout) {
      if (timeout.toSeconds() < 1) {
        throw new IllegalArgumentException("timeout under one second: " + timeout);
      }
      this.timeout = timeout;
      return this;
    }

    /** Guest memory in MiB (at least 256; the JVM inside wants the default 1024). */
    public Builder memoryMb(int memoryMb) {
      if (memoryMb < 256) {
        throw new IllegalArgumentException("memory below 256 MiB: " + memoryMb);
      }
      this.memoryMb = memoryMb;
      return this;
    }

    /** Virtual CPUs (emulated; more than the host's cores only slows things down). */
    public Builder cpus(int cpus) {
      if (cpus < 1) {
        throw new IllegalArgumentException("cpus < 1: " + cpus);
      }
      this.cpus = cpus;
      return this;
    }

    /** The guest's initiator IQN, written to /etc/iscsi/initiatorname.iscsi. */
    public Builder initiatorName(String iqn) {
      this.initiatorName = Objects.requireNonNull(iqn, "iqn");
      return this;
    }

    /** Called with every console line as it arrives (on the console reader thread). */
    public Builder consoleListener(Consumer<String> listener) {
      this.listener = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /**
     * Prepares the guest if the cache lacks it (minutes, once) and boots the VM; returns at once.
     */
    public QemuVm start() throws IOException {
      if (script == null) {
        throw new IllegalStateException("no guest script");
      }
      Path runner = runner();
      Path ctl = Files.createTempDirectory("iscsi-vm-");
      try {
        StringBuilder guest = new StringBuilder("#!/bin/sh\n");
        env.forEach((k, v) -> guest.append("export ").append(k).append('=')
            .append(shellQuote(v)).append('\n'));
        guest.append(script).append('\n');
        Path guestScript = ctl.resolve("guest.sh");
        Files.writeString(guestScript, guest);
        List<String> argv = new ArrayList<>(List.of(runner.toString(),
            "--ctl", ctl.toString(), "--script", guestScript.toString(),
            "--timeout", Long.toString(timeout.toSeconds()),
            "--memory", Integer.toString(memoryMb), "--cpus", Integer.toString(cpus),
            "--iqn", initiatorName));
        shares.forEach(s -> argv.addAll(List.of("--share", s)));
        forwards.forEach(f -> argv.addAll(List.of("--hostfwd", f)));
        if (disk != null) {
          argv.addAll(List.of("--disk", disk.toAbsolutePath().toString()));
        }
        log.info("starting VM: {}", String.join(" ", argv));
        Process p = new ProcessBuilder(argv).redirectErrorStream(true)
            .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
            .start();
        return new QemuVm(p, ctl, listener);
      } catch (IOException | RuntimeException e) {
        deleteTree(ctl);
        throw e;
      }
    }
  }
}
