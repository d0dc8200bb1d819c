package org.iscsicsi.controller.kube;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.iscsicsi.controller.service.PoolInventory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Removal of a pool engine (docs/pools.md section 7), on the leader: every IscsiEngine carries
 * the finalizer {@link #FINALIZER}, so {@code kubectl delete iscsiengine X} only marks it
 * (state Removing; the drainer then moves its detached volumes away, as for a drain). The
 * finalizer goes, and with it the object, once the index places no volume and no snapshot on X
 * (event {@link #REMOVED}); while it does, each change of what X holds is announced
 * ({@link #BLOCKED}, naming the attached volumes). The annotation {@link #FORCE} {@code "true"}
 * lets it go at once: X's volumes and snapshots are forgotten by the pool (event
 * {@link #FORCED}, a Warning naming them). Needs patch on iscsiengines and create on events.
 */
public final class EngineRemoval implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(EngineRemoval.class);

  public static final String FINALIZER = "iscsi.csi.iscsicsi.org/engine-volumes";
  public static final String FORCE = "iscsi.csi.iscsicsi.org/force-remove";
  public static final String BLOCKED = "RemoveBlocked";
  public static final String REMOVED = "EngineRemoved";
  public static final String FORCED = "EngineForceRemoved";
  /** How often the leader looks at every IscsiEngine. */
  public static final Duration INTERVAL = Duration.ofSeconds(5);

  /** What a pass did with one IscsiEngine. */
  public enum Step { FINALIZER_ADDED, BLOCKED, REMOVED, FORCED }

  private final KubernetesClient client;
  private final EngineInformer informer;
  private final PoolInventory inventory;
  private final EventRecorder events;
  private final BooleanSupplier leading;
  /** The last RemoveBlocked message per engine, so that each is announced once. */
  private final Map<String, String> announced = new ConcurrentHashMap<>();
  private final ScheduledExecutorService worker = Executors.newSingleThreadScheduledExecutor(
      r -> {
        Thread t = new Thread(r, "engine-removal");
        t.setDaemon(true);
        return t;
      });

  public EngineRemoval(KubernetesClient client, EngineInformer informer, PoolInventory inventory,
      EventRecorder events, BooleanSupplier leading) {
    this.client = client;
    this.informer = informer;
    this.inventory = inventory;
    this.events = events;
    this.leading = leading;
  }

  /** Runs {@link #pass} every {@code interval} on its own thread. */
  public EngineRemoval every(Duration interval) {
    worker.scheduleWithFixedDelay(() -> {
      try {
        pass();
      } catch (RuntimeException e) {
        log.warn("engine removal pass failed; the next one retries", e);
      }
    }, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    return this;
  }

  /** One look at every IscsiEngine; returns what was done, by engine. */
  public synchronized Map<String, Step> pass() {
    Map<String, Step> done = new java.util.TreeMap<>();
    if (!leading.getAsBoolean()) {
      return done;
    }
    for (GenericKubernetesResource o : informer.objects()) {
      String name = o.getMetadata().getName();
      List<String> finalizers = o.getMetadata().getFinalizers() == null ? List.of()
          : o.getMetadata().getFinalizers();
      try {
        if (o.getMetadata().getDeletionTimestamp() == null) {
          if (!finalizers.contains(FINALIZER)) {
            addFinalizer(o, finalizers);
            done.put(name, Step.FINALIZER_ADDED);
          }
          announced.remove(name);
        } else if (finalizers.contains(FINALIZER)) {
          removing(o, name, finalizers).ifPresent(s -> done.put(name, s));
        }
      } catch (KubernetesClientException e) {
        log.warn("IscsiEngine {}: finalizer not changed (HTTP {} {}); the next pass retries",
            name, e.getCode(), e.getMessage());
      }
    }
    return done;
  }

  private java.util.Optional<Step> removing(GenericKubernetesResource o, String name,
      List<String> finalizers) {
    PoolInventory.Holdings h = inventory.holdings(name);
    boolean forced = "true".equals(o.getMetadata().getAnnotations() == null ? null
        : o.getMetadata().getAnnotations().get(FORCE));
    if (h.empty()) {
      removeFinalizer(o, finalizers);
      announced.remove(name);
      log.info("engine {} removed: it holds no volumes", name);
      events.record(informer.about(name), EventRecorder.Type.Normal, REMOVED,
          "engine " + name + " holds no volumes or snapshots: removed");
      return java.util.Optional.of(Step.REMOVED);
    }
    if (forced) {
      inventory.forget(name);
      removeFinalizer(o, finalizers);
      announced.remove(name);
      events.record(informer.about(name), EventRecorder.Type.Warning, FORCED,
          "engine " + name + " removed by force (" + FORCE + "): " + h.volumes().size()
              + " volume(s) and " + h.snapshots() + " snapshot(s) left the pool: "
              + String.join(", ", h.volumes()));
      return java.util.Optional.of(Step.FORCED);
    }
    String message = "engine " + name + " holds " + h.volumes().size() + " volume(s) and "
        + h.snapshots() + " snapshot(s)" + (h.attached().isEmpty() ? ""
            : ", attached (stay until detached): " + String.join(", ", h.attached()))
        + "; detached volumes are moved away, or annotate " + FORCE + "=true to remove it now";
    if (message.equals(announced.put(name, message))) {
      return java.util.Optional.empty();
    }
    log.info("{}", message);
    events.record(informer.about(name), EventRecorder.Type.Warning, BLOCKED,
        message);
    return java.util.Optional.of(Step.BLOCKED);
  }

  private void addFinalizer(GenericKubernetesResource o, List<String> finalizers) {
    List<Map<String, Object>> ops = finalizers.isEmpty()
        ? List.of(Map.of("op", "test", "path", "/metadata/resourceVersion", "value",
            o.getMetadata().getResourceVersion()),
            Map.of("op", "add", "path", "/metadata/finalizers", "value", List.of(FINALIZER)))
        : List.of(Map.of("op", "add", "path", "/metadata/finalizers/-", "value", FINALIZER));
    patch(o.getMetadata().getName(), ops);
  }

  private void removeFinalizer(GenericKubernetesResource o, List<String> finalizers) {
    // by position, tested first: the engine's report patches change the resourceVersion often
    String at = "/metadata/finalizers/" + finalizers.indexOf(FINALIZER);
    patch(o.getMetadata().getName(), List.of(Map.of("op", "test", "path", at, "value", FINALIZER),
        Map.of("op", "remove", "path", at)));
  }

  private void patch(String name, List<Map<String, Object>> ops) {
    client.genericKubernetesResources(EngineInformer.CONTEXT).withName(name)
        .patch(PatchContext.of(PatchType.JSON), client.getKubernetesSerialization().asJson(ops));
  }

  @Override
  public void close() {
    worker.shutdownNow();
  }
}
