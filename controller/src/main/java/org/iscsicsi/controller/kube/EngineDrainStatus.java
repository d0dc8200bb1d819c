package org.iscsicsi.controller.kube;

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
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.controller.service.DrainEvent;
import org.iscsicsi.controller.service.DrainListener;
import org.iscsicsi.controller.service.DrainProgress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The drain as people see it (docs/pools.md section 7): {@code status.drain} of the draining
 * engine's IscsiEngine, written at most once per {@link #FLUSH} with the latest progress (a JSON
 * patch {@code add} of that one member of the status subresource, so the engine's report and
 * the state the status writer keeps are untouched), removed when the engine stops draining, and
 * an Event on the IscsiEngine (in the controller's namespace, the object being cluster-scoped)
 * for each step. Writes happen on its own thread: the drainer never waits on the API server.
 * Needs patch on iscsiengines/status and create on events.
 */
public final class EngineDrainStatus implements DrainListener, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(EngineDrainStatus.class);

  /** How often the latest progress of each engine is written. */
  public static final Duration FLUSH = Duration.ofSeconds(1);

  private final KubernetesClient client;
  private final EngineInformer informer;
  private final EventRecorder events;
  private final Map<String, DrainProgress> latest = new ConcurrentHashMap<>();
  private final ScheduledExecutorService worker = Executors.newSingleThreadScheduledExecutor(
      r -> {
        Thread t = new Thread(r, "engine-drain-status");
        t.setDaemon(true);
        return t;
      });

  public EngineDrainStatus(KubernetesClient client, EngineInformer informer,
      EventRecorder events, Duration flush) {
    this.client = client;
    this.informer = informer;
    this.events = events;
    worker.scheduleWithFixedDelay(this::flush, flush.toMillis(), flush.toMillis(),
        TimeUnit.MILLISECONDS);
  }

  @Override
  public void progress(DrainProgress progress) {
    latest.put(progress.engine(), progress);
  }

  @Override
  public void event(DrainEvent event) {
    worker.execute(() -> announce(event));
  }

  /** Writes what is waiting now (also what a test calls to see it at once). */
  public void flush() {
    for (String engine : List.copyOf(latest.keySet())) {
      DrainProgress p = latest.remove(engine);
      if (p != null) {
        // an object without status yet (no report written) gets the whole member
        patch(engine, List.of(status(engine).isEmpty()
            ? Map.of("op", "add", "path", "/status", "value", Map.of("drain", drain(p)))
            : Map.of("op", "add", "path", "/status/drain", "value", drain(p))));
      }
    }
  }

  private void announce(DrainEvent event) {
    String e = event.engine();
    switch (event) {
      case DrainEvent.Started s -> record(e, EventRecorder.Type.Normal, DrainEvent.STARTED,
          (s.removal() ? "engine " + e + " is being removed: moving its " + s.volumes()
              + " volume(s) to other engines first" : "draining engine " + e + ": "
              + s.volumes() + " volume(s) to move to other engines"));
      case DrainEvent.Moved m -> record(e, EventRecorder.Type.Normal, DrainEvent.MOVED,
          "volume " + m.volumeId() + " moved to engine " + m.destination() + " ("
              + m.bytes() + " bytes sent)");
      case DrainEvent.MoveFailed f -> record(e, EventRecorder.Type.Warning,
          DrainEvent.MOVE_FAILED, "volume " + f.volumeId() + " not moved: " + f.reason()
              + "; the next pass retries");
      case DrainEvent.Blocked b -> record(e, EventRecorder.Type.Warning, DrainEvent.BLOCKED,
          b.attached().size() + " attached volume(s) stay until detached: "
              + String.join(", ", b.attached()));
      case DrainEvent.Drained d -> {
        flush();
        record(e, EventRecorder.Type.Normal, DrainEvent.DRAINED, "engine " + e
            + " holds no volumes: " + d.moved() + " moved");
      }
      case DrainEvent.Stopped s -> {
        latest.remove(e);
        if (status(e).containsKey("drain")) {
          patch(e, List.of(Map.of("op", "remove", "path", "/status/drain")));
        }
      }
    }
  }

  /** The object's status as the informer last saw it; empty when it has none (or no object). */
  private Map<?, ?> status(String engine) {
    return informer.object(engine).map(o -> o.getAdditionalProperties().get("status"))
        .filter(Map.class::isInstance).map(Map.class::cast).orElse(Map.of());
  }

  private void record(String engine, EventRecorder.Type type, String reason, String message) {
    events.record(informer.about(engine), type, reason, message);
  }

  /** {@code status.drain} as the CRD spells it. */
  static Map<String, Object> drain(DrainProgress p) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("total", p.total());
    out.put("moved", p.moved());
    out.put("remaining", p.remaining());
    out.put("pending", p.pending());
    out.put("failed", p.errors().size());
    out.put("attached", p.attached());
    List<Map<String, Object>> errors = new ArrayList<>();
    p.errors().entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e ->
        errors.add(Map.of("volumeId", e.getKey(), "message", e.getValue())));
    out.put("errors", errors);
    if (p.current() != null) {
      out.put("current", Map.of("volumeId", p.current().volumeId(),
          "destination", p.current().destination(),
          "doneBytes", p.current().doneBytes(), "totalBytes", p.current().totalBytes()));
    }
    out.put("updatedAt", DateTimeFormatter.ISO_INSTANT.format(
        Instant.now().truncatedTo(ChronoUnit.SECONDS)));
    return out;
  }

  private void patch(String engine, List<Map<String, Object>> ops) {
    try {
      client.genericKubernetesResources(EngineInformer.CONTEXT).withName(engine)
          .subresource("status").patch(PatchContext.of(PatchType.JSON),
              client.getKubernetesSerialization().asJson(ops));
    } catch (KubernetesClientException e) {
      log.warn("could not write status.drain of IscsiEngine {}: HTTP {} {}", engine, e.getCode(),
          e.getMessage());
    }
  }

  @Override
  public void close() {
    worker.shutdownNow();
  }
}
