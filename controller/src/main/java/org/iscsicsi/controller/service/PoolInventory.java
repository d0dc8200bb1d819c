package org.iscsicsi.controller.service;

import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.engine.Engines;
import org.iscsicsi.controller.volume.VolumeLabels;
import org.iscsicsi.target.v1.Target;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pool's volumes for background passes (the IscsiVolume sync): each reachable engine is
 * listed with a short deadline and its listing replaces what the {@link VolumeIndex} holds of
 * it; unreachable engines are not called at all, their volumes are the index's last read. The
 * answer says which engines were read, so that a caller removes nothing on an engine's silence.
 */
public final class PoolInventory {

  private static final Logger log = LoggerFactory.getLogger(PoolInventory.class);

  /**
   * One pass's view.
   *
   * @param volumes volume id → engine name → target (fresh from a read engine, else as last read)
   * @param read the engines listed successfully in this pass
   * @param engines every engine of the pool in this pass
   */
  public record Listing(Map<String, Map<String, Target>> volumes, Set<String> read,
      Set<String> engines) {

    /** True when every engine of the pool answered. */
    public boolean complete() {
      return read.containsAll(engines);
    }
  }

  /**
   * What the index places on one engine: what its removal waits for.
   *
   * @param volumes the volume ids, sorted
   * @param attached those of them with a grant or a session, as last read
   */
  public record Holdings(List<String> volumes, List<String> attached, int snapshots) {

    public Holdings {
      volumes = List.copyOf(volumes);
      attached = List.copyOf(attached);
    }

    public boolean empty() {
      return volumes.isEmpty() && snapshots == 0;
    }
  }

  private final Engines engines;
  private final ControllerConfig config;
  private final VolumeIndex index;

  PoolInventory(Engines engines, ControllerConfig config, VolumeIndex index) {
    this.engines = engines;
    this.config = config;
    this.index = index;
  }

  /** Lists the reachable engines, each call with {@code deadline}, into the index. */
  public Listing read(Duration deadline) {
    index.refresh();
    Set<String> read = new TreeSet<>();
    Set<String> all = new TreeSet<>();
    for (Engine e : engines.all()) {
      all.add(e.name());
      if (!e.state().reachable()) {
        continue;
      }
      try {
        List<Target> targets = e.client().withTimeout(deadline)
            .listTargets(VolumeLabels.selector(config.driverName()));
        index.replaceVolumes(e.name(), targets);
        read.add(e.name());
      } catch (StatusRuntimeException failed) {
        log.info("engine {}: not listed in this pass ({}: {}); its volumes are as last read",
            e.name(), failed.getStatus().getCode(), failed.getStatus().getDescription());
      }
    }
    return new Listing(index.placements(), read, all);
  }

  /** The volumes and snapshots the index places on {@code engine} (read first if it is not). */
  public Holdings holdings(String engine) {
    index.refresh();
    List<String> volumes = new java.util.ArrayList<>();
    List<String> attached = new java.util.ArrayList<>();
    for (var v : index.volumesOn(engine)) {
      volumes.add(v.id().toString());
      if (v.target().getGrantsCount() > 0 || v.target().getSessionCount() > 0) {
        attached.add(v.id().toString());
      }
    }
    volumes.sort(null);
    attached.sort(null);
    return new Holdings(volumes, attached, index.snapshotsOn(engine).size());
  }

  /**
   * Forgets every volume and snapshot of {@code engine} (removed by force): DeleteVolume of them
   * then succeeds (nothing left to delete) and the other calls answer NOT_FOUND.
   */
  public void forget(String engine) {
    Holdings lost = holdings(engine);
    index.forgetEngine(engine);
    log.warn("engine {} removed by force: {} volume(s) and {} snapshot(s) forgotten: {}", engine,
        lost.volumes().size(), lost.snapshots(), lost.volumes());
  }
}
