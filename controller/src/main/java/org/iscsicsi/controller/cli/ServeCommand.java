package org.iscsicsi.controller.cli;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.grpc.BindableService;
import io.netty.util.ResourceLeakDetector;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.iscsicsi.controller.engine.Closeables;
import org.iscsicsi.controller.engine.EmbeddedEngine;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.engine.EngineClient;
import org.iscsicsi.controller.engine.EngineDirectory;
import org.iscsicsi.controller.engine.EngineHealth;
import org.iscsicsi.controller.engine.EngineSet;
import org.iscsicsi.controller.engine.Engines;
import org.iscsicsi.controller.engine.RemoteEngine;
import org.iscsicsi.controller.identity.DriverInfo;
import org.iscsicsi.controller.identity.IdentityService;
import org.iscsicsi.controller.kube.ChapSecrets;
import org.iscsicsi.controller.kube.EngineDrainStatus;
import org.iscsicsi.controller.kube.EngineInformer;
import org.iscsicsi.controller.kube.EngineRemoval;
import org.iscsicsi.controller.kube.EngineStatusWriter;
import org.iscsicsi.controller.kube.EventRecorder;
import org.iscsicsi.controller.kube.IscsiVolumeSync;
import org.iscsicsi.controller.kube.LeaderElection;
import org.iscsicsi.controller.kube.PvcEvents;
import org.iscsicsi.controller.server.CsiMetrics;
import org.iscsicsi.controller.service.ClusterObjects;
import org.iscsicsi.controller.service.ControllerConfig;
import org.iscsicsi.controller.service.ControllerService;
import org.iscsicsi.controller.service.Drainer;
import org.iscsicsi.controller.service.ReplicaSupervisor;
import org.iscsicsi.controller.volume.ByteQuantity;
import org.iscsicsi.controller.volume.PoolLimits;
import org.iscsicsi.controller.volume.VolumeId;
import org.iscsicsi.csi.CsiServer;
import org.iscsicsi.csi.Endpoint;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.admin.AdminTls;
import org.iscsicsi.target.engine.AdminAddress;
import org.iscsicsi.target.engine.AdminListener;
import org.iscsicsi.target.metrics.EngineMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code controller serve}: the CSI Identity and Controller services until SIGTERM. */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = "Serve CSI Identity and Controller, embedding a target engine by default.")
final class ServeCommand implements Callable<Integer> {

  private static final Logger log = LoggerFactory.getLogger(ServeCommand.class);

  @Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Option(names = "--endpoint", required = true, paramLabel = "ENDPOINT",
      description = "CSI endpoint: unix:///path/csi.sock or tcp://HOST:PORT")
  String endpoint;

  @Option(names = "--state-dir", paramLabel = "DIR",
      description = "State directory of the embedded target engine (LUN files, snapshots)")
  Path stateDir;

  @Option(names = "--portal", paramLabel = "HOST:PORT", defaultValue = "0.0.0.0:3260",
      description = "Address the embedded target listens on for iSCSI (default ${DEFAULT-VALUE})")
  String portal;

  @Option(names = "--advertise", paramLabel = "HOST:PORT",
      description = "Portal nodes are told to use (repeatable; default: the listen address)")
  List<String> advertise = new ArrayList<>();

  @Option(names = "--engine-name", paramLabel = "NAME", defaultValue = EmbeddedEngine.DEFAULT_NAME,
      description = "Name of the embedded engine, the first part of its volume ids "
          + "(default ${DEFAULT-VALUE})")
  String engineName;

  @Option(names = "--engine", paramLabel = "NAME=ENDPOINT",
      description = "A remote target engine's admin API, unix:///path or tcp://HOST:PORT "
          + "(repeatable)")
  Map<String, String> remoteEngines = new LinkedHashMap<>();

  @Option(names = "--admin", paramLabel = "ADDR",
      description = "Admin API of the embedded engine for the target-engine CLI: unix:/path or "
          + "none (default unix:DIR/" + EmbeddedEngine.ADMIN_SOCKET + ", mode 0600)")
  String admin;

  @Option(names = "--engine-tls-cert", paramLabel = "FILE",
      description = "PEM client certificate the controller shows to remote engines over TCP")
  Path engineTlsCert;

  @Option(names = "--engine-tls-key", paramLabel = "FILE",
      description = "PEM (PKCS#8) private key of that certificate; mode 0600 or 0400")
  Path engineTlsKey;

  @Option(names = "--engine-tls-ca", paramLabel = "FILE",
      description = "PEM CA remote engines' certificates must chain to")
  Path engineTlsCa;

  @Option(names = "--topology", paramLabel = "KEY=VALUE",
      description = "Topology segment of the embedded engine (repeatable; none: reachable from "
          + "every node)")
  Map<String, String> topology = new LinkedHashMap<>();

