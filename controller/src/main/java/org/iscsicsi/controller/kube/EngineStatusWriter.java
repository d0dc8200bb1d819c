package org.iscsicsi.controller.kube;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.iscsicsi.controller.engine.EngineDirectory;
import org.iscsicsi.controller.engine.EngineState;
import org.iscsicsi.controller.engine.PoolMember;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The leader's record of each pool engine's state in its IscsiEngine (docs/pools.md, section
 * 2): {@code status.state} and the {@code Reachable} condition, patched on the status
 * subresource (fields the engine never writes; other conditions are kept), and a core/v1
 * Event on the object when reachability changes ({@code EngineUnreachable} with the last error,
 * {@code EngineReachable}). A change is compared with what the object already says, so a new
 * leader neither rewrites nor announces a state again; a join in progress is not written.
 * Needs patch on iscsiengines/status and create on events in the controller's namespace.
 */
public final class EngineStatusWriter implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(EngineStatusWriter.class);

  public static final String REACHABLE = "Reachable";
  public static final String UNREACHABLE_EVENT = "EngineUnreachable";
  public static final String REACHABLE_EVENT = "EngineReachable";
  /** How often every engine is compared again (a new leader, an object edited by hand). */
  public static final Duration RECHECK = Duration.ofSeconds(30);

  /** What this writer last wrote for an engine. */
  private record Written(String state, String reachable, String reason) {
  }

  private final KubernetesClient client;
  private final EngineDirectory directory;
  private final EngineInformer informer;
  private final EventRecorder events;
  private final BooleanSupplier leading;
  private final Map<String, Written> written = new ConcurrentHashMap<>();
  private final Set<String> pending = ConcurrentHashMap.newKeySet();
  private final ScheduledExecutorService worker;
  private volatile boolean wasLeading;

  private EngineStatusWriter(KubernetesClient client, EngineDirectory directory,
      EngineInformer informer, EventRecorder events, BooleanSupplier leading) {
    this.client = client;
    this.directory = directory;
    this.informer = informer;
    this.events = events;
    this.leading = leading;
    this.worker = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "engine-status-writer");
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * Writes on every change the directory reports and every {@code recheck}, while
   * {@code leading}.
   *
   * @param eventNamespace where the events go (IscsiEngine is cluster-scoped): the controller's
   */
  public static EngineStatusWriter start(KubernetesClient client, EngineDirectory directory,
      EngineInformer informer, EventRecorder events, BooleanSupplier leading,
      Duration recheck) {
    EngineStatusWriter w = new EngineStatusWriter(client, directory, informer, events,
        leading);
    directory.addListener((before, after) -> w.schedule(
        after != null ? after.name() : before.name()));
    w.worker.scheduleWithFixedDelay(w::recheckAll, 0, recheck.toMillis(),
        TimeUnit.MILLISECONDS);
    return w;
  }

  private void schedule(String name) {
    if (pending.add(name)) {
      worker.execute(() -> {
        pending.remove(name);
        write(name);
      });
    }
  }

  private void recheckAll() {
    directory.members().forEach(m -> write(m.name()));
  }

  /** Brings one engine's status in line with the directory; never throws. */
  private void write(String name) {
    try {
      boolean lead = leading.getAsBoolean();
      if (lead != wasLeading) {
        wasLeading = lead;
        written.clear(); // another replica may have written meanwhile: compare with the object
      }
      Optional<PoolMember> member = directory.member(name);
      if (!lead || member.isEmpty()) {
        written.remove(name);
        return;
      }
      PoolMember m = member.get();
      if (!m.reachability().settled()) {
        return;
      }
      Optional<GenericKubernetesResource> object = informer.object(name);
      if (object.isEmpty()) {
        return;
      }
      Written want = new Written(stateName(m.engine().state()),
          m.reachability().usable() ? "True" : "False", m.reachability().reason());
      if (want.equals(written.get(name))) {
        return;
      }
      Map<String, Object> status = map(object.get().getAdditionalProperties().get("status"));
      List<Map<String, Object>> conditions = conditions(status.get("conditions"));
      Map<String, Object> current = conditions.stream()
          .filter(c -> REACHABLE.equals(c.get("type"))).findFirst().orElse(null);
      // what this leader wrote last is newer than the informer's copy of the object
      Written have = written.containsKey(name) ? written.get(name)
          : new Written(String.valueOf(status.get("state")),
              current == null ? "" : String.valueOf(current.get("status")),
              current == null ? "" : String.valueOf(current.get("reason")));
      if (!want.equals(have)) {
        patch(name, m, want, object.get().getAdditionalProperties().get("status") instanceof Map,
            object.get().getMetadata().getResourceVersion(), conditions, current,
            have.reachable().equals(want.reachable()));
        announce(object.get(), m, have.reachable(), want.reachable());
      }
      written.put(name, want);
    } catch (KubernetesClientException e) {
      log.warn("could not write the status of IscsiEngine {}: HTTP {} {}", name, e.getCode(),
          e.getMessage());
    } catch (RuntimeException e) {
      log.warn("writing the status of IscsiEngine {} failed", name, e);
    }
  }

  /**
   * @param hasStatus whether the object has a {@code status} (else it is added whole, only to
   *     the {@code resourceVersion} read, so that no report written meanwhile is lost)
   */
  private void patch(String name, PoolMember m, Written want, boolean hasStatus,
      String resourceVersion, List<Map<String, Object>> conditions, Map<String, Object> current,
      boolean sameReachability) {
    Map<String, Object> condition = new LinkedHashMap<>();
    condition.put("type", REACHABLE);
    condition.put("status", want.reachable());
    condition.put("reason", want.reason());
    condition.put("message", m.reachability().usable()
        ? "admin API answers" + (m.incarnation().isEmpty() ? ""
            : " as incarnation " + m.incarnation())
        : m.engine().status().message());
    condition.put("lastTransitionTime", sameReachability && current != null
        && current.get("lastTransitionTime") != null ? current.get("lastTransitionTime")
        : DateTimeFormatter.ISO_INSTANT.format(Instant.now().truncatedTo(ChronoUnit.SECONDS)));
    List<Map<String, Object>> next = new ArrayList<>();
    for (Map<String, Object> c : conditions) {
      if (!REACHABLE.equals(c.get("type"))) {
        next.add(c);
      }
    }
    next.add(condition);
    // JSON patch "add" of the two members: on the API server the same as a merge patch of
    // them (the conditions list replaced whole), and fabric8's mock server applies it the same
    // way (its merge patch appends to lists)
    List<Map<String, Object>> ops = hasStatus
        ? List.of(op("/status/state", want.state()), op("/status/conditions", next))
        : List.of(Map.of("op", "test", "path", "/metadata/resourceVersion", "value",
            resourceVersion), op("/status", Map.of("state", want.state(), "conditions", next)));
    client.genericKubernetesResources(EngineInformer.CONTEXT).withName(name)
        .subresource("status").patch(PatchContext.of(PatchType.JSON),
            client.getKubernetesSerialization().asJson(ops));
    log.info("IscsiEngine {}: state {}, Reachable {} ({})", name, want.state(),
        want.reachable(), want.reason());
  }

  private static Map<String, Object> op(String path, Object value) {
    return Map.of("op", "add", "path", path, "value", value);
  }

  /** One event per change of reachability; none for a first Ready (a join). */
  private void announce(GenericKubernetesResource object, PoolMember m, String before,
      String after) {
    if (before.equals(after) || (before.isEmpty() && after.equals("True"))) {
      return;
    }
    EventRecorder.About about = new EventRecorder.About(
        "iscsi.csi.iscsicsi.org/v1alpha1", "IscsiEngine", "", m.name(),
        object.getMetadata().getUid());
    if (after.equals("True")) {
      events.record(about, EventRecorder.Type.Normal, REACHABLE_EVENT,
          "engine " + m.name() + " is reachable again" + (m.incarnation().isEmpty() ? ""
              : " (incarnation " + m.incarnation() + ")"));
    } else {
      events.record(about, EventRecorder.Type.Warning, UNREACHABLE_EVENT,
          "engine " + m.name() + " unreachable: " + m.engine().status().message());
    }
  }

  /** {@code READY} as the CRD spells it, {@code Ready}. */
  static String stateName(EngineState state) {
    String s = state.name().toLowerCase(Locale.ROOT);
    return Character.toUpperCase(s.charAt(0)) + s.substring(1);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object o) {
    return o instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
  }

  @SuppressWarnings("unchecked")
  private static List<Map<String, Object>> conditions(Object o) {
    List<Map<String, Object>> out = new ArrayList<>();
    if (o instanceof List<?> l) {
      for (Object c : l) {
        if (c instanceof Map<?, ?> m) {
          out.add((Map<String, Object>) m);
        }
      }
    }
    return out;
  }

  @Override
  public void close() {
    worker.shutdownNow();
  }
}
