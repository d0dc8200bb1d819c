package org.iscsicsi.controller.kube;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.controller.controller.ControllerConfig;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.engine.Engines;
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
 */
public final class IscsiVolumeSync implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(IscsiVolumeSync.class);

  public static final ResourceDefinitionContext CONTEXT = new ResourceDefinitionContext.Builder()
      .withGroup("iscsi.csi.iscsicsi.org").withVersion("v1alpha1").withKind("IscsiVolume")
      .withPlural("iscsivolumes").withNamespaced(false).build();
  static final String MANAGED_BY = "app.kubernetes.io/managed-by";

  private final KubernetesClient client;
  private final Engines engines;
  private final ControllerConfig config;
  private ScheduledExecutorService timer;

  public IscsiVolumeSync(KubernetesClient client, Engines engines, ControllerConfig config) {
    this.client = client;
    this.engines = engines;
    this.config = config;
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
    Map<String, GenericKubernetesResource> want = new LinkedHashMap<>();
    for (Engine e : engines.all()) {
      String prefix = config.iqnPrefix() + ":";
      for (Target t : e.client().listTargets(VolumeLabels.selector(config.driverName()))) {
        if (!t.getName().startsWith(prefix) || t.getLunsCount() == 0) {
          continue;
        }
        VolumeId.parse(t.getName().substring(prefix.length()))
            .ifPresent(id -> want.put(id.toString(), desired(id, t)));
      }
    }
    var api = client.genericKubernetesResources(CONTEXT);
    Map<String, GenericKubernetesResource> have = new HashMap<>();
    for (GenericKubernetesResource r : api.withLabel(MANAGED_BY, config.driverName()).list()
        .getItems()) {
      have.put(r.getMetadata().getName(), r);
    }
    int writes = 0;
    for (GenericKubernetesResource w : want.values()) {
      GenericKubernetesResource h = have.remove(w.getMetadata().getName());
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
      api.withName(stale.getMetadata().getName()).delete();
      writes++;
    }
    return writes;
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

  private GenericKubernetesResource desired(VolumeId id, Target t) {
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
