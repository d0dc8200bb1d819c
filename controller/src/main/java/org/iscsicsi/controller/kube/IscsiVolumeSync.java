package org.iscsicsi.controller.kube;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.engine.Engines;
import org.iscsicsi.controller.service.ControllerConfig;
import org.iscsicsi.controller.service.PoolInventory;
import org.iscsicsi.controller.volume.VolumeId;
import org.iscsicsi.controller.volume.VolumeLabels;
import org.iscsicsi.target.v1.InitiatorGrant;
import org.iscsicsi.target.v1.Lun;
import org.iscsicsi.target.v1.Target;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one cluster-scoped {@code IscsiVolume} (group iscsi.csi.iscsicsi.org, v1alpha1; CRD in
 * {@code crd/iscsivolumes.yaml}) per volume in step with the engines, so that
 * {@code kubectl get iscsivolumes} shows each volume's size, target IQN, granted initiators, live
 * sessions and bytes read and written. The engines stay the source of truth: objects are
 * rewritten from them on every pass, and objects of volumes that are gone are deleted.
 *
 * <p>In a pool the pass works from the controller's {@link PoolInventory}: each reachable engine
 * is listed with {@link #POOL_DEADLINE} (an unreachable one is not called, its volumes are as the
 * index last read them), {@code status.placement} names the engines holding the volume, and an
 * object is deleted only when its volume is gone from the index after every engine it names
 * answered in this pass, never because an engine was silent.
 */
