package org.iscsicsi.controller.kube;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseSpec;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.iscsicsi.controller.engine.EngineDirectory;
import org.iscsicsi.controller.engine.EngineLease;
import org.iscsicsi.controller.engine.EngineObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Feeds the {@link EngineDirectory} of pool mode from Kubernetes (docs/pools.md, section 2):
 * an informer on the cluster-scoped {@code IscsiEngine} objects (their spec, deletion and
 * {@code status.report}) and one on the Leases {@code iscsi-engine-<name>} in the release
 * namespace, both resynced every 60 s. A Lease whose holder is not {@code <name>/<incarnation>}
 * counts as no Lease. Needs list and watch on iscsiengines and on leases in the namespace.
 */
public final class EngineInformer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(EngineInformer.class);

  public static final ResourceDefinitionContext CONTEXT = new ResourceDefinitionContext.Builder()
      .withGroup("iscsi.csi.iscsicsi.org").withVersion("v1alpha1").withKind("IscsiEngine")
      .withPlural("iscsiengines").withNamespaced(false).build();

  /** How often the informers hand every object to the directory again. */
  public static final Duration RESYNC = Duration.ofSeconds(60);

  private final SharedIndexInformer<GenericKubernetesResource> objects;
  private final SharedIndexInformer<Lease> leases;

  private EngineInformer(SharedIndexInformer<GenericKubernetesResource> objects,
      SharedIndexInformer<Lease> leases) {
    this.objects = objects;
    this.leases = leases;
  }

  /**
   * Lists and watches both kinds, feeding {@code directory}; returns once the first lists are in.
   *
   * @param namespace the release namespace, where the engines keep their Leases
   */
  public static EngineInformer start(KubernetesClient client, String namespace,
      EngineDirectory directory) {
    SharedIndexInformer<Lease> leases = client.leases().inNamespace(namespace)
        .inform(new LeaseHandler(directory), RESYNC.toMillis());
    SharedIndexInformer<GenericKubernetesResource> objects;
    try {
      objects = client.genericKubernetesResources(CONTEXT)
          .inform(new ObjectHandler(directory), RESYNC.toMillis());
    } catch (RuntimeException e) {
      leases.close();
      throw e;
    }
    return new EngineInformer(objects, leases);
  }

  /** The IscsiEngine object as the informer last saw it. */
  public Optional<GenericKubernetesResource> object(String name) {
    return Optional.ofNullable(objects.getIndexer().getByKey(name));
  }

  /** Every IscsiEngine object as the informer last saw it. */
  public List<GenericKubernetesResource> objects() {
    return objects.getIndexer().list();
  }

  /** The event subject for the IscsiEngine {@code name} (cluster-scoped; uid when known). */
  public EventRecorder.About about(String name) {
    return new EventRecorder.About(CONTEXT.getGroup() + "/" + CONTEXT.getVersion(),
        CONTEXT.getKind(), "", name,
        object(name).map(o -> o.getMetadata().getUid()).orElse(null));
  }

  @Override
  public void close() {
    objects.close();
    leases.close();
  }

  /** The directory's view of an IscsiEngine object. */
  static EngineObject engineObject(GenericKubernetesResource r) {
    Map<String, Object> spec = map(r.getAdditionalProperties().get("spec"));
    Map<String, Object> status = map(r.getAdditionalProperties().get("status"));
    Map<String, Object> report = map(status.get("report"));
    Map<String, String> topology = new LinkedHashMap<>();
    map(report.get("topology")).forEach((k, v) -> {
      if (v instanceof String s) {
        topology.put(k, s);
      }
    });
    // a portal listed twice is one portal (fabric8's mock API server appends arrays on a merge
    // patch of status.report); initiators are told each once
    List<String> portals = report.get("portals") instanceof List<?> l
        ? l.stream().filter(String.class::isInstance).map(String.class::cast).distinct().toList()
        : List.of();
    return new EngineObject(r.getMetadata().getName(), string(report.get("adminAddress")),
        string(report.get("incarnation")), portals, topology,
        Boolean.TRUE.equals(spec.get("unschedulable")), Boolean.TRUE.equals(spec.get("drain")),
        r.getMetadata().getDeletionTimestamp() != null);
  }

  /** An engine's Lease: {@code lease} is null when it is not a valid one (counts as none). */
  record LeaseOf(String engine, EngineLease lease) {
  }

  /** The engine named by a Lease of ours and the Lease's content; empty for other Leases. */
  static Optional<LeaseOf> engineLease(Lease lease) {
    String leaseName = lease.getMetadata().getName();
    if (!leaseName.startsWith(EngineDirectory.LEASE_PREFIX)) {
      return Optional.empty();
    }
    String engine = leaseName.substring(EngineDirectory.LEASE_PREFIX.length());
    LeaseSpec spec = lease.getSpec();
    String holder = spec == null ? null : spec.getHolderIdentity();
    if (holder == null || !holder.startsWith(engine + "/") || spec.getRenewTime() == null) {
      log.warn("Lease {} is not held as {}/<incarnation> with a renewTime (holder {}): "
          + "engine {} counts as without Lease", leaseName, engine, holder, engine);
      return Optional.of(new LeaseOf(engine, null));
    }
    Integer seconds = spec.getLeaseDurationSeconds();
    Duration duration = seconds == null || seconds <= 0 ? EngineLease.DEFAULT_DURATION
        : Duration.ofSeconds(seconds);
    return Optional.of(new LeaseOf(engine, new EngineLease(
        holder.substring(engine.length() + 1), spec.getRenewTime().toInstant(), duration)));
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object o) {
    return o instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
  }

  private static String string(Object o) {
    return o instanceof String s ? s : "";
  }

  private record ObjectHandler(EngineDirectory directory)
      implements ResourceEventHandler<GenericKubernetesResource> {
    @Override
    public void onAdd(GenericKubernetesResource r) {
      directory.observe(engineObject(r));
    }

    @Override
    public void onUpdate(GenericKubernetesResource before, GenericKubernetesResource after) {
      directory.observe(engineObject(after));
    }

    @Override
    public void onDelete(GenericKubernetesResource r, boolean finalStateUnknown) {
      directory.forget(r.getMetadata().getName());
    }
  }

  private record LeaseHandler(EngineDirectory directory) implements ResourceEventHandler<Lease> {
    @Override
    public void onAdd(Lease lease) {
      onUpdate(null, lease);
    }

    @Override
    public void onUpdate(Lease before, Lease after) {
      engineLease(after).ifPresent(e -> {
        if (e.lease() == null) {
          directory.forgetLease(e.engine());
        } else {
          directory.observeLease(e.engine(), e.lease());
        }
      });
    }

    @Override
    public void onDelete(Lease lease, boolean finalStateUnknown) {
      engineLease(lease).ifPresent(e -> directory.forgetLease(e.engine()));
    }
  }
}
