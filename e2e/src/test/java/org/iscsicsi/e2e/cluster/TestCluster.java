package org.iscsicsi.e2e.cluster;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The Kubernetes control plane of e2e/cluster/start.sh (etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler, the CSI sidecars and the project's controller as
 * processes on loopback) for one test class: started by {@link #start}, ended by {@link #close}
 * (stop.sh), which also runs when start-up fails half-way.
 */
final class TestCluster implements AutoCloseable {
  static final String DRIVER = "iscsi.csi.iscsicsi.org";
  static final String NAMESPACE = "iscsi-csi";
  /** The node start.sh registers itself when no VM plays the node (host-only). */
  static final String NODE = "node-1";
  static final String NODE_IQN = "iqn.2026-11.org.iscsicsi.test:node-1";
  /** The controller's portal on the host's loopback (start.sh, in this run's port block). */
  static final int PORTAL_PORT = PortBlock.PORTAL;

  private final Path scripts;
  private final Path run;
  private final Path k8sDir;
  private final Path kubectl;
  private final String advertise;
  final Duration startUp;

  private TestCluster(Path scripts, Path run, Path k8sDir, String advertise, Duration startUp) {
    this.scripts = scripts;
    this.advertise = advertise;
    this.run = run;
    this.k8sDir = k8sDir;
    this.kubectl = k8sDir.resolve("bin/kubectl");
    this.startUp = startUp;
  }

  /** The repository root (surefire passes it; from an IDE the working dir is e2e/). */
  static Path repoRoot() {
    String configured = System.getProperty("iscsi.repoRoot");
    Path root = Path.of(configured != null ? configured : "..").toAbsolutePath().normalize();
    if (!Files.isDirectory(root.resolve("e2e/cluster"))) {
      throw new IllegalStateException("not the repository root (no e2e/cluster): " + root);
    }
    return root;
  }

  /**
   * The directory build.sh fills (bin/, crds/), or empty when the build has not run; the
   * environment variable ISCSI_CSI_K8S_DIR names another one.
   */
  static Optional<Path> builtBinaries() throws IOException, InterruptedException {
    String given = System.getenv("ISCSI_CSI_K8S_DIR"); // start.sh honours it too
    if (given != null && !given.isBlank()) {
      return Optional.of(Path.of(given));
    }
    return cachedBuild("build.sh");
  }

  /**
   * The directory a cached e2e/cluster build script ({@code build.sh}, {@code
   * build-storage-e2e.sh}) prints when its build is complete, or empty; it only checks
   * (ISCSI_CSI_BUILD_CHECK_ONLY), never builds.
   */
  static Optional<Path> cachedBuild(String script) throws IOException, InterruptedException {
    Result r = exec(List.of("bash", repoRoot().resolve("e2e/cluster").resolve(script).toString()),
        Duration.ofMinutes(5), List.of("ISCSI_CSI_BUILD_CHECK_ONLY=1"));
    if (r.exit() != 0) {
      return Optional.empty();
    }
    List<String> lines = r.out().lines().toList();
    return lines.isEmpty() ? Optional.empty() : Optional.of(Path.of(lines.getLast()));
  }

  /**
   * The skip of a test class that needs build.sh's binaries when they are not built (unless
   * {@code -Discsi.cluster=true} lets start.sh build them), then {@code target/<name>} emptied
   * for a new run, after stopping what a run before left there.
   */
  static Path freshRun(String name) throws IOException, InterruptedException {
    boolean build = Boolean.getBoolean("iscsi.cluster");
    org.junit.jupiter.api.Assumptions.assumeTrue(build || builtBinaries().isPresent(),
        "the Kubernetes binaries are not built: run e2e/cluster/build.sh (long when cold) or "
            + "pass -Discsi.cluster=true");
    Path run = Path.of("target", name).toAbsolutePath();
    clean(run);
    return run;
  }

  /** {@code run} emptied for a new run, after stopping what a run before left there. */
  static void clean(Path run) throws IOException, InterruptedException {
    if (Files.exists(run.resolve("pids"))) {
      exec(List.of("bash", repoRoot().resolve("e2e/cluster/stop.sh").toString(),
          run.toString()), Duration.ofMinutes(2), List.of());
    }
    if (Files.exists(run)) {
      try (var paths = Files.walk(run)) {
        for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
    Files.createDirectories(run);
  }

  /**
   * start.sh: with {@code withNode} false ({@code --no-node}) no node is registered (see {@link
   * #registerNode}); {@code advertise} is the portal address volumes carry.
   */
  static TestCluster start(Path run, boolean withNode, String advertise)
      throws IOException, InterruptedException {
    return launch(run, withNode ? List.of() : List.of("--no-node"), advertise);
  }

  /**
   * start.sh {@code --kubelet}: no node registered; the VM node's kubelet registers itself with
   * the credentials in RUN/node ({@link VmNode#join}), and kube-controller-manager runs the node
   * controllers a kubelet needs.
   */
  static TestCluster startForKubelet(Path run, String advertise)
      throws IOException, InterruptedException {
    return launch(run, List.of("--kubelet"), advertise);
  }

  /**
   * start.sh {@code --pool engines}: the chart's pool-mode objects from RUN/chart-pool.yaml, the
   * storage nodes node-a, node-b, ... with an engine process each, the controller with --pool.
   */
  static TestCluster startPool(Path run, int engines) throws IOException, InterruptedException {
    return launch(run, List.of("--pool", Integer.toString(engines)), "127.0.0.1:" + PORTAL_PORT);
  }

  /**
   * start.sh {@code --pool engines --kubelet}: pool mode as {@link #startPool} with the VM node's
   * kubelet joining as with {@link #startForKubelet}; the engines advertise their portals on
   * {@code engineHost} (the host as the guest reaches it) and report no zones.
   */
  static TestCluster startPoolForKubelet(Path run, int engines, String engineHost)
      throws IOException, InterruptedException {
    return launch(run, List.of("--pool", Integer.toString(engines), "--kubelet"),
        "127.0.0.1:" + PORTAL_PORT, List.of("ISCSI_CSI_ENGINE_HOST=" + engineHost));
  }

  private static TestCluster launch(Path run, List<String> mode, String advertise)
      throws IOException, InterruptedException {
    return launch(run, mode, advertise, List.of());
  }

  private static TestCluster launch(Path run, List<String> mode, String advertise,
      List<String> env) throws IOException, InterruptedException {
    Path scripts = repoRoot().resolve("e2e/cluster");
    long t0 = System.nanoTime();
    List<String> cmd = new ArrayList<>(List.of("bash", scripts.resolve("start.sh").toString(),
        run.toString()));
    cmd.addAll(mode);
    List<String> environment = new ArrayList<>(env);
    environment.add("ISCSI_CSI_ADVERTISE=" + advertise);
    environment.add(PortBlock.ENV + "=" + PortBlock.BASE);
    Result r = exec(cmd, Duration.ofMinutes(150), environment);
    Duration took = Duration.ofNanos(System.nanoTime() - t0);
    if (r.exit() != 0) {
      throw new IllegalStateException("start.sh failed (exit " + r.exit() + "): " + r.err()
          + "\nlogs in " + run.resolve("logs"));
    }
    Path bin = builtBinaries().orElseThrow(
        () -> new IllegalStateException("start.sh ran but build.sh reports no binaries"));
    return new TestCluster(scripts, run, bin, advertise, took);
  }

  /**
   * What kubelet registers for a node once the node plugin's registrar hands it NodeGetInfo:
   * the Node (Ready, topology labels) and its CSINode (register-node.sh).
   */
  void registerNode(String name, String nodeId, java.util.Map<String, String> topology)
      throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("bash",
        scripts.resolve("register-node.sh").toString(), run.toString(), name, nodeId));
    topology.forEach((k, v) -> cmd.add(k + "=" + v));
    Result r = exec(cmd, Duration.ofMinutes(2), List.of("ISCSI_CSI_K8S_DIR=" + k8sDir));
    if (r.exit() != 0) {
      throw new IllegalStateException("register-node.sh failed: " + r.err());
    }
  }

  /** The Lease the controller campaigns for (start.sh: the chart's namespace, default name). */
  String leaseHolder() throws IOException, InterruptedException {
    return k("get", "lease", DRIVER.replace('.', '-'), "-n", NAMESPACE, "-o",
        "jsonpath={.spec.holderIdentity}");
  }

  /** The controller's identity in the Lease: start.sh numbers every start. */
  String controllerIdentity() throws IOException {
    return "controller-" + Files.readString(run.resolve("controller.starts")).strip();
  }

  Path run() {
    return run;
  }

  Path kubeconfig() {
    return run.resolve("kubeconfig");
  }

  Path stateDir() {
    return run.resolve("state");
  }

  /** kubectl with the admin kubeconfig; never throws on a non-zero exit. */
  Result kubectl(String... args) throws IOException, InterruptedException {
    return kubectlIn(null, args);
  }

  /** kubectl reading {@code stdin}. */
  Result kubectlIn(String stdin, String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(kubectl.toString());
    cmd.add("--kubeconfig");
    cmd.add(kubeconfig().toString());
    cmd.addAll(List.of(args));
    return exec(cmd, Duration.ofSeconds(180), List.of(), stdin);
  }

  /** kubectl that must succeed; returns stdout. */
  String k(String... args) throws IOException, InterruptedException {
    Result r = kubectl(args);
    if (r.exit() != 0) {
      throw new AssertionError("kubectl " + String.join(" ", args) + " failed: " + r.err());
    }
    return r.out().strip();
  }

  /** {@code kubectl apply -f -} of a manifest. */
  String apply(String yaml) throws IOException, InterruptedException {
    Result r = kubectlIn(yaml, "apply", "-f", "-");
    if (r.exit() != 0) {
      throw new AssertionError("kubectl apply failed: " + r.err() + "\n" + yaml);
    }
    return r.out().strip();
  }

  /** SIGKILL of the controller process (the JVM: bin/controller execs java). */
  void killController() throws IOException, InterruptedException {
    long pid = Long.parseLong(Files.readString(run.resolve("pids/controller.pid")).strip());
    ProcessHandle p = ProcessHandle.of(pid)
        .orElseThrow(() -> new IllegalStateException("controller pid " + pid + " not running"));
    p.destroyForcibly();
    try {
      p.onExit().get(30, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("controller pid " + pid + " survived SIGKILL", e);
    }
  }

  /** The running engine process of pool storage node {@code node} (start.sh's pid file). */
  ProcessHandle engine(String node) throws IOException {
    long pid = Long.parseLong(Files.readString(run.resolve("pids/engine-" + node + ".pid"))
        .strip());
    return ProcessHandle.of(pid)
        .orElseThrow(() -> new IllegalStateException("engine " + node + " (pid " + pid
            + ") not running"));
  }

  /** SIGKILL of the pool engine of {@code node} (run-java execs the JVM), waited for. */
  void killEngine(String node) throws IOException {
    ProcessHandle p = engine(node);
    p.destroyForcibly();
    try {
      p.onExit().get(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted waiting for engine " + node + " to end", e);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("engine " + node + " survived SIGKILL", e);
    }
  }

  /** SIGSTOP ({@code stop} true) or SIGCONT of the pool engine of {@code node}. */
  void freezeEngine(String node, boolean stop) throws IOException, InterruptedException {
    Result r = exec(List.of("kill", stop ? "-STOP" : "-CONT", Long.toString(engine(node).pid())),
        Duration.ofSeconds(10), List.of());
    if (r.exit() != 0) {
      throw new IllegalStateException("kill " + (stop ? "-STOP" : "-CONT") + " of engine " + node
          + " failed: " + r.err());
    }
  }

  /** (Re)starts the pool engine of {@code node} as the pool start ran it (start.sh --engine). */
  void startEngine(String node) throws IOException, InterruptedException {
    Result r = exec(List.of("bash", scripts.resolve("start.sh").toString(), run.toString(),
        "--engine", node), Duration.ofMinutes(1), List.of());
    if (r.exit() != 0) {
      throw new IllegalStateException("engine " + node + " restart failed: " + r.err());
    }
  }

  void startController() throws IOException, InterruptedException {
    Result r = exec(List.of("bash", scripts.resolve("start.sh").toString(), run.toString(),
        "--controller-only"), Duration.ofMinutes(3), List.of("ISCSI_CSI_ADVERTISE=" + advertise));
    if (r.exit() != 0) {
      throw new IllegalStateException("controller restart failed: " + r.err());
    }
  }

  @Override
  public void close() throws IOException, InterruptedException {
    exec(List.of("bash", scripts.resolve("stop.sh").toString(), run.toString(), "--keep"),
        Duration.ofMinutes(3), List.of());
  }

  record Result(int exit, String out, String err) {}

  static Result exec(List<String> cmd, Duration timeout, List<String> env)
      throws IOException, InterruptedException {
    return exec(cmd, timeout, env, null);
  }

  static Result exec(List<String> cmd, Duration timeout, List<String> env, String stdin)
      throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(cmd);
    for (String e : env) {
      int eq = e.indexOf('=');
      pb.environment().put(e.substring(0, eq), e.substring(eq + 1));
    }
    Path out = Files.createTempFile("exec", ".out");
    Path err = Files.createTempFile("exec", ".err");
    try {
      pb.redirectOutput(out.toFile()).redirectError(err.toFile());
      if (stdin == null) {
        pb.redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
      }
      Process p = pb.start();
      if (stdin != null) {
        try (var in = p.getOutputStream()) {
          in.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
      }
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        throw new IllegalStateException(cmd.getFirst() + " timed out after " + timeout);
      }
      return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }
}