public final class IscsiVolumeSync implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(IscsiVolumeSync.class);

  public static final ResourceDefinitionContext CONTEXT = new ResourceDefinitionContext.Builder()
      .withGroup("iscsi.csi.iscsicsi.org").withVersion("v1alpha1").withKind("IscsiVolume")
      .withPlural("iscsivolumes").withNamespaced(false).build();
  static final String MANAGED_BY = "app.kubernetes.io/managed-by";
  /** The parts of a replicated volume's object that its membership writers own. */
  static final String REPLICATION = "replication";
  static final String REPLICAS = "replicas";
  static final String MEMBER_LABEL_PREFIX = "member.iscsi.csi.iscsicsi.org/";
  /** Deadline of each engine call of a pool pass: a slow engine must not stall the loop. */
  public static final Duration POOL_DEADLINE = Duration.ofSeconds(5);

  private final KubernetesClient client;
  private final Engines engines;
  private final PoolInventory pool;
  private final ControllerConfig config;
  private ScheduledExecutorService timer;

  /** Syncs the volumes of fixed engines (the embedded default, static engines). */
  public IscsiVolumeSync(KubernetesClient client, Engines engines, ControllerConfig config) {
    this.client = client;
    this.engines = engines;
    this.pool = null;
    this.config = config;
  }

  /** Syncs the volumes of a pool, from the controller's index. */
  public IscsiVolumeSync(KubernetesClient client, PoolInventory pool, ControllerConfig config) {
    this.client = client;
    this.engines = null;
    this.pool = pool;
    this.config = config;
  }

  /** The objects a pass wants, and which of the others it may delete. */
  private record Desired(Map<String, GenericKubernetesResource> objects,
      Predicate<GenericKubernetesResource> deletable) {
  }

  /**
   * Syncs now and then every {@code periodSeconds} while {@code leading} (one writer among
   * replicas); failures are logged and retried on the next pass.
   */
  public IscsiVolumeSync start(long periodSeconds, java.util.function.BooleanSupplier leading) {
    timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "iscsivolume-sync");
      t.setDaemon(true);
      return t;
    });
    timer.scheduleWithFixedDelay(() -> {
      try {
        if (leading.getAsBoolean()) {
          syncOnce();
        }
      } catch (RuntimeException e) {
        log.warn("IscsiVolume sync failed: {}", e.toString());
      }
    }, 0, periodSeconds, TimeUnit.SECONDS);
    return this;
  }

  /** One pass: creates, updates and deletes IscsiVolume objects; returns how many it wrote. */
  public int syncOnce() {
    Desired desired = pool != null ? fromPool() : fromEngines();
    Map<String, GenericKubernetesResource> want = desired.objects();
    var api = client.genericKubernetesResources(CONTEXT);
    Map<String, GenericKubernetesResource> have = new HashMap<>();
    for (GenericKubernetesResource r : api.withLabel(MANAGED_BY, config.driverName()).list()
        .getItems()) {
      have.put(r.getMetadata().getName(), r);
    }
    int writes = 0;
    for (GenericKubernetesResource w : want.values()) {
      GenericKubernetesResource h = have.remove(w.getMetadata().getName());
      if (h != null) {
        keepReplication(h, w);
      }
      if (h == null) {
        api.resource(w).create();
        writes++;
      } else if (!normalize(h.getAdditionalProperties())
          .equals(normalize(w.getAdditionalProperties()))) {
        w.getMetadata().setResourceVersion(h.getMetadata().getResourceVersion());
        api.resource(w).update();
        writes++;
      }
    }
    for (GenericKubernetesResource stale : have.values()) {
      if (desired.deletable().test(stale)) {
        api.withName(stale.getMetadata().getName()).delete();
        writes++;
      }
    }
    return writes;
  }

  private Desired fromEngines() {
    Map<String, GenericKubernetesResource> want = new LinkedHashMap<>();
    String prefix = config.iqnPrefix() + ":";
    for (Engine e : engines.all()) {
      for (Target t : e.client().listTargets(VolumeLabels.selector(config.driverName()))) {
        if (!t.getName().startsWith(prefix) || t.getLunsCount() == 0) {
          continue;
        }
        VolumeId.parse(t.getName().substring(prefix.length()))
            .ifPresent(id -> want.put(id.toString(), desired(id, t, List.of())));
      }
    }
    return new Desired(want, stale -> true);
  }

  private Desired fromPool() {
    PoolInventory.Listing listing = pool.read(POOL_DEADLINE);
    Map<String, GenericKubernetesResource> want = new LinkedHashMap<>();
    listing.volumes().forEach((volumeId, placement) -> {
      // the copy of an engine read in this pass, else the last read of one
      Target t = placement.entrySet().stream()
          .sorted(Comparator.comparing(e -> !listing.read().contains(e.getKey())))
          .map(Map.Entry::getValue).findFirst().orElseThrow();
      if (t.getLunsCount() > 0) {
        VolumeId.parse(volumeId).ifPresent(id -> want.put(volumeId,
            desired(id, t, List.copyOf(new java.util.TreeSet<>(placement.keySet())))));
      }
    });
    return new Desired(want, stale -> {
      if (listing.volumes().containsKey(stale.getMetadata().getName())) {
        return false; // still in the index (being created or deleted)
      }
      List<String> named = placement(stale);
      return named.isEmpty() ? listing.complete() : listing.read().containsAll(named);
    });
  }

  /**
   * Carries a replicated volume's membership over from the object read ({@code
   * status.replication}, {@code spec.replicas}, the member labels): the engines and the leader
   * change it by compare-and-swap (docs/replication.md section 5), and this pass's update, which
   * carries the resourceVersion read, must neither drop it nor write an older one (a 409 leaves
   * it for the next pass).
   */
  @SuppressWarnings("unchecked")
  static void keepReplication(GenericKubernetesResource have, GenericKubernetesResource want) {
    Map<String, Object> had = have.getAdditionalProperties();
    Map<String, Object> wanted = want.getAdditionalProperties();
    if (had.get("status") instanceof Map<?, ?> status && status.get(REPLICATION) != null
        && wanted.get("status") instanceof Map<?, ?> into) {
      ((Map<String, Object>) into).put(REPLICATION, status.get(REPLICATION));
    }
    if (had.get("spec") instanceof Map<?, ?> spec && spec.get(REPLICAS) != null
        && wanted.get("spec") instanceof Map<?, ?> into) {
      ((Map<String, Object>) into).put(REPLICAS, spec.get(REPLICAS));
    }
    Map<String, String> labels = have.getMetadata().getLabels();
    if (labels != null) {
      labels.forEach((k, v) -> {
        if (k.startsWith(MEMBER_LABEL_PREFIX)) {
          want.getMetadata().getLabels().put(k, v);
        }
      });
    }
  }

  /** The engines an object's {@code status.placement} names. */
  private static List<String> placement(GenericKubernetesResource r) {
    if (r.getAdditionalProperties().get("status") instanceof Map<?, ?> status
        && status.get("placement") instanceof List<?> names) {
      return names.stream().map(String::valueOf).toList();
    }
    return List.of();
  }

  /** JSON values compared by content: numbers as longs, maps without order. */
  static Object normalize(Object v) {
    return switch (v) {
      case Map<?, ?> m -> {
        Map<String, Object> out = new java.util.TreeMap<>();
        m.forEach((k, x) -> out.put(String.valueOf(k), normalize(x)));
        yield out;
      }
      case List<?> l -> l.stream().map(IscsiVolumeSync::normalize).toList();
      case Number n -> n.longValue();
      case null -> "";
      default -> v;
    };
  }

  private GenericKubernetesResource desired(VolumeId id, Target t, List<String> placement) {
    Lun lun = t.getLunsList().stream().filter(l -> l.getLun() == 0).findFirst()
        .orElse(t.getLuns(0));
    Map<String, Object> spec = new LinkedHashMap<>();
    spec.put("volumeId", id.toString());
    spec.put("csiName", t.getLabelsOrDefault(VolumeLabels.NAME, ""));
    spec.put("pvcNamespace", t.getLabelsOrDefault(VolumeLabels.PREFIX + "k8s.pvc.namespace", ""));
    spec.put("pvcName", t.getLabelsOrDefault(VolumeLabels.PREFIX + "k8s.pvc.name", ""));
    spec.put("engine", id.engine());
    Map<String, Object> status = new LinkedHashMap<>();
    status.put("sizeBytes", lun.getSizeBytes());
    status.put("targetIqn", t.getName());
    List<String> initiators = new ArrayList<>();
    for (InitiatorGrant g : t.getGrantsList()) {
      initiators.add(g.getInitiator() + (g.getReadOnly() ? " (ro)" : ""));
    }
    status.put("initiators", initiators);
    status.put("sessions", t.getSessionCount());
    status.put("readBytes", lun.getStatistics().getReadBytes());
    status.put("writtenBytes", lun.getStatistics().getWriteBytes());
    status.put("condition", lun.getCondition().isEmpty() ? "Healthy" : lun.getCondition());
    if (!placement.isEmpty()) {
      status.put("placement", placement);
    }
    return new GenericKubernetesResourceBuilder()
        .withApiVersion(CONTEXT.getGroup() + "/" + CONTEXT.getVersion())
        .withKind(CONTEXT.getKind())
        .withNewMetadata().withName(id.toString())
        .addToLabels(MANAGED_BY, config.driverName()).endMetadata()
        .addToAdditionalProperties("spec", spec)
        .addToAdditionalProperties("status", status)
        .build();
  }

  @Override
  public void close() {
    if (timer != null) {
      timer.shutdownNow();
    }
  }
}
