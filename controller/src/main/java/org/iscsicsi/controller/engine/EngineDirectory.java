package org.iscsicsi.controller.engine;

import io.grpc.Channel;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.iscsicsi.target.v1.EngineInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engines of pool mode (docs/pools.md, sections 2 and 8): one per IscsiEngine object, fed by
 * the informer (objects and Leases) and by {@link EngineHealth} (probes). Each engine's
 * {@link Engine} record is replaced when its status changes; its admin channel is opened at the
 * first call, with mutual TLS, and closed when it leaves.
 *
 * <p>State, from the inputs: not reachable (no Lease, Lease older than its duration, no admin
 * address, {@value #FAILURES_BEFORE_UNREACHABLE} failed probes in a row, another engine answering,
 * or no answer yet from this incarnation) is {@link EngineState#UNREACHABLE}; else a
 * {@code deletionTimestamp} is {@link EngineState#REMOVING}, {@code spec.drain}
 * {@link EngineState#DRAINING}, {@code spec.unschedulable} {@link EngineState#CORDONED}, and the
 * rest {@link EngineState#READY}. Unreachable comes first because calls to such an engine cannot
 * succeed; the Reachable condition tells the cases apart.
 *
 * <p>Never blocks on an engine: updates only change records under a short lock, remote calls
 * (probes, the CSI services' calls) run outside it, each with a deadline.
 */
public final class EngineDirectory implements Engines {

  private static final Logger log = LoggerFactory.getLogger(EngineDirectory.class);

  /** Failed probes in a row after which an engine with a fresh Lease counts as unreachable. */
  public static final int FAILURES_BEFORE_UNREACHABLE = 3;

  /** The name of an engine's Lease is this prefix and the engine's name. */
  public static final String LEASE_PREFIX = "iscsi-engine-";

  /** Told of every change of an engine; {@code before} or {@code after} is null at join/leave. */
  @FunctionalInterface
  public interface Listener {
    void changed(PoolMember before, PoolMember after);
  }

  /** What {@link EngineHealth} probes: an engine's channel and the incarnation expected. */
  public record ProbeTarget(String name, String incarnation, Channel channel) {
  }

  private final EngineChannels channels;
  private final Duration callTimeout;
  private final Clock clock;
  private final Object lock = new Object();
  private final Map<String, Entry> entries = new HashMap<>(); // guarded by lock
  private final Map<String, SeenLease> leases = new HashMap<>(); // guarded by lock
  private volatile Map<String, PoolMember> members = Map.of();
  private final List<Listener> listeners = new CopyOnWriteArrayList<>();

  /**
   * @param channels opens an engine's admin channel (mutual TLS in production)
   * @param callTimeout deadline of each call the CSI services make to an engine
   */
  public EngineDirectory(EngineChannels channels, Duration callTimeout, Clock clock) {
    this.channels = Objects.requireNonNull(channels, "channels");
    this.callTimeout = Objects.requireNonNull(callTimeout, "callTimeout");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  @Override
  public boolean pooled() {
    return true;
  }

  /** Every engine with an IscsiEngine object, reachable or not, by name. */
  @Override
  public List<Engine> all() {
    return members.values().stream().map(PoolMember::engine).toList();
  }

  @Override
  public Optional<Engine> byName(String name) {
    return member(name).map(PoolMember::engine);
  }

  /** The engine, its object and why it is (not) reachable. */
  public Optional<PoolMember> member(String name) {
    return Optional.ofNullable(members.get(name));
  }

  public List<PoolMember> members() {
    return List.copyOf(members.values());
  }

  public void addListener(Listener listener) {
    listeners.add(listener);
  }

  /** The engine's IscsiEngine object was added or changed. */
  public void observe(EngineObject object) {
    update(() -> {
      Entry e = entries.computeIfAbsent(object.name(), n -> new Entry(n, clock.instant()));
      if (e.channel == null || !e.channel.address().equals(object.adminAddress())) {
        if (e.channel != null) {
          log.info("engine {} moved its admin API from {} to {}", object.name(),
              e.channel.address(), object.adminAddress());
          e.channel.close();
        }
        e.channel = new LazyChannel(object.name(), object.adminAddress(), channels);
        e.client = new EngineClient(e.channel, callTimeout);
        e.probe = ProbeRecord.NONE;
      }
      e.object = object;
    });
  }

  /** The engine's IscsiEngine object is gone: the engine left the pool. */
  public void forget(String name) {
    update(() -> {
      Entry e = entries.remove(name);
      if (e != null && e.channel != null) {
        e.channel.close();
      }
    });
  }

  /** The engine's Lease was added or renewed. */
  public void observeLease(String name, EngineLease lease) {
    update(() -> {
      Instant now = clock.instant();
      SeenLease before = leases.get(name);
      Instant seen;
      if (before != null && before.lease.equals(lease)) {
        seen = before.seenAt; // a resync: nothing renewed
      } else if (before == null) {
        // first sight: trust the engine's clock only to date a renewal into the past
        seen = lease.renewTime().isBefore(now) ? lease.renewTime() : now;
      } else {
        seen = now; // a renewal, dated by this clock (the engine's may be skewed)
      }
      leases.put(name, new SeenLease(lease, seen));
    });
  }

  /** The engine's Lease is gone (or held by another name). */
  public void forgetLease(String name) {
    update(() -> leases.remove(name));
  }

  /** Derives every state again: Leases expire without any event. */
  public void refresh() {
    update(() -> { });
  }

  /** The engines worth probing now: an admin address and a fresh Lease. */
  public List<ProbeTarget> probeTargets() {
    List<ProbeTarget> out = new ArrayList<>();
    for (PoolMember m : members.values()) {
      Reachability r = m.reachability();
      if (r == Reachability.ANSWERING || r == Reachability.JOINING
          || r == Reachability.PROBES_FAILING || r == Reachability.WRONG_ENGINE) {
        probeTarget(m.name()).ifPresent(out::add);
      }
    }
    return out;
  }

  /** The probe of one engine, when it has a channel. */
  public Optional<ProbeTarget> probeTarget(String name) {
    synchronized (lock) {
      Entry e = entries.get(name);
      if (e == null || e.object == null || e.object.adminAddress().isEmpty()) {
        return Optional.empty();
      }
      return Optional.of(new ProbeTarget(name, e.expectedIncarnation(), e.channel));
    }
  }

  /**
   * A probe's answer: the engine is usable when it answers as {@code name} and (when it reports
   * one) as the incarnation its Lease names. A result for an older incarnation is dropped.
   */
  public void probeAnswered(String name, String incarnation, EngineInfo info) {
    EngineIdentity id = EngineIdentity.of(info);
    update(() -> {
      Entry e = entries.get(name);
      if (e == null || !e.expectedIncarnation().equals(incarnation)) {
        return;
      }
      if (!id.name().isEmpty() && !id.name().equals(name)) {
        e.probe = e.probe.wrongEngine("the admin API at " + e.object.adminAddress()
            + " answers as engine " + id.name());
      } else if (!id.incarnation().isEmpty() && !incarnation.isEmpty()
          && !id.incarnation().equals(incarnation)) {
        e.probe = e.probe.failed("answers as incarnation " + id.incarnation()
            + ", its Lease names " + incarnation);
      } else {
        e.probe = ProbeRecord.answeredAs(incarnation);
      }
    });
  }

  /** A probe failed (deadline, refused connection, TLS handshake, error status). */
  public void probeFailed(String name, String incarnation, String error) {
    update(() -> {
      Entry e = entries.get(name);
      if (e != null && e.expectedIncarnation().equals(incarnation)) {
        e.probe = e.probe.failed(error);
      }
    });
  }

  /** Applies {@code change} under the lock, derives the states, then tells the listeners. */
  private void update(Runnable change) {
    List<PoolMember[]> changes = new ArrayList<>();
    synchronized (lock) {
      change.run();
      Instant now = clock.instant();
      Map<String, PoolMember> before = members;
      Map<String, PoolMember> after = new TreeMap<>();
      for (Entry e : entries.values()) {
        if (e.object != null) {
          after.put(e.name, e.derive(leases.get(e.name), before.get(e.name), now));
        }
      }
      for (PoolMember b : before.values()) {
        if (!after.containsKey(b.name())) {
          changes.add(new PoolMember[] {b, null});
        }
      }
      for (PoolMember a : after.values()) {
        PoolMember b = before.get(a.name());
        if (!a.equals(b)) {
          changes.add(new PoolMember[] {b, a});
        }
      }
      members = java.util.Collections.unmodifiableMap(after);
    }
    for (PoolMember[] c : changes) {
      log(c[0], c[1]);
      for (Listener l : listeners) {
        try {
          l.changed(c[0], c[1]);
        } catch (RuntimeException ex) {
          log.warn("engine directory listener {} failed", l, ex);
        }
      }
    }
  }

  private static void log(PoolMember before, PoolMember after) {
    if (after == null) {
      log.info("engine {} left the pool", before.name());
    } else if (before == null || before.engine().state() != after.engine().state()) {
      log.info("engine {} is {}{}", after.name(), after.engine().state(),
          after.engine().status().message().isEmpty() ? ""
              : ": " + after.engine().status().message());
    }
  }

  @Override
  public void close() {
    synchronized (lock) {
      for (Entry e : entries.values()) {
        if (e.channel != null) {
          e.channel.close();
        }
      }
      entries.clear();
      leases.clear();
      members = Map.of();
    }
  }

  /** A Lease and when this controller saw it renewed (on its own clock). */
  private record SeenLease(EngineLease lease, Instant seenAt) {
  }

  /** One engine's inputs; guarded by the directory's lock. */
  private static final class Entry {
    final String name;
    /** When this controller first saw the object: a new engine gets one Lease duration. */
    final Instant firstSeen;
    EngineObject object;
    LazyChannel channel;
    EngineClient client;
    ProbeRecord probe = ProbeRecord.NONE;
    SeenLease lease;

    Entry(String name, Instant firstSeen) {
      this.name = name;
      this.firstSeen = firstSeen;
    }

    String expectedIncarnation() {
      return lease != null && !lease.lease.incarnation().isEmpty() ? lease.lease.incarnation()
          : object.incarnation();
    }

    PoolMember derive(SeenLease seen, PoolMember before, Instant now) {
      if (seen == null || (lease != null && !lease.lease.incarnation()
          .equals(seen.lease.incarnation()))) {
        probe = ProbeRecord.NONE; // no Lease, or a new incarnation: it joins again
      }
      lease = seen;
      String incarnation = expectedIncarnation();
      Reachability reach;
      String why = "";
      if (seen == null && firstSeen.plus(EngineLease.DEFAULT_DURATION).isAfter(now)) {
        reach = Reachability.JOINING; // its Lease may come just after the object
        why = "waiting for its Lease " + LEASE_PREFIX + name;
      } else if (seen == null) {
        reach = Reachability.LEASE_MISSING;
        why = "no Lease " + LEASE_PREFIX + name;
      } else if (!seen.seenAt.plus(seen.lease.duration()).isAfter(now)) {
        reach = Reachability.LEASE_EXPIRED;
        why = "Lease " + LEASE_PREFIX + name + " not renewed since " + seen.lease.renewTime()
            + " (duration " + seen.lease.duration().toSeconds() + " s)";
        probe = ProbeRecord.NONE; // back only after a fresh answer
      } else if (object.adminAddress().isEmpty()) {
        reach = Reachability.NO_ADDRESS;
        why = "status.report.adminAddress not reported yet";
      } else if (!probe.wrongEngine().isEmpty()) {
        reach = Reachability.WRONG_ENGINE;
        why = probe.wrongEngine();
      } else if (probe.failures() >= FAILURES_BEFORE_UNREACHABLE) {
        reach = Reachability.PROBES_FAILING;
        why = probe.failures() + " probes in a row failed: " + probe.lastError();
      } else if (probe.answeredFor(incarnation)) {
        reach = Reachability.ANSWERING;
      } else {
        reach = Reachability.JOINING;
        why = "waiting for the admin API at " + object.adminAddress() + " to answer"
            + (incarnation.isEmpty() ? "" : " as incarnation " + incarnation)
            + (probe.lastError().isEmpty() ? "" : " (last error: " + probe.lastError() + ")");
      }
      EngineState state;
      if (!reach.usable()) {
        state = EngineState.UNREACHABLE;
      } else if (object.deleting()) {
        state = EngineState.REMOVING;
        why = "being deleted";
      } else if (object.drain()) {
        state = EngineState.DRAINING;
        why = "spec.drain";
      } else if (object.unschedulable()) {
        state = EngineState.CORDONED;
        why = "spec.unschedulable";
      } else {
        state = EngineState.READY;
      }
      EngineStatus status = before != null && before.engine().state() == state
          ? (before.engine().status().message().equals(why) ? before.engine().status()
              : new EngineStatus(state, before.engine().status().since(), why))
          : new EngineStatus(state, now, why);
      Engine engine = new Engine(name, client, object.topology(), object.portals(), status);
      return new PoolMember(engine, object, seen == null ? null : seen.lease, reach,
          incarnation);
    }
  }
}
