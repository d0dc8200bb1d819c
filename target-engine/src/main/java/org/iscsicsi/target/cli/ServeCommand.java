package org.iscsicsi.target.cli;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.netty.util.ResourceLeakDetector;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.admin.AdminTls;
import org.iscsicsi.target.engine.AdminAddress;
import org.iscsicsi.target.engine.AdminListener;
import org.iscsicsi.target.engine.BackendOption;
import org.iscsicsi.target.engine.EngineConfig;
import org.iscsicsi.target.engine.EngineNaming;
import org.iscsicsi.target.engine.TargetEngine;
import org.iscsicsi.target.kube.EngineRegistration;
import org.iscsicsi.target.kube.EngineView;
import org.iscsicsi.target.metrics.MetricsServer;
import org.iscsicsi.target.transfer.ReplicationSettings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code serve}: runs an engine until SIGTERM/SIGINT. */
@Command(name = "serve", description = "Run the target engine.")
final class ServeCommand implements Callable<Integer> {

  /** How long the Kubernetes report waits for the engine's own admin API. */
  private static final Duration ENGINE_CALL_DEADLINE = Duration.ofSeconds(10);

  static final String TLS_FLAGS = "--admin-tls-cert, --admin-tls-key and --admin-tls-client-ca";

  @Option(names = "--state-dir", required = true, paramLabel = "DIR",
      description = "Where targets, LUNs, grants and secrets are kept.")
  Path stateDir;

  @Option(names = "--pool-dir", paramLabel = "DIR",
      description = "Where new LUN files go (default DIR/luns).")
  Path poolDir;

  @Option(names = "--snapshot-dir", paramLabel = "DIR",
      description = "Where snapshot files go (default DIR/snapshots).")
  Path snapshotDir;

  @Option(names = "--portal", paramLabel = "HOST:PORT",
      description = "iSCSI listen address (default 0.0.0.0:3260).")
  String portal = "0.0.0.0:" + EngineConfig.ISCSI_PORT;

  @Option(names = "--advertise", paramLabel = "HOST:PORT",
      description = "Portal announced in discovery (repeatable; default: the listen address).")
  List<String> advertise = new ArrayList<>();

  @Option(names = "--admin", paramLabel = "ADDR",
      description = "Admin API: unix:/path, host:port or none (default " + AdminAddress.DEFAULT
          + "). TCP off loopback needs the --admin-tls-* files.")
  String admin = AdminAddress.DEFAULT;

  @Option(names = "--admin-tls-cert", paramLabel = "FILE",
      description = "PEM certificate chain of the engine's TCP admin API (mutual TLS).")
  Path adminTlsCert;

  @Option(names = "--admin-tls-key", paramLabel = "FILE",
      description = "PEM (PKCS#8) private key of that certificate; mode 0600 or 0400.")
  Path adminTlsKey;

  @Option(names = "--admin-tls-client-ca", paramLabel = "FILE",
      description = "PEM CA that admin clients' certificates must chain to.")
  Path adminTlsClientCa;

  @Option(names = "--admin-client-cn", paramLabel = "CN",
      description = "Subject common name an admin client certificate must carry (repeatable; "
          + "default " + AdminListener.CONTROLLER_CN + ").")
  List<String> adminClientCns = new ArrayList<>();

  @Option(names = "--admin-reflection",
      description = "Serve gRPC server reflection on the admin API (default: off).")
  boolean adminReflection;

  @Option(names = "--replication", paramLabel = "HOST:PORT",
      description = "Listen for transfers and replica streams from other engines here (mutual "
          + "TLS 1.3, client certificates with CN engine only; default: off).")
  String replication;

  @Option(names = "--replication-tls-cert", paramLabel = "FILE",
      description = "PEM certificate (CN engine) for the replication port and for dialling "
          + "other engines (default: --admin-tls-cert).")
  Path replicationTlsCert;

  @Option(names = "--replication-tls-key", paramLabel = "FILE",
      description = "Its PKCS#8 PEM private key, mode 0600 or 0400 (default: --admin-tls-key).")
  Path replicationTlsKey;

  @Option(names = "--replication-tls-ca", paramLabel = "FILE",
      description = "PEM CA other engines' certificates must chain to. Needed to send or "
          + "receive transfers.")
  Path replicationTlsCa;

  @Option(names = "--transfer-bandwidth", paramLabel = "BYTES",
      description = "Most bytes per second this engine sends over all its transfers, K/M/G "
          + "suffixes (default 100M).")
  String transferBandwidth = "100M";

  @Option(names = "--nop-interval", paramLabel = "SECONDS",
      description = "Ping idle initiators after this many seconds (default 10).")
  int nopSeconds = 10;

  @Option(names = "--metrics", paramLabel = "HOST:PORT",
      description = "Serve Prometheus metrics on http://HOST:PORT/metrics (default: off).")
  String metrics;

  @Mixin
  LoginOptions login = new LoginOptions();

  @Option(names = "--name", paramLabel = "NAME",
      description = "Engine name (lowercase, digits, '-', at most 32; default: the node's, "
          + "else the state directory's, else local).")
  String name;