  @Option(names = "--driver-name", paramLabel = "NAME",
      defaultValue = ControllerConfig.DEFAULT_DRIVER_NAME,
      description = "CSI driver name (default ${DEFAULT-VALUE})")
  String driverName;

  @Option(names = "--iqn-prefix", paramLabel = "IQN",
      defaultValue = ControllerConfig.DEFAULT_IQN_PREFIX,
      description = "Prefix of volume target names (default ${DEFAULT-VALUE})")
  String iqnPrefix;

  @Option(names = "--engine-timeout", paramLabel = "SECONDS", defaultValue = "120",
      description = "Deadline of each target engine call (default ${DEFAULT-VALUE})")
  int engineTimeoutSeconds;

  @Option(names = "--leader-election",
      description = "Serve Controller calls only while holding a Lease (several replicas)")
  boolean leaderElection;

  @Option(names = "--leader-election-namespace", paramLabel = "NS",
      description = "Namespace of the Lease (default: $POD_NAMESPACE, else default)")
  String leaseNamespace;

  @Option(names = "--leader-election-lease", paramLabel = "NAME",
      description = "Name of the Lease (default: the driver name with '.' as '-')")
  String leaseName;

  @Option(names = "--sync-crd",
      description = "Keep IscsiVolume objects (CRD crd/iscsivolumes.yaml) in step with the engines")
  boolean syncCrd;

  @Option(names = "--sync-interval", paramLabel = "SECONDS", defaultValue = "30",
      description = "Seconds between IscsiVolume syncs (default ${DEFAULT-VALUE})")
  int syncInterval;

  @Option(names = "--chap-secret-namespace", paramLabel = "NS",
      description = "Keep each volume's generated CHAP credentials in a Secret in NS, for the "
          + "StorageClass's node-stage secret (default: only in the engine's state)")
  String chapSecretNamespace;

  @Option(names = "--chap-secret-prefix", paramLabel = "PREFIX",
      defaultValue = ChapSecrets.DEFAULT_PREFIX,
      description = "Name of a volume's CHAP Secret: PREFIX + volume (PV) name "
          + "(default ${DEFAULT-VALUE})")
  String chapSecretPrefix;

  @Option(names = "--overcommit-ratio", paramLabel = "RATIO", defaultValue = "1",
      description = "Volumes may promise at most RATIO times the pool's size, thin ones at "
          + "their full size (0: no limit; default ${DEFAULT-VALUE})")
  double overcommitRatio;

  @Option(names = "--max-volume-size", paramLabel = "BYTES",
      description = "Largest volume, in bytes or as a quantity such as 500Gi (default: no "
          + "limit)")
  String maxVolumeSize;

  @Option(names = "--metrics", paramLabel = "HOST:PORT",
      description = "Serve Prometheus metrics on http://HOST:PORT/metrics")
  String metrics;

  @Option(names = "--pool",
      description = "Pool mode: target engines run as their own workload and register "
          + "themselves in Kubernetes (IscsiEngine objects, Leases); no embedded engine")
  boolean pool;

  @Option(names = "--namespace", paramLabel = "NS",
      description = "With --pool: the release namespace, where engines keep their Leases "
          + "(default: $POD_NAMESPACE)")
  String namespace;

  /** The options of the embedded engine, which pool mode does not run. */
  private static final List<String> EMBEDDED_OPTIONS = List.of("--state-dir", "--portal",
      "--advertise", "--engine-name", "--admin", "--topology");

