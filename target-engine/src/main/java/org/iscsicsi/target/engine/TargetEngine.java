package org.iscsicsi.target.engine;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.iscsicsi.csi.HostPort;
import org.iscsicsi.target.admin.ReplicationAdminService;
import org.iscsicsi.target.admin.TargetAdminService;
import org.iscsicsi.target.metrics.EngineMetrics;
import org.iscsicsi.target.registry.TargetDirectory;
import org.iscsicsi.target.registry.TargetRegistry;
import org.iscsicsi.target.replication.ReplicatedLuns;
import org.iscsicsi.target.state.StateStore;
import org.iscsicsi.target.transfer.ReplicationSettings;
import org.iscsicsi.target.transfer.TransferService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running target engine: state restored from the state directory, the iSCSI listener, and the
 * target.v1 admin API (always in-process, plus a unix socket or TCP address when configured:
 * {@link AdminServer}).
 *
 * <p>Embedding it takes two lines:
 *
 * <pre>{@code
 * try (TargetEngine engine = TargetEngine.start(EngineConfig.of(stateDir))) {
 *   var admin = TargetAdminGrpc.newBlockingStub(engine.adminChannel());
 * }
 * }</pre>
 */
public final class TargetEngine implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(TargetEngine.class);

  private final EngineConfig config;
  private final StateStore store;
  private final TargetRegistry registry;
  private final IscsiTransport transport;
  private final Server inProcess;
  private final String inProcessName;
  private final AdminServer adminServer;
  private final ManagedChannel channel;
  private final EngineMetrics metrics;
  private final Facts facts;
  private final TransferService transfers;
  private final ReplicatedLuns replicated;
  private boolean closed;

  private TargetEngine(EngineConfig config, StateStore store, TargetRegistry registry,
      IscsiTransport transport, Server inProcess, String inProcessName,
      AdminServer adminServer, Facts facts, TransferService transfers,
      ReplicatedLuns replicated) {
    this.config = config;
    this.replicated = replicated;
    this.transfers = transfers;
    this.facts = facts;
    this.store = store;
    this.registry = registry;
    this.transport = transport;
    this.inProcess = inProcess;
    this.inProcessName = inProcessName;
    this.adminServer = adminServer;
    this.channel = InProcessChannelBuilder.forName(inProcessName).build();
    this.metrics = new EngineMetrics(registry, () -> transport == null ? null
        : transport.sessions(), replicated == null ? List::of : replicated::rebuildFigures);
  }

  /** The engine's Prometheus metrics (docs/metrics.md), collected when scraped. */
  public EngineMetrics metrics() {
    return metrics;
  }

  /** Starts an engine with the iSCSI transport of this build, without transfers. */
  public static TargetEngine start(EngineConfig config) throws IOException {
    return start(config, Transports.DEFAULT, null);
  }

  /**
   * Starts an engine that also takes part in transfers (docs/pools.md section 7): the
   * replication listener when {@code replication} names one, and the TargetTransfer service.
   */
  public static TargetEngine start(EngineConfig config, ReplicationSettings replication)
      throws IOException {
    return start(config, Transports.DEFAULT, replication);
  }

  static TargetEngine start(EngineConfig config, IscsiTransport.Factory transports)
      throws IOException {
    return start(config, transports, null);
  }

  private static TargetEngine start(EngineConfig config, IscsiTransport.Factory transports,
      ReplicationSettings replication) throws IOException {
    StateStore store = StateStore.open(config.stateDir());
    List<AutoCloseable> undo = new ArrayList<>();
    undo.add(store);
    try {
      EngineIdentity identity = EngineIdentity.establish(config.stateDir(), config.naming());
      TargetRegistry registry = TargetRegistry.open(store, config.lunDir(), config.snapshotDir(),
          config.copyTimeout(), EngineBackends.resolve(config.backends(), identity.name()),
          EngineBackends.LVM);
      undo.add(registry);
      AtomicReference<TransferService> started = new AtomicReference<>();
      ReplicatedLuns replicated = new ReplicatedLuns(identity.name(), config.stateDir(),
          registry, () -> started.get() == null ? null : started.get().network());
      undo.add(replicated);
      IscsiTransport transport = null;
      if (config.iscsi()) {
        transport = transports.start(config, registry);
        if (transport != null) {
          undo.add(transport);
          IscsiTransport t = transport;
          registry.sessions(t::sessions);
        }
      }
      TransferService transfers = TransferService.start(registry, identity, replication,
          replicated.session()::serve);
      undo.add(transfers);
      started.set(transfers);
      Facts facts = new Facts(config, transport, identity, new AtomicReference<>(Map.of()),
          dialable(transfers.address(), config.advertise()));
      var service = io.grpc.ServerInterceptors.intercept(new TargetAdminService(registry,
          facts, replicated::manages), new org.iscsicsi.target.admin.AdminCallLog());
      var transferService = io.grpc.ServerInterceptors.intercept(transfers.grpc(),
          new org.iscsicsi.target.admin.AdminCallLog());
      var replicationService = io.grpc.ServerInterceptors.intercept(
          new ReplicationAdminService(replicated), new org.iscsicsi.target.admin.AdminCallLog());
      String name = "target-engine-" + UUID.randomUUID();
      Server inProcess = InProcessServerBuilder.forName(name).addService(service)
          .addService(transferService).addService(replicationService).build().start();
      undo.add(() -> inProcess.shutdownNow());
      AdminServer admin = AdminServer.start(config.admin(), service, transferService,
          replicationService);
      if (admin != null) {
        undo.add(admin);
      }
      TargetEngine engine = new TargetEngine(config, store, registry, transport, inProcess, name,
          admin, facts, transfers, replicated);
      log.info("target engine serving as {} (incarnation {}): state {}, iSCSI {}, admin {}",
          identity.name(), identity.incarnation(), config.stateDir(),
          transport == null ? "off" : transport.boundAddress(), engine.adminDescription());
      return engine;
    } catch (IOException | RuntimeException e) {
      for (int i = undo.size() - 1; i >= 0; i--) {
        try {
          undo.get(i).close();
        } catch (Exception suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      throw e;
    }
  }

  /**
   * host:port other engines dial for transfers (port 0 resolved; a wildcard bind named by the
   * first advertised portal's host), "" when there is no replication listener.
   */
  public String replicationAddress() {
    return facts.replicationAddress();
  }

  private static String dialable(String bound, List<HostPort> advertise) {
    if (bound.isEmpty()) {
      return bound;
    }
    HostPort b = HostPort.parse(bound, -1);
    boolean wildcard = b.host().equals("0.0.0.0") || b.host().equals("::")
        || b.host().equals("0:0:0:0:0:0:0:0");
    return wildcard && !advertise.isEmpty()
        ? new HostPort(advertise.getFirst().host(), b.port()).toString() : bound;
  }

  /** The engine's replicated LUNs (docs/replication.md); replicating needs Kubernetes. */
  public ReplicatedLuns replication() {
    return replicated;
  }

  /** The engine's name and this start's incarnation. */
  public EngineIdentity identity() {
    return facts.identity();
  }

  /**
   * Sets what GetEngineInfo reports as the engine's topology (its node's labels named by
   * {@code --topology-keys}, read by the Kubernetes registration).
   */
  public void topology(Map<String, String> labels) {
    facts.topology().set(Map.copyOf(labels));
  }

  /** An in-process channel to the admin API; closed with the engine. */
  public ManagedChannel adminChannel() {
    return channel;
  }

  /** The name of the in-process admin server, for callers that build their own channel. */
  public String inProcessName() {
    return inProcessName;
  }

  /** The TCP address the admin API listens on (port 0 resolved), if it listens on TCP. */
  public InetSocketAddress adminTcpAddress() {
    return adminServer == null ? null : adminServer.tcpAddress();
  }

  /** The address the iSCSI listener bound, or null when it is off. */
  public HostPort iscsiAddress() {
    return transport == null ? null : transport.boundAddress();
  }

  public TargetDirectory directory() {
    return registry;
  }

  public TargetRegistry registry() {
    return registry;
  }

  public EngineConfig config() {
    return config;
  }

  /** Blocks until the engine is closed (by another thread or a shutdown hook). */
  public void awaitTermination() throws InterruptedException {
    inProcess.awaitTermination();
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    channel.shutdownNow();
    if (adminServer != null) {
      adminServer.close();
    }
    replicated.close();
    transfers.close();
    if (transport != null) {
      transport.close();
    }
    inProcess.shutdownNow();
    try {
      inProcess.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    registry.close();
    try {
      store.close();
    } catch (IOException e) {
      log.warn("releasing the state directory lock: {}", e.toString());
    }
    log.info("target engine stopped");
  }

  private String adminDescription() {
    return adminServer == null ? "in-process only" : adminServer.description();
  }

  /** What GetEngineInfo reports. */
  private record Facts(EngineConfig config, IscsiTransport transport, EngineIdentity identity,
      AtomicReference<Map<String, String>> topology, String replicationAddress)
      implements TargetAdminService.EngineFacts {

    @Override
    public Map<String, String> topologyLabels() {
      return topology.get();
    }

    @Override
    public String name() {
      return identity.name();
    }

    @Override
    public String incarnation() {
      return identity.incarnation();
    }

    @Override
    public String node() {
      return identity.node();
    }

    @Override
    public String version() {
      String v = TargetEngine.class.getPackage().getImplementationVersion();
      return v == null ? "dev" : v;
    }

    @Override
    public List<String> portals() {
      if (!config.advertise().isEmpty()) {
        return config.advertise().stream().map(HostPort::toString).toList();
      }
      return transport == null ? List.of() : List.of(transport.boundAddress().toString());
    }

    @Override
    public boolean serving() {
      return transport != null;
    }
  }
}
