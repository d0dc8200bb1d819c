package org.iscsicsi.controller.service;

import csi.v1.Csi;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.engine.EngineState;
import org.iscsicsi.controller.engine.Engines;
import org.iscsicsi.controller.volume.PoolLimits;
import org.iscsicsi.controller.volume.VolumeParameters;
import org.iscsicsi.controller.volume.VolumeRecord;
import org.iscsicsi.csi.OperationLocks;
import org.iscsicsi.target.v1.LunRef;
import org.iscsicsi.target.v1.Snapshot;
import org.iscsicsi.target.v1.StartTransferRequest;
import org.iscsicsi.target.v1.Target;
import org.iscsicsi.target.v1.Transfer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves the detached volumes of draining engines to other engines (docs/pools.md section 7):
 * for each volume with no grant and no session, placement (the same policy, inside the source
 * engine's segment) picks the destination, the source engine moves the target with its
 * snapshots (IQN, NAA, serial, CHAP, snapshot ids unchanged), the index switches to the copy and
 * the source's target and snapshots are deleted. The volume's operation lock is held to start
 * the transfer and again to switch over, not while the bytes move: a ControllerPublishVolume or
 * CreateSnapshot meanwhile cancels the move ({@link #cancelMove}) and proceeds on the source, and
 * a volume deleted, attached, resized or snapshotted meanwhile keeps its source (the copy is
 * deleted). Attached volumes stay and are reported; a failed move
 * leaves the volume where it was (the destination deleted its copy) for the next pass. An
 * engine being removed (its IscsiEngine deleted, held by its finalizer) is drained the same way.
 * Each step reaches the {@link DrainListener} (status.drain and events on the IscsiEngine) and
 * the PVC of a moved volume gets {@code VolumeMoved} (a failed move {@code VolumeMoveFailed}).
 */
public final class Drainer {

  private static final Logger log = LoggerFactory.getLogger(Drainer.class);
  static final String MOVE_PREFIX = "move.";
  /** How often the serving controller looks for volumes to move off draining engines. */
  public static final java.time.Duration INTERVAL = java.time.Duration.ofSeconds(30);
  /** How long the drainer waits for the volume's lock after the copy (others hold it briefly). */
  static final java.time.Duration RELOCK = java.time.Duration.ofSeconds(60);

  private final Engines engines;
  private final ControllerConfig config;
  private final VolumeFinder finder;
  private final OperationLocks locks;
  private final CloneTransfer transfers;
  private final VolumeEvents pvcEvents;
  private final Map<String, Tally> tallies = new ConcurrentHashMap<>();
  /** Moves whose bytes are on their way, by volume id. */
  private final Map<String, InFlight> inFlight = new ConcurrentHashMap<>();
  private volatile DrainListener listener = DrainListener.NONE;

  /** What this controller counted of one engine's drain since it began. */
  private static final class Tally {
    int moved;
    List<String> attached = List.of();
    boolean drained;
    final Map<String, String> errors = new LinkedHashMap<>();
  }

  Drainer(Engines engines, ControllerConfig config, VolumeFinder finder, OperationLocks locks,
      CloneTransfer transfers, VolumeEvents pvcEvents) {
    this.engines = engines;
    this.config = config;
    this.finder = finder;
    this.locks = locks;
    this.transfers = transfers;
    this.pvcEvents = pvcEvents;
  }

  /** Where progress and steps go from now on (status.drain and events on the IscsiEngine). */
  public void listen(DrainListener listener) {
    this.listener = listener;
  }

  /** What a pass did with one volume of a draining engine. */
  public enum Outcome { MOVED, ATTACHED, FAILED }

  /**
   * @param detail the destination engine when moved, else why not
   * @param bytes what the transfer sent (0 unless moved)
   */
  public record Result(String engine, String volumeId, Outcome outcome, String detail,
      long bytes) {

    public Result(String engine, String volumeId, Outcome outcome, String detail) {
      this(engine, volumeId, outcome, detail, 0);
    }
  }

  /**
   * Runs a pass every {@code interval} while {@code leading} (only the leader changes the pool);
   * closing the handle stops it.
   */
  public AutoCloseable every(java.time.Duration interval,
      java.util.function.BooleanSupplier leading) {
    var worker = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
        r -> Thread.ofVirtual().name("drainer").unstarted(r));
    worker.scheduleWithFixedDelay(() -> {
      if (!leading.getAsBoolean()) {
        return;
      }
      try {
        for (Result r : pass()) {
          if (r.outcome() == Outcome.ATTACHED) {
            log.info("draining engine {}: volume {} is attached ({}), it stays", r.engine(),
                r.volumeId(), r.detail());
          }
        }
      } catch (RuntimeException e) {
        log.warn("drain pass failed; the next one retries", e);
      }
    }, interval.toMillis(), interval.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    return worker::shutdownNow;
  }

  /** One pass over the volumes of every draining engine and every engine being removed. */
  public synchronized List<Result> pass() {
    List<Result> out = new ArrayList<>();
    if (!engines.pooled()) {
      return out;
    }
    Set<String> draining = new HashSet<>();
    for (Engine source : engines.all()) {
      if (source.state() == EngineState.DRAINING || source.state() == EngineState.REMOVING) {
        draining.add(source.name());
        out.addAll(drainEngine(source));
      }
    }
    for (String gone : List.copyOf(tallies.keySet())) {
      if (!draining.contains(gone)) {
        tallies.remove(gone);
        listener.event(new DrainEvent.Stopped(gone));
      }
    }
    return out;
  }

  private List<Result> drainEngine(Engine source) {
    String name = source.name();
    List<VolumeRecord> on = finder.all().stream()
        .filter(l -> l.engine().name().equals(name)).map(Located::volume)
        .sorted(java.util.Comparator.comparing(v -> v.id().toString())).toList();
    Tally tally = tallies.get(name);
    if (tally == null) {
      tally = new Tally();
      tallies.put(name, tally);
      log.info("engine {}: drain begins with {} volume(s)", name, on.size());
      listener.event(new DrainEvent.Started(name, on.size(),
          source.state() == EngineState.REMOVING));
    }
    List<Result> out = new ArrayList<>();
    List<String> attached = new ArrayList<>();
    List<String> detached = new ArrayList<>();
    for (VolumeRecord v : on) {
      (attached(v.target()) ? attached : detached).add(v.id().toString());
    }
    int left = on.size();
    for (VolumeRecord v : on) {
      String id = v.id().toString();
      if (attached.contains(id)) {
        out.add(new Result(name, id, Outcome.ATTACHED, attachment(v.target())));
        tally.errors.remove(id);
        continue;
      }
      if (ReplicaMembers.replicated(v)) {
        // moving one member would leave the others naming an engine that no longer holds it
        out.add(new Result(name, id, Outcome.FAILED, "replicated volumes are not moved by a "
            + "drain yet; delete it or wait for member replacement"));
        continue;
      }
      detached.remove(id);
      Tally t = tally;
      int remaining = left;
      Result r = drain(source, v, current -> listener.progress(progress(name, t, remaining,
          detached.size() + 1, attached, current)));
      out.add(r);
      switch (r.outcome()) {
        case MOVED -> {
          tally.moved++;
          left--;
          tally.errors.remove(id);
          listener.event(new DrainEvent.Moved(name, id, r.detail(), r.bytes()));
          pvcEvent(v, false, "volume " + id + " moved from engine " + name + " to engine "
              + r.detail() + " (drain)");
        }
        case ATTACHED -> {
          attached.add(id);
          tally.errors.remove(id);
        }
        case FAILED -> {
          tally.errors.put(id, r.detail());
          listener.event(new DrainEvent.MoveFailed(name, id, r.detail()));
          pvcEvent(v, true, "volume " + id + " not moved off draining engine " + name + ": "
              + r.detail() + "; the next pass retries");
        }
      }
    }
    if (!attached.isEmpty() && !attached.equals(tally.attached)) {
      listener.event(new DrainEvent.Blocked(name, attached));
    }
    tally.attached = List.copyOf(attached);
    listener.progress(progress(name, tally, left, left - attached.size(), attached, null));
    if (left == 0 && !tally.drained) {
      log.info("engine {} drained: {} volume(s) moved", name, tally.moved);
      listener.event(new DrainEvent.Drained(name, tally.moved));
    }
    tally.drained = left == 0;
    return out;
  }

  private static DrainProgress progress(String engine, Tally t, int remaining, int pending,
      List<String> attached, DrainProgress.Current current) {
    return new DrainProgress(engine, t.moved + remaining, t.moved, remaining, pending, attached,
        t.errors, current);
  }

  private void pvcEvent(VolumeRecord v, boolean warning, String message) {
    String pvc = v.parameters().kubernetes().get("pvc/name");
    String namespace = v.parameters().kubernetes().get("pvc/namespace");
    if (pvc == null || namespace == null) {
      return;
    }
    if (warning) {
      pvcEvents.warn(namespace, pvc, VolumeEvents.MOVE_FAILED, message);
    } else {
      pvcEvents.note(namespace, pvc, VolumeEvents.MOVED, message);
    }
  }

  private Result drain(Engine source, VolumeRecord v,
      Consumer<DrainProgress.Current> moving) {
    String id = v.id().toString();
    if (attached(v.target())) {
      return new Result(source.name(), id, Outcome.ATTACHED, attachment(v.target()));
    }
    Engine destination;
    Target before;
    InFlight flight;
    Transfer started;
    try (OperationLocks.Held held = locks.acquire(id, "drain of engine " + source.name())) {
      Optional<Target> now = source.client().findTarget(v.target().getName());
      if (now.isEmpty()) {
        return new Result(source.name(), id, Outcome.FAILED, "gone from the engine");
      }
      if (attached(now.get())) {
        return new Result(source.name(), id, Outcome.ATTACHED, attachment(now.get()));
      }
      before = now.get();
      destination = destination(source, v);
      String address = destination.client().info().getReplicationAddress();
      moving.accept(new DrainProgress.Current(id, destination.name(), 0, v.sizeBytes()));
      flight = new InFlight(source, MOVE_PREFIX + v.id().local());
      inFlight.put(id, flight);
      started = source.client().startTransfer(StartTransferRequest.newBuilder()
          .setId(flight.transferId()).setSource(LunRef.newBuilder()
              .setTarget(before.getName()).setLun(0))
          .setDestinationEngine(destination.name()).setDestinationAddress(address)
          .setIncludeSnapshots(true).build());
    } catch (StatusRuntimeException e) {
      inFlight.remove(id);
      return failed(source, id, e.getStatus().getCode() + ": " + e.getStatus().getDescription());
    }
    // the bytes move without the lock: a publish meanwhile cancels the move (cancelMove)
    Transfer t;
    try {
      t = transfers.await(source, p -> moving.accept(new DrainProgress.Current(id,
          destination.name(), p.getDoneBytes(), p.getTotalBytes())), started);
    } catch (StatusRuntimeException e) {
      inFlight.remove(id);
      discard(destination, v, before);
      return failed(source, id, e.getStatus().getCode() + ": " + e.getStatus().getDescription());
    }
    try (OperationLocks.Held held = relock(id, "drain of engine " + source.name())) {
      inFlight.remove(id);
      if (flight.cancelledBy() != null) {
        discard(destination, v, before);
        return failed(source, id, "cancelled by " + flight.cancelledBy()
            + " (the volume stays on " + source.name() + ")");
      }
      if (!t.getState().equals("DONE")) {
        discard(destination, v, before);
        return failed(source, id, "moving to " + destination.name() + " "
            + t.getState().toLowerCase() + ": " + t.getError());
      }
      Optional<String> changed = changedWhileMoving(source, destination, v, before);
      if (changed.isPresent()) {
        discard(destination, v, before);
        return failed(source, id, changed.get() + " while it moved; the copy is deleted");
      }
      switchOver(source, destination, v, before);
      log.info("volume {} moved from draining engine {} to {} ({} bytes)", id, source.name(),
          destination.name(), t.getDoneBytes());
      return new Result(source.name(), id, Outcome.MOVED, destination.name(), t.getDoneBytes());
    } catch (StatusRuntimeException e) {
      inFlight.remove(id);
      discard(destination, v, before);
      return failed(source, id, e.getStatus().getCode() + ": " + e.getStatus().getDescription());
    }
  }

  /**
   * Called by ControllerPublishVolume and CreateSnapshot of {@code volumeId} before they act
   * on its engine: a move of it in flight is cancelled (the destination deletes what it
   * received; the drainer deletes a copy that completed meanwhile) and the volume stays where
   * the index has it; the next pass tries again.
   *
   * @return true when a move was cancelled
   */
  boolean cancelMove(String volumeId, String by) {
    InFlight f = inFlight.get(volumeId);
    if (f == null) {
      return false;
    }
    f.cancel(by);
    try {
      f.source().client().cancelTransfer(f.transferId());
    } catch (StatusRuntimeException e) {
      // a transfer that already ended: the drainer sees the mark and deletes the copy
      log.info("move of volume {} already ended on engine {} ({}); its copy is dropped",
          volumeId, f.source().name(), e.getStatus().getCode());
    }
    log.info("move of volume {} off engine {} cancelled by {}", volumeId, f.source().name(), by);
    return true;
  }

  /** A move whose bytes are on their way, and who cancelled it, if anyone. */
  private static final class InFlight {
    private final Engine source;
    private final String transferId;
    private volatile String cancelledBy;

    InFlight(Engine source, String transferId) {
      this.source = source;
      this.transferId = transferId;
    }

    Engine source() {
      return source;
    }

    String transferId() {
      return transferId;
    }

    String cancelledBy() {
      return cancelledBy;
    }

    void cancel(String by) {
      cancelledBy = by;
    }
  }

  /**
   * The volume's lock again after the copy: waits while a short call (a publish that cancelled
   * the move, an unpublish) holds it.
   */
  private OperationLocks.Held relock(String id, String operation) {
    long until = System.nanoTime() + RELOCK.toNanos();
    while (true) {
      try {
        return locks.acquire(id, operation);
      } catch (StatusRuntimeException busy) {
        if (System.nanoTime() > until) {
          throw busy;
        }
        try {
          Thread.sleep(CloneTransfer.POLL);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw busy;
        }
      }
    }
  }

  /** What happened to the source's volume while its bytes moved, if anything did. */
  private Optional<String> changedWhileMoving(Engine source, Engine destination, VolumeRecord v,
      Target before) {
    Optional<Target> now = source.client().findTarget(before.getName());
    if (now.isEmpty()) {
      return Optional.of("deleted");
    }
    if (attached(now.get())) {
      return Optional.of("attached (" + attachment(now.get()) + ")");
    }
    if (now.get().getLuns(0).getSizeBytes() != before.getLuns(0).getSizeBytes()) {
      return Optional.of("resized");
    }
    for (VolumeFinder.FoundSnapshot f : finder.snapshotsOf(v.id().toString())) {
      if (f.engine().name().equals(source.name())
          && destination.client().findSnapshot(f.snapshot().getId()).isEmpty()) {
        return Optional.of("snapshot " + f.snapshot().getId() + " taken");
      }
    }
    return Optional.empty();
  }

  /** Deletes what the destination holds of a move that does not complete, if anything. */
  private void discard(Engine destination, VolumeRecord v, Target moved) {
    try {
      for (VolumeFinder.FoundSnapshot f : finder.snapshotsOf(v.id().toString())) {
        if (destination.client().findSnapshot(f.snapshot().getId()).isPresent()) {
          destination.client().deleteSnapshot(f.snapshot().getId());
        }
      }
      if (destination.client().findTarget(moved.getName()).isPresent()) {
        destination.client().deleteTarget(moved.getName(), false);
        log.info("the copy of volume {} on engine {} is deleted", v.id(), destination.name());
      }
    } catch (StatusRuntimeException e) {
      log.warn("the copy of volume {} on engine {} could not be deleted ({}: {}); it carries "
          + "the volume's IQN and is deleted when the volume moves there again", v.id(),
          destination.name(), e.getStatus().getCode(), e.getStatus().getDescription());
    }
  }

  private static Result failed(Engine source, String id, String why) {
    log.warn("volume {} of draining engine {} not moved: {}", id, source.name(), why);
    return new Result(source.name(), id, Outcome.FAILED, why);
  }

  /** The first engine placement picks, inside the source engine's segment. */
  private Engine destination(Engine source, VolumeRecord v) {
    VolumeParameters params = v.parameters();
    Csi.TopologyRequirement.Builder inside = Csi.TopologyRequirement.newBuilder();
    if (!source.topology().isEmpty()) {
      inside.addRequisite(Csi.Topology.newBuilder().putAllSegments(source.topology()));
    }
    PoolLimits limits = config.limits().narrowedBy(params.limits());
    Placement.Demand demand = new Placement.Demand(v.name(), v.sizeBytes(), params.thick(),
        limits, inside.build(), params.pool().policy());
    return Placement.order(engines.all(), demand,
        Provisioner.survey(finder.index(), params)).getFirst();
  }

  /** The index to the copy, then the source's snapshots and target deleted. */
  private void switchOver(Engine source, Engine destination, VolumeRecord v, Target old) {
    Target moved = destination.client().findTarget(old.getName()).orElseThrow(() ->
        new IllegalStateException("the moved target " + old.getName() + " is not on "
            + destination.name()));
    finder.updated(destination, v.id(), moved);
    finder.removed(source, v.id());
    for (VolumeFinder.FoundSnapshot f : finder.snapshotsOf(v.id().toString())) {
      if (!f.engine().name().equals(source.name())) {
        continue;
      }
      Snapshot s = f.snapshot();
      destination.client().findSnapshot(s.getId())
          .ifPresent(copy -> finder.snapshotAdded(destination, copy));
      source.client().deleteSnapshot(s.getId());
    }
    source.client().deleteTarget(old.getName(), false);
  }

  private static boolean attached(Target t) {
    return t.getGrantsCount() > 0 || t.getSessionCount() > 0;
  }

  private static String attachment(Target t) {
    return t.getGrantsCount() + " grant(s), " + t.getSessionCount() + " session(s)";
  }
}