  @Override
  public Integer call() throws Exception {
    Endpoint csiEndpoint;
    ControllerConfig config;
    AdminTls engineTls;
    try {
      csiEndpoint = Endpoint.parse(endpoint);
      config = new ControllerConfig(driverName, iqnPrefix, new PoolLimits(overcommitRatio,
          maxVolumeSize == null ? 0 : ByteQuantity.parse(maxVolumeSize)));
      engineTls = AdminTls.ofOptional(engineTlsCert, engineTlsKey, engineTlsCa,
          RemoteEngine.TLS_FLAGS);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage(), e);
    }
    String poolNamespace = pool ? checkPoolOptions(engineTls) : null;
    if (!pool && namespace != null) {
      throw new ParameterException(spec.commandLine(), "--namespace is for --pool (the "
          + "Leases of pool engines); leader election takes --leader-election-namespace");
    }
    if (!pool && stateDir == null && remoteEngines.isEmpty()) {
      throw new ParameterException(spec.commandLine(),
          "give --state-dir (embedded engine), at least one --engine, or --pool");
    }
    if (System.getProperty("io.netty.leakDetection.level") == null) {
      // the embedded engine's data path: netty's sampled leak tracking costs CPU on every
      // 128th buffer (docs/performance.md); -Dio.netty.leakDetection.level turns it back on
      ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
    }
    Duration timeout = Duration.ofSeconds(engineTimeoutSeconds);
    Engines engines = null;
    Closeables cluster = new Closeables();
    CsiServer server = null;
    MetricsServer metricsServer = null;
    try {
      KubernetesClient kube = null;
      if (pool || leaderElection || syncCrd || chapSecretNamespace != null) {
        kube = cluster.add(new KubernetesClientBuilder().build());
      }
      Supplier<List<EngineMetrics>> embeddedMetrics = List::of;
      EngineInformer informer = null;
      if (pool) {
        EngineDirectory directory = new EngineDirectory(RemoteEngine.poolChannels(engineTls),
            timeout, Clock.systemUTC());
        engines = directory;
        cluster.add(EngineHealth.start(directory));
        informer = cluster.add(EngineInformer.start(kube, poolNamespace, directory));
        log.info("pool mode: engines register in IscsiEngine objects, Leases in namespace {}",
            poolNamespace);
      } else {
        EngineSet set = staticEngines(timeout, engineTls);
        engines = set;
        embeddedMetrics = set::embeddedMetrics;
      }
      DriverInfo info = new DriverInfo(config.driverName(), DriverInfo.buildVersion());
      BooleanSupplier leading = () -> true;
      ClusterObjects objects = ClusterObjects.NONE;
      // only with Kubernetes: a container's host name need not resolve (the image test's does not)
      String instance = kube == null ? "" : instanceName();
      EventRecorder events = kube == null ? null : new EventRecorder(kube, instance);
      if (kube != null) {
        objects = new ClusterObjects(chapSecretNamespace == null
            ? ClusterObjects.NONE.chapSecrets()
            : chapSecrets(kube, config), new PvcEvents(kube, events),
            new org.iscsicsi.controller.service.KubeMemberships(kube));
      }
      if (leaderElection) {
        String ns = leaseNamespace != null ? leaseNamespace
            : System.getenv().getOrDefault("POD_NAMESPACE", "default");
        String lease = leaseName != null ? leaseName : config.driverName().replace('.', '-');
        LeaderElection election = cluster.add(LeaderElection.start(kube, ns, lease, instance,
            Duration.ofSeconds(15)));
        leading = election;
      }
      if (pool) {
        cluster.add(EngineStatusWriter.start(kube, (EngineDirectory) engines, informer, events,
            leading, EngineStatusWriter.RECHECK));
        cluster.add(ReplicaSupervisor.start(kube, (EngineDirectory) engines, instance, leading,
            ReplicaSupervisor.INTERVAL, (volume, before, after, reason) -> { }));
      }
      ControllerService controller = new ControllerService(engines, config, leading, objects);
      if (syncCrd) {
        Engines fixed = engines;
        KubernetesClient api = kube;
        IscsiVolumeSync sync = controller.inventory()
            .map(pool -> new IscsiVolumeSync(api, pool, config))
            .orElseGet(() -> new IscsiVolumeSync(api, fixed, config));
        cluster.add(sync.start(syncInterval, leading));
      }
      if (pool) {
        controller.drainer().listen(cluster.add(new EngineDrainStatus(kube, informer, events,
            EngineDrainStatus.FLUSH)));
        cluster.add(controller.drainer().every(Drainer.INTERVAL, leading));
        cluster.add(controller.replicaRecords(leading));
        cluster.add(new EngineRemoval(kube, informer, controller.inventory().orElseThrow(),
            events, leading).every(EngineRemoval.INTERVAL));
      }
      List<BindableService> services = List.of(new IdentityService(info, engines), controller,
          controller.groupController(), controller.snapshotMetadata());
      CsiMetrics counters = new CsiMetrics();
      if (metrics != null) {
        metricsServer = MetricsServer.start(hostPort("--metrics", metrics), counters,
            embeddedMetrics);
        log.info("metrics on http://{}:{}/metrics", hostPort("--metrics", metrics).host(),
            metricsServer.port());
      }
      server = CsiServer.start(csiEndpoint, services, counters);
      log.info("{} {} serving CSI on {} with engines {}", info.name(), info.version(),
          server.endpoint(), engines.all().stream().map(Engine::name).toList());
      CountDownLatch stopped = new CountDownLatch(1);
      CsiServer s = server;
      MetricsServer m = metricsServer;
      Engines e = engines;
      Thread hook = new Thread(() -> {
        log.info("stopping");
        stop(s, m, cluster, e);
        stopped.countDown();
      }, "shutdown");
      Runtime.getRuntime().addShutdownHook(hook);
      server.awaitTermination();
      stopped.await();
      return 0;
    } catch (RuntimeException | java.io.IOException e) {
      stop(server, metricsServer, cluster, engines);
      throw e;
    }
  }

  /**
   * Pool mode runs no embedded engine and no static engines, and reaches engines only over
   * mutual TLS; returns the namespace of the engines' Leases.
   */
  private String checkPoolOptions(AdminTls engineTls) {
    for (String option : EMBEDDED_OPTIONS) {
      if (spec.commandLine().getParseResult().hasMatchedOption(option)) {
        throw new ParameterException(spec.commandLine(), option + " configures the embedded "
            + "engine, which --pool does not run (pool engines are target-engine serve "
            + "processes of their own)");
      }
    }
    if (!remoteEngines.isEmpty()) {
      throw new ParameterException(spec.commandLine(), "--engine with --pool: pool engines "
          + "register themselves in Kubernetes; static --engine flags are for the default mode");
    }
    if (engineTls == null) {
      throw new ParameterException(spec.commandLine(), "--pool reaches engines over mutual "
          + "TLS only: give " + RemoteEngine.TLS_FLAGS);
    }
    try {
      engineTls.channelCredentials(); // every channel reads them: refuse bad files now
    } catch (java.io.IOException e) {
      throw new ParameterException(spec.commandLine(), RemoteEngine.TLS_FLAGS + ": "
          + e.getMessage(), e);
    }
    String ns = namespace != null ? namespace : System.getenv("POD_NAMESPACE");
    if (ns == null || ns.isBlank()) {
      throw new ParameterException(spec.commandLine(), "--pool needs the release namespace, "
          + "where engines keep their Leases: give --namespace or set $POD_NAMESPACE");
    }
    return ns;
  }

  /** The embedded engine (with --state-dir) and the --engine ones. */
  private EngineSet staticEngines(Duration timeout, AdminTls engineTls)
      throws java.io.IOException {
    EngineSet engines = new EngineSet();
    try {
      if (stateDir != null) {
        if (!VolumeId.isEngineName(engineName)) {
          throw new ParameterException(spec.commandLine(), "--engine-name " + engineName
              + ": lowercase letters, digits and '-', at most 32");
        }
        List<HostPort> adv = new ArrayList<>();
        for (String a : advertise) {
          adv.add(hostPort("--advertise", a));
        }
        EmbeddedEngine.start(engines, engineName, stateDir, hostPort("--portal", portal), adv,
            topology, timeout, AdminListener.of(embeddedAdmin()));
      }
      for (Map.Entry<String, String> e : remoteEngines.entrySet()) {
        if (!VolumeId.isEngineName(e.getKey())) {
          throw new ParameterException(spec.commandLine(), "--engine " + e.getKey()
              + ": names are lowercase letters, digits and '-', at most 32");
        }
        RemoteEngine remote;
        try {
          remote = RemoteEngine.connect(Endpoint.parse(e.getValue()), engineTls);
        } catch (IllegalArgumentException ex) {
          throw new ParameterException(spec.commandLine(), "--engine " + e.getKey() + ": "
              + ex.getMessage(), ex);
        }
        engines.add(new Engine(e.getKey(), new EngineClient(remote.channel(), timeout),
            Map.of(), List.of()), remote);
      }
      return engines;
    } catch (RuntimeException | java.io.IOException e) {
      engines.close();
      throw e;
    }
  }

  private static void stop(CsiServer server, MetricsServer metrics, Closeables cluster,
      Engines engines) {
    try {
      if (server != null) {
        server.close();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (metrics != null) {
      metrics.close();
    }
    cluster.close();
    if (engines != null) {
      engines.close();
    }
  }

  /** The embedded engine's admin address: a unix socket or none; TCP is for remote engines. */
  private AdminAddress embeddedAdmin() throws java.io.IOException {
    if (admin == null) {
      return EmbeddedEngine.defaultAdminSocket(stateDir);
    }
    AdminAddress a;
    try {
      a = AdminAddress.parse(admin);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), "--admin " + admin + ": "
          + e.getMessage(), e);
    }
    if (a instanceof AdminAddress.At(Endpoint.Tcp _)) {
      throw new ParameterException(spec.commandLine(), "--admin " + admin + ": the embedded "
          + "engine's admin API is a unix socket or none (run target-engine serve for TCP)");
    }
    return a;
  }

  private ChapSecrets chapSecrets(KubernetesClient kube, ControllerConfig config) {
    try {
      return new ChapSecrets(kube, chapSecretNamespace, chapSecretPrefix, config.driverName());
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), "--chap-secret-prefix: "
          + e.getMessage(), e);
    }
  }

  private HostPort hostPort(String option, String value) {
    try {
      return HostPort.parse(value, 3260);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), option + " " + value + ": "
          + e.getMessage(), e);
    }
  }

  /** This controller's name in Leases and events: $POD_NAME, else the host's name. */
  private static String instanceName() throws java.net.UnknownHostException {
    String pod = System.getenv("POD_NAME");
    return pod != null && !pod.isEmpty() ? pod : java.net.InetAddress.getLocalHost().getHostName();
  }
}
