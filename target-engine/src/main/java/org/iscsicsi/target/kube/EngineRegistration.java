package org.iscsicsi.target.kube;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.net.HttpURLConnection;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An engine's presence in Kubernetes (docs/pools.md, section 2): it creates the cluster-scoped
 * {@code IscsiEngine/<name>} once its Node carries {@code iscsi.csi.iscsicsi.org/storage-node:
 * "true"} (an existing object, also one being deleted, is adopted, never replaced), then keeps
 * {@code Lease/iscsi-engine-<name>} renewed every 2 s and writes {@code status.report} by JSON
 * merge patch on the status subresource every 15 s and within a second of a change of volumes,
 * snapshots, sessions, capacity or topology. It writes nothing else: spec, {@code status.state}
 * and {@code status.conditions} belong to operators and the controller's leader. Once the object
 * is gone (its deletion finished) the engine stops renewing and does not create it again until
 * it restarts: a removed engine does not come back by itself.
 *
 * <p>Everything runs on two threads of its own (reports, Lease), so the API server's answers,
 * slow or failing, never hold up the portal or the admin API; failures are logged with what
 * was being done and retried with backoff.
 */
public final class EngineRegistration implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(EngineRegistration.class);

  // the report thread looks every second, so a shorter first delay would not be kept
  private static final Duration FIRST_RETRY = Duration.ofSeconds(1);
  private static final Duration MAX_RETRY = Duration.ofSeconds(30);
  private static final Duration FIRST_LEASE_RETRY = Duration.ofMillis(250);
  private static final Duration SHUTDOWN_REPORT_TIMEOUT = Duration.ofSeconds(5);
  private static final String STORAGE_NODE_VALUE = "true";

  /** Where the registration stands. */
  public enum Phase {
    /** The Node is not (yet) a storage node, or the object could not be written yet. */
    WAITING,
    /** The IscsiEngine exists; the Lease and the report are kept. */
    REGISTERED,
    /** The IscsiEngine was deleted while this engine ran: nothing more is written. */
    REMOVED
  }

  private final KubernetesClient client;
  private final RegistrationSettings settings;
  private final EngineView engine;
  private final Consumer<Map<String, String>> topologySink;
  private final LeaseKeeper lease;
  private final ScheduledExecutorService reports;
  private final ScheduledExecutorService leases;
  private final Backoff registering;
  private final Backoff reporting;
  private final Backoff renewing;
  private final List<LongConsumer> renewals = new CopyOnWriteArrayList<>();
  private volatile Phase phase = Phase.WAITING;
  /** The IscsiEngine object as registered (owner of the Lease). */
  private volatile GenericKubernetesResource object;
  private volatile boolean shuttingDown;
  private volatile boolean closed;

  // the report thread's own
  private Instant nextAttempt = Instant.MIN;
  private boolean waitingLogged;
  private boolean deletionLogged;
  private Map<String, String> topology = Map.of();
  private Instant topologyReadAt = Instant.MIN;
  private Map<String, String> reportedTopology = Map.of();
  private Map<String, Object> reportedKey;
  private Instant reportedAt = Instant.MIN;

  private EngineRegistration(KubernetesClient client, RegistrationSettings settings,
      EngineView engine, Consumer<Map<String, String>> topologySink) {
    this.client = client;
    this.settings = settings;
    this.engine = engine;
    this.topologySink = topologySink;
    this.lease = new LeaseKeeper(client, settings);
    this.reports = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "engine-report"));
    this.leases = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "engine-lease"));
    String what = "IscsiEngine/" + settings.engine();
    this.registering = new Backoff("registering " + what + " (Node " + settings.node() + ")",
        FIRST_RETRY, MAX_RETRY, log);
    this.reporting = new Backoff("writing status.report of " + what, FIRST_RETRY, MAX_RETRY,
        log);
    this.renewing = new Backoff("renewing Lease " + settings.namespace() + "/"
        + IscsiEngines.leaseName(settings.engine()), FIRST_LEASE_RETRY, settings.renewInterval(),
        log);
  }

  /**
   * Starts registering in the background and returns at once.
   *
   * @param topologySink told the topology labels whenever they are read from the Node (the
   *     engine reports them in GetEngineInfo)
   */
  public static EngineRegistration start(KubernetesClient client, RegistrationSettings settings,
      EngineView engine, Consumer<Map<String, String>> topologySink) {
    EngineRegistration r = new EngineRegistration(client, settings, engine, topologySink);
    long poll = settings.changePoll().toMillis();
    r.reports.scheduleWithFixedDelay(r::tick, 0, poll, TimeUnit.MILLISECONDS);
    return r;
  }

  /**
   * Told the monotonic send time ({@link System#nanoTime}) of every successful Lease renewal:
   * the serve lease of a primary left alone in sync (docs/replication.md section 4).
   */
  public void onLeaseRenewed(LongConsumer listener) {
    renewals.add(listener);
  }

  public Phase phase() {
    return phase;
  }

  private void tick() {
    Instant now = Instant.now();
    if (closed || now.isBefore(nextAttempt)) {
      return;
    }
    switch (phase) {
      case WAITING -> attempt(registering, () -> register(now));
      case REGISTERED -> attempt(reporting, () -> reportIfDue(now, false));
      case REMOVED -> { }
    }
  }

  private void attempt(Backoff backoff, Runnable step) {
    try {
      step.run();
      backoff.succeeded();
    } catch (RuntimeException e) {
      nextAttempt = Instant.now().plus(backoff.failed(e));
    }
  }

  private void register(Instant now) {
    Node node = client.nodes().withName(settings.node()).get();
    Map<String, String> labels = node == null || node.getMetadata().getLabels() == null
        ? Map.of() : node.getMetadata().getLabels();
    if (!STORAGE_NODE_VALUE.equals(labels.get(IscsiEngines.STORAGE_NODE_LABEL))) {
      if (!waitingLogged) {
        log.info("{} {}: engine {} registers once it is labelled {}={}",
            node == null ? "no Node named" : "Node", settings.node(), settings.engine(),
            IscsiEngines.STORAGE_NODE_LABEL, STORAGE_NODE_VALUE);
        waitingLogged = true;
      }
      nextAttempt = now.plus(settings.renewInterval());
      return;
    }
    takeTopology(labels, now);
    var objects = client.genericKubernetesResources(IscsiEngines.CONTEXT);
    GenericKubernetesResource existing = objects.withName(settings.engine()).get();
    if (existing == null) {
      try {
        existing = objects.resource(new GenericKubernetesResourceBuilder()
            .withApiVersion(IscsiEngines.GROUP + "/" + IscsiEngines.VERSION)
            .withKind(IscsiEngines.KIND)
            .withNewMetadata().withName(settings.engine()).endMetadata().build()).create();
        log.info("IscsiEngine {} created for Node {}", settings.engine(), settings.node());
      } catch (KubernetesClientException e) {
        if (e.getCode() != HttpURLConnection.HTTP_CONFLICT) {
          throw e;
        }
        log.info("IscsiEngine {} appeared meanwhile: using it", settings.engine());
        existing = objects.withName(settings.engine()).require();
      }
    } else {
      log.info("IscsiEngine {} exists: registering as incarnation {}", settings.engine(),
          settings.incarnation());
      noteDeletion(existing);
    }
    object = existing;
    phase = Phase.REGISTERED;
    leases.execute(this::renewLoop);
    reportIfDue(now, true);
  }

  private void reportIfDue(Instant now, boolean force) {
    if (!now.isBefore(topologyReadAt.plus(settings.reportInterval()))) {
      Node node = client.nodes().withName(settings.node()).get();
      if (node != null) {
        takeTopology(node.getMetadata().getLabels() == null ? Map.of()
            : node.getMetadata().getLabels(), now);
      }
    }
    EngineReport report = new EngineReport(settings, engine.info(), engine.snapshots(),
        topology, shuttingDown);
    Map<String, Object> key = report.changeKey();
    if (force || !key.equals(reportedKey)
        || !now.isBefore(reportedAt.plus(settings.reportInterval()))) {
      write(report, now);
      reportedKey = key;
    }
  }

  private void write(EngineReport report, Instant now) {
    Map<String, Object> body = report.toMap(now);
    Map<String, Object> topologyPatch = new HashMap<>(report.topology());
    for (String gone : reportedTopology.keySet()) {
      topologyPatch.putIfAbsent(gone, null); // merge patch: null removes the key
    }
    body.put("topology", topologyPatch);
    String json = client.getKubernetesSerialization()
        .asJson(Map.of("status", Map.of("report", body)));
    GenericKubernetesResource after;
    try {
      after = client.genericKubernetesResources(IscsiEngines.CONTEXT)
          .withName(settings.engine()).subresource("status")
          .patch(PatchContext.of(PatchType.JSON_MERGE), json);
    } catch (KubernetesClientException e) {
      if (e.getCode() == HttpURLConnection.HTTP_NOT_FOUND) {
        removed();
        return;
      }
      throw e;
    }
    reportedAt = now;
    reportedTopology = report.topology();
    noteDeletion(after);
  }

  private void takeTopology(Map<String, String> labels, Instant now) {
    Map<String, String> t = new TreeMap<>();
    for (String k : settings.topologyKeys()) {
      String v = labels.get(k);
      if (v != null) {
        t.put(k, v);
      }
    }
    topology = Map.copyOf(t);
    topologyReadAt = now;
    topologySink.accept(topology);
  }

  private void noteDeletion(GenericKubernetesResource object) {
    if (!deletionLogged && object != null && object.getMetadata().getDeletionTimestamp() != null) {
      log.warn("IscsiEngine {} is being deleted (since {}): keeping its Lease and report while "
          + "the controller removes it; it will not be created again", settings.engine(),
          object.getMetadata().getDeletionTimestamp());
      deletionLogged = true;
    }
  }

  private void removed() {
    phase = Phase.REMOVED;
    log.warn("IscsiEngine {} was deleted: engine {} stops renewing its Lease and will not "
        + "register again until it restarts on a storage node", settings.engine(),
        settings.engine());
  }

  private void renewLoop() {
    if (closed || phase != Phase.REGISTERED) {
      return;
    }
    Duration next = settings.renewInterval();
    try {
      long sent = System.nanoTime(); // before the request: a lone primary's lease runs from it
      lease.renew(object);
      renewing.succeeded();
      for (LongConsumer l : renewals) {
        try {
          l.accept(sent);
        } catch (RuntimeException e) {
          log.warn("Lease renewal listener {} failed", l, e);
        }
      }
    } catch (RuntimeException e) {
      next = renewing.failed(e);
    }
    if (!closed) {
      leases.schedule(this::renewLoop, next.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /**
   * Reports {@code shuttingDown: true} and waits (at most 5 s) until it is written, so the
   * controller's leader learns of the stop before the portal closes. Idempotent.
   */
  public void announceShutdown() {
    if (shuttingDown || closed) {
      return;
    }
    shuttingDown = true;
    if (phase != Phase.REGISTERED) {
      return;
    }
    try {
      reports.submit(() -> attempt(reporting, () -> reportIfDue(Instant.now(), true)))
          .get(SHUTDOWN_REPORT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException e) {
      log.warn("IscsiEngine {}: shuttingDown not reported within {} s: {}", settings.engine(),
          SHUTDOWN_REPORT_TIMEOUT.toSeconds(), e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Announces the shutdown, then stops writing (the Lease then expires by itself). */
  @Override
  public void close() {
    announceShutdown();
    closed = true;
    // let a write in progress finish (an interrupted call would only log a failure), then stop
    reports.shutdown();
    leases.shutdown();
    try {
      if (!reports.awaitTermination(SHUTDOWN_REPORT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
          || !leases.awaitTermination(SHUTDOWN_REPORT_TIMEOUT.toMillis(),
              TimeUnit.MILLISECONDS)) {
        log.warn("IscsiEngine {}: a Kubernetes API call still runs after {} s; abandoning it",
            settings.engine(), SHUTDOWN_REPORT_TIMEOUT.toSeconds());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      reports.shutdownNow();
      leases.shutdownNow();
    }
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }
}
