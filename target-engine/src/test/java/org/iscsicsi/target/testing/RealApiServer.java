package org.iscsicsi.target.testing;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * etcd and kube-apiserver from the build of e2e/cluster/build.sh (its cache entry, found the way
 * e2e's TestCluster finds it: {@code $ISCSI_CSI_K8S_DIR}, else {@code build.sh} with
 * {@code ISCSI_CSI_BUILD_CHECK_ONLY=1}), started as processes on free loopback ports with a PKI
 * made by openssl as start.sh makes it, for tests that must show what the real API server does
 * (and that fabric8's mock does the same). Only the two processes: no controllers, no nodes.
 */
public final class RealApiServer implements AutoCloseable {

  private static final Duration READY = Duration.ofSeconds(120);

  private final List<Process> processes = new ArrayList<>();
  private final Path kubeconfig;
  private final Path dir;

  private RealApiServer(Path dir) {
    this.dir = dir;
    this.kubeconfig = dir.resolve("kubeconfig");
  }

  /** The directory holding bin/etcd and bin/kube-apiserver, or empty when not built. */
  public static Optional<Path> built() throws IOException, InterruptedException {
    String given = System.getenv("ISCSI_CSI_K8S_DIR");
    if (given != null && !given.isBlank()) {
      return Optional.of(Path.of(given));
    }
    Path script = Path.of("..", "e2e", "cluster", "build.sh").toAbsolutePath().normalize();
    if (!Files.isRegularFile(script)) {
      return Optional.empty();
    }
    ProcessBuilder pb = new ProcessBuilder("bash", script.toString());
    pb.environment().put("ISCSI_CSI_BUILD_CHECK_ONLY", "1");
    Exec.Result r = Exec.run(Duration.ofMinutes(5), pb);
    if (r.exit() != 0) {
      return Optional.empty();
    }
    List<String> lines = r.output().lines().filter(l -> !l.startsWith("[")).toList();
    return lines.isEmpty() ? Optional.empty()
        : Optional.of(Path.of(lines.getLast().trim())).filter(p ->
            Files.isExecutable(p.resolve("bin/kube-apiserver")));
  }

  /** Starts etcd and kube-apiserver from {@code k8s} with their state in {@code dir}. */
  public static RealApiServer start(Path k8s, Path dir) throws IOException,
      InterruptedException {
    RealApiServer s = new RealApiServer(dir);
    try {
      s.launch(k8s.resolve("bin"));
      return s;
    } catch (IOException | InterruptedException | RuntimeException e) {
      s.close();
      throw e;
    }
  }

  /** The admin user's kubeconfig, for processes (KUBECONFIG) that talk to this server. */
  public Path kubeconfig() {
    return kubeconfig;
  }

  /** A client of the admin user (system:masters). */
  public KubernetesClient client() throws IOException {
    Config config = Config.fromKubeconfig(Files.readString(kubeconfig));
    return new KubernetesClientBuilder().withConfig(config).build();
  }

  private void launch(Path bin) throws IOException, InterruptedException {
    Path pki = dir.resolve("pki");
    Files.createDirectories(pki);
    openssl(pki, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
        "ca.crt", "-days", "2", "-subj", "/CN=iscsi-csi-test-ca");
    openssl(pki, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "apiserver.key", "-out",
        "apiserver.csr", "-subj", "/CN=kube-apiserver");
    Files.writeString(pki.resolve("apiserver.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
    openssl(pki, "x509", "-req", "-in", "apiserver.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "apiserver.crt", "-days", "2", "-extfile", "apiserver.ext");
    openssl(pki, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "admin.key", "-out",
        "admin.csr", "-subj", "/O=system:masters/CN=test-admin");
    Files.writeString(pki.resolve("client.ext"), "extendedKeyUsage=clientAuth\n");
    openssl(pki, "x509", "-req", "-in", "admin.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "admin.crt", "-days", "2", "-extfile", "client.ext");
    openssl(pki, "genrsa", "-out", "sa.key", "2048");
    openssl(pki, "rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub");

    int etcdPort = ServeProcess.freePort();
    int peerPort = ServeProcess.freePort();
    int apiPort = ServeProcess.freePort();
    spawn("etcd", List.of(bin.resolve("etcd").toString(), "--name", "test",
        "--data-dir", dir.resolve("etcd").toString(),
        "--listen-client-urls", "http://127.0.0.1:" + etcdPort,
        "--advertise-client-urls", "http://127.0.0.1:" + etcdPort,
        "--listen-peer-urls", "http://127.0.0.1:" + peerPort,
        "--initial-advertise-peer-urls", "http://127.0.0.1:" + peerPort,
        "--initial-cluster", "test=http://127.0.0.1:" + peerPort,
        "--unsafe-no-fsync"));
    spawn("kube-apiserver", List.of(bin.resolve("kube-apiserver").toString(),
        "--etcd-servers", "http://127.0.0.1:" + etcdPort,
        "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
        "--secure-port", Integer.toString(apiPort),
        "--tls-cert-file", pki.resolve("apiserver.crt").toString(),
        "--tls-private-key-file", pki.resolve("apiserver.key").toString(),
        "--client-ca-file", pki.resolve("ca.crt").toString(),
        "--service-account-issuer", "https://kubernetes.default.svc",
        "--service-account-key-file", pki.resolve("sa.pub").toString(),
        "--service-account-signing-key-file", pki.resolve("sa.key").toString(),
        "--service-cluster-ip-range", "10.0.0.0/24",
        "--authorization-mode", "RBAC", "--enable-priority-and-fairness=false",
        "--endpoint-reconciler-type", "none", "--profiling=false"));
    Files.writeString(kubeconfig, """
        apiVersion: v1
        kind: Config
        clusters:
        - name: test
          cluster:
            server: https://127.0.0.1:%d
            certificate-authority: %s
        users:
        - name: admin
          user:
            client-certificate: %s
            client-key: %s
        contexts:
        - name: test
          context: {cluster: test, user: admin}
        current-context: test
        """.formatted(apiPort, pki.resolve("ca.crt"), pki.resolve("admin.crt"),
        pki.resolve("admin.key")));
    long deadline = System.nanoTime() + READY.toNanos();
    String last = "";
    while (System.nanoTime() < deadline) {
      for (Process p : processes) {
        if (!p.isAlive()) {
          throw new IOException(p.info().command().orElse("a process") + " exited with "
              + p.exitValue() + "; logs in " + dir);
        }
      }
      try (KubernetesClient c = client()) {
        String ready = c.raw("/readyz");
        if ("ok".equals(ready)) {
          return;
        }
        last = String.valueOf(ready);
      } catch (RuntimeException e) {
        last = e.toString();
      }
      TimeUnit.MILLISECONDS.sleep(500);
    }
    throw new IOException("kube-apiserver not ready after " + READY + ": " + last
        + "; logs in " + dir);
  }

  private void spawn(String name, List<String> argv) throws IOException {
    processes.add(new ProcessBuilder(argv).redirectErrorStream(true)
        .redirectOutput(dir.resolve(name + ".log").toFile()).start());
  }

  private static void openssl(Path dir, String... args) throws IOException,
      InterruptedException {
    List<String> argv = new ArrayList<>(List.of("openssl"));
    argv.addAll(List.of(args));
    Exec.Result r = Exec.run(Duration.ofMinutes(1), new ProcessBuilder(argv)
        .directory(dir.toFile()));
    if (r.exit() != 0) {
      throw new IOException("openssl " + args[0] + " failed: " + r.output());
    }
  }

  @Override
  public void close() {
    for (int i = processes.size() - 1; i >= 0; i--) {
      Process p = processes.get(i);
      p.destroy();
      try {
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
          p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        p.destroyForcibly();
      }
    }
  }
}
