package org.iscsicsi.controller.kube;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.iscsicsi.controller.testing.TargetEngineLauncher;
import org.iscsicsi.target.testing.ProcessReady;
import org.iscsicsi.target.testing.TestPki;

/**
 * One pool engine as its own {@code target-engine serve} process: its own state directory,
 * iSCSI portal and admin API on free TCP ports of 127.0.0.1 (kept across a restart), or of its
 * own address in a network namespace ({@link #inNamespace}), mutual TLS
 * with the engines' certificate and the controllers' CA. With a kubeconfig it registers itself
 * ({@code --kubernetes}: its IscsiEngine and Lease, named after its node, Lease in
 * {@link PoolFixture#NAMESPACE}); without, a test writes them with {@link PoolFixture}.
 */
public final class PoolEngineProcess {

  /** What the engine logs once it serves ("target engine serving as NAME (incarnation ...)"). */
  private static final Pattern SERVING =
      Pattern.compile("target engine serving as \\S+ \\(incarnation (\\S+)\\)");

  /** Time a cold JVM on a loaded machine may take to serve. */
  static final Duration START = Duration.ofSeconds(120);

  public final String name;
  private final Path dir;
  private final TestPki.Identity engineCert;
  private final TestPki controllerCa;
  private final Path kubeconfig;
  private final Path stateDir;
  public final int portal = freePort();
  public final int admin = freePort();
  private Process process;
  private Path log;
  private int starts;
  /** The address its portal and admin API listen on; in a network namespace, its own. */
  private String host = "127.0.0.1";
  /** The network namespace it runs in ({@code ip netns exec}), or null for the test's own. */
  private String netns;
  /** The engines' CA its replication listener trusts, or null for no replication listener. */
  private TestPki engineCa;
  private int replication;

  /**
   * @param kubeconfig the API server to register in, or null for no registration
   */
  public PoolEngineProcess(String name, Path dir, TestPki.Identity engineCert,
      TestPki controllerCa, Path kubeconfig) throws IOException {
    this.name = name;
    this.dir = dir;
    this.engineCert = engineCert;
    this.controllerCa = controllerCa;
    this.kubeconfig = kubeconfig;
    this.stateDir = Files.createDirectories(dir.resolve(name));
  }

  /**
   * Runs the engine in network namespace {@code netns} (see {@link NetworkNamespace}), listening
   * on {@code host}, the namespace's address; call before {@link #start}.
   */
  public PoolEngineProcess inNamespace(String netns, String host) {
    this.netns = netns;
    this.host = host;
    return this;
  }

  /**
   * Gives the engine a replication listener (transfers and replica streams) on a free port of
   * its host, with its engine certificate and {@code engineCa} as the peers' CA; call before
   * {@link #start}.
   */
  public PoolEngineProcess withReplication(TestPki engineCa) {
    this.engineCa = engineCa;
    this.replication = freePort();
    return this;
  }

  public String adminAddress() {
    return host + ":" + admin;
  }

  public String portalAddress() {
    return host + ":" + portal;
  }

  public boolean alive() {
    return process != null && process.isAlive();
  }

  public void start() throws IOException {
    log = dir.resolve(name + "-" + (++starts) + ".log");
    List<String> args = new ArrayList<>(List.of("serve", "--name", name,
        "--state-dir", stateDir.toString(),
        "--portal", portalAddress(), "--admin", adminAddress(),
        "--admin-tls-cert", engineCert.certificate().toString(),
        "--admin-tls-key", engineCert.key().toString(),
        "--admin-tls-client-ca", controllerCa.caCertificate().toString()));
    if (engineCa != null) {
      args.addAll(List.of("--replication", host + ":" + replication,
          "--replication-tls-cert", engineCert.certificate().toString(),
          "--replication-tls-key", engineCert.key().toString(),
          "--replication-tls-ca", engineCa.caCertificate().toString()));
    }
    if (kubeconfig != null) {
      args.addAll(List.of("--kubernetes", "--node", name, "--namespace", PoolFixture.NAMESPACE,
          "--advertise", portalAddress()));
    }
    ProcessBuilder pb = TargetEngineLauncher.builder(args.toArray(String[]::new))
        .redirectErrorStream(true).redirectOutput(log.toFile());
    if (netns != null) {
      // ip execs the launcher, which execs java: the process stays the engine's JVM
      pb.command().addAll(0, List.of(NetworkNamespace.IP, "netns", "exec", netns));
    }
    if (kubeconfig != null) {
      pb.environment().put("KUBECONFIG", kubeconfig.toString());
      // a kubeconfig's credentials only, not a pod's token (a real API server checks them)
      pb.environment().put("KUBERNETES_AUTH_TRYSERVICEACCOUNT", "false");
    }
    process = pb.start();
  }

  /** Waits until the engine serves; returns its incarnation (new at every start). */
  public String awaitServing() throws IOException, InterruptedException {
    return ProcessReady.await("engine " + name + " serving", process, log, START, () -> {
      Matcher serving = SERVING.matcher(Files.readString(log));
      return serving.find() ? serving.group(1) : null;
    }, java.util.Objects::nonNull);
  }

  /** The log of the current (or last) run. */
  public String log() throws IOException {
    return Files.readString(log);
  }

  /** SIGKILL: no shutdown hook, no goodbye. */
  public void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  /** SIGTERM, then SIGKILL after 30 s. */
  public void stop() throws InterruptedException {
    if (process != null && process.isAlive()) {
      process.destroy();
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        kill();
      }
    }
  }

  static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