  @Option(names = "--node", paramLabel = "NODE", defaultValue = "${env:NODE_NAME}",
      description = "Kubernetes node the engine runs on (default $NODE_NAME).")
  String node;

  @Option(names = "--rename",
      description = "Let a state directory that records another engine name take this one.")
  boolean rename;

  @Mixin
  KubernetesOptions kubernetes = new KubernetesOptions();

  @Option(names = "--backend", paramLabel = "NAME=TYPE:ARGS",
      description = "A store of LUN bytes besides --pool-dir (repeatable; the first is the "
          + "default): NAME=fileio, NAME=lvm:VG (thick volumes), NAME=lvm-thin:VG/POOL (thin "
          + "volumes), NAME=blockio:/dev/... (one LUN on the whole device), "
          + "NAME=disk:/dev/disk/by-id/...[,thin] (an empty disk made the volume group "
          + "isc-<engine>). Without any: fileio only.")
  List<String> backends = new ArrayList<>();

  @Option(names = "--no-iscsi", hidden = true, description = "Serve only the admin API.")
  boolean noIscsi;

  /** Null unless a replication CA is given (the engine then neither sends nor receives). */
  private ReplicationSettings replicationSettings() {
    long bandwidth = Sizes.parse(transferBandwidth);
    if (replicationTlsCa == null) {
      if (replication != null) {
        throw new IllegalArgumentException("--replication needs --replication-tls-ca (and a "
            + "certificate: --replication-tls-cert/--replication-tls-key or the admin's)");
      }
      return null;
    }
    Path cert = replicationTlsCert != null ? replicationTlsCert : adminTlsCert;
    Path key = replicationTlsKey != null ? replicationTlsKey : adminTlsKey;
    AdminTls tls = AdminTls.ofOptional(cert, key, replicationTlsCa,
        "--replication-tls-cert (or --admin-tls-cert), --replication-tls-key (or "
            + "--admin-tls-key) and --replication-tls-ca");
    HostPort listen = replication == null ? null
        : HostPort.parse(replication, ReplicationSettings.PORT);
    return new ReplicationSettings(listen, tls, bandwidth, ReplicationSettings.MAX_TRANSFERS);
  }

  @Override
  public Integer call() throws IOException, InterruptedException {
    EngineConfig config = EngineConfig.of(stateDir)
        .withLunDir(poolDir)
        .withSnapshotDir(snapshotDir)
        .withPortal(HostPort.parse(portal, EngineConfig.ISCSI_PORT))
        .withAdvertise(advertise.stream().map(a -> HostPort.parse(a, EngineConfig.ISCSI_PORT))
            .toList())
        .withAdmin(new AdminListener(AdminAddress.parse(admin), AdminTls.ofOptional(adminTlsCert,
            adminTlsKey, adminTlsClientCa, TLS_FLAGS), adminReflection)
            .withClientCns(Set.copyOf(adminClientCns)))
        .withIscsi(!noIscsi)
        .withNopInterval(Duration.ofSeconds(nopSeconds))
        .withLogin(login.settings())
        .withNaming(new EngineNaming(name, node, rename))
        .withBackends(backends.stream().map(BackendOption::parse).toList());
    if (nopSeconds <= 0) {
      throw new IllegalArgumentException("--nop-interval must be positive");
    }
    kubernetes.check(node);
    if (System.getProperty("io.netty.leakDetection.level") == null) {
      // netty samples 1 in 128 buffers with a stack trace by default: 0.6 % of the engine's CPU
      // in docs/performance.md's profile; tests keep it on, -Dio.netty.leakDetection.level too
      ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
    }
    TargetEngine engine;
    try {
      engine = TargetEngine.start(config, replicationSettings());
    } catch (IOException e) {
      throw new TargetEngineCli.CliException("cannot start: " + e.getMessage());
    }
    MetricsServer metricsServer = null;
    if (metrics != null) {
      HostPort where = HostPort.parse(metrics, 9100);
      try {
        metricsServer = MetricsServer.start(where.host(), where.port(), engine.metrics());
      } catch (IOException e) {
        engine.close();
        throw new TargetEngineCli.CliException(e.getMessage());
      }
    }
    MetricsServer m = metricsServer;
    KubernetesClient client = null;
    EngineRegistration registration = null;
    if (kubernetes.enabled) {
      client = kubernetes.client();
      engine.replication().useKubernetes(client);
      registration = EngineRegistration.start(client,
          kubernetes.settings(engine, config.advertise()),
          EngineView.of(engine.adminChannel(), ENGINE_CALL_DEADLINE), engine::topology);
      registration.onLeaseRenewed(engine.replication()::engineLeaseRenewed);
    }
    KubernetesClient c = client;
    EngineRegistration r = registration;
    Thread hook = new Thread(() -> {
      if (r != null) {
        r.announceShutdown(); // before the portal closes: the controller learns of the stop
      }
      if (m != null) {
        m.close();
      }
      engine.close();
      if (r != null) {
        r.close();
        c.close();
      }
    }, "target-engine-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    engine.awaitTermination();
    return 0;
  }
}
