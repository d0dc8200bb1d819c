package org.iscsicsi.controller.service;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.engine.Engines;
import org.iscsicsi.controller.volume.CsiErrors;
import org.iscsicsi.controller.volume.VolumeLabels;
import org.iscsicsi.controller.volume.VolumeRecord;
import org.iscsicsi.target.kube.Membership;
import org.iscsicsi.target.kube.Membership.State;

/**
 * The engines of a replicated volume as the controller records them (docs/replication.md,
 * sections 5 and 11). Every member holds a target with the volume's IQN and LUN 0 with the
 * volume's identity and the member's port slot. The primary's target carries the volume's labels
 * (so the volume queries, which select on {@link VolumeLabels#MANAGED_BY}, see one volume), plus
 * {@link #MEMBERS}, the engines in slot order, and {@link #REPLICATION}, {@code ready} once
 * CreateVolume finished. The other members' targets carry the same labels with
 * {@link VolumeLabels#MANAGED_BY} replaced by {@link #MEMBER_OF}, and their {@link #SLOT}.
 */
final class ReplicaMembers {

  /** On the primary's target: the member engines in slot order, comma-separated. */
  static final String MEMBERS = VolumeLabels.PREFIX + "members";
  /** On the primary's target: {@link #PENDING} while CreateVolume makes the members. */
  static final String REPLICATION = VolumeLabels.PREFIX + "replication";
  static final String PENDING = "pending";
  static final String READY = "ready";
  /** On a member's target instead of {@link VolumeLabels#MANAGED_BY}: the driver's name. */
  static final String MEMBER_OF = VolumeLabels.PREFIX + "member-of";
  /** On a member's target: its port slot. */
  static final String SLOT = VolumeLabels.PREFIX + "slot";

  private ReplicaMembers() {}

  /** A member engine of a volume and its slot (1 is the slot the primary was made in). */
  record Member(String engine, int slot) {}

  static boolean replicated(VolumeRecord v) {
    return v.parameters().pool().replicated();
  }

  /**
   * FAILED_PRECONDITION for a snapshot of a replicated volume: it would exist on the primary
   * only, and not survive a failover.
   */
  static void refuseSnapshot(VolumeRecord v) {
    if (replicated(v)) {
      throw CsiErrors.failedPrecondition("volume " + v.id() + " is replicated (replicas "
          + v.parameters().pool().replicas() + "): snapshots are not supported on replicated "
          + "volumes yet");
    }
  }

  /** False for a replicated volume whose CreateVolume has not finished. */
  static boolean finished(VolumeRecord v) {
    return !replicated(v) || READY.equals(v.target().getLabelsOrDefault(REPLICATION, ""));
  }

  /** The members the primary's target names, in slot order. */
  static List<Member> of(VolumeRecord v) {
    String names = v.target().getLabelsOrDefault(MEMBERS, "");
    List<Member> out = new ArrayList<>();
    if (names.isEmpty()) {
      return out;
    }
    String[] split = names.split(",");
    for (int i = 0; i < split.length; i++) {
      out.add(new Member(split[i], i + 1));
    }
    return out;
  }

  /** The labels of a member's target, from the primary's. */
  static Map<String, String> memberLabels(Map<String, String> primary, String driver, int slot) {
    Map<String, String> labels = new TreeMap<>(primary);
    labels.remove(VolumeLabels.MANAGED_BY);
    labels.remove(MEMBERS);
    labels.remove(REPLICATION);
    labels.put(MEMBER_OF, driver);
    labels.put(SLOT, Integer.toString(slot));
    return labels;
  }

  /**
   * The members other than {@code primary}'s engine, each with its engine.
   *
   * @throws io.grpc.StatusRuntimeException UNAVAILABLE naming a member engine that is not in
   *     the pool or not reachable, when {@code reachableOnly} is false
   */
  static List<Engine> others(VolumeRecord v, Engine primary, Engines engines,
      boolean reachableOnly) {
    List<Engine> out = new ArrayList<>();
    for (Member m : of(v)) {
      if (m.engine().equals(primary.name())) {
        continue;
      }
      Optional<Engine> e = engines.byName(m.engine());
      if (e.isEmpty() || !e.get().state().reachable()) {
        if (reachableOnly) {
          continue;
        }
        throw CsiErrors.unavailable("volume " + v.id() + " has a member on engine " + m.engine()
            + (e.isEmpty() ? ", which is not in the pool" : ", " + Located.unreachable(e.get())));
      }
      out.add(e.get());
    }
    return out;
  }

  /**
   * Where a volume is accessible from: its engine's topology, and for a replicated volume each
   * member engine's too (in slot order; a member not in the pool is left out), since after a
   * failover any member serves it and its pods must be able to run near any of them.
   */
  static List<Map<String, String>> topologies(Located l, Engines engines) {
    List<Map<String, String>> out = new ArrayList<>();
    out.add(l.engine().topology());
    if (replicated(l.volume())) {
      for (Member m : of(l.volume())) {
        engines.byName(m.engine()).ifPresent(e -> out.add(e.topology()));
      }
    }
    return out;
  }

  /**
   * The condition of a replicated volume from its membership: abnormal, with the phase and
   * every member that is not InSync, unless all are; abnormal when it has no membership.
   */
  static Optional<String> abnormality(Optional<Membership> membership) {
    if (membership.isEmpty()) {
      return Optional.of("replicated volume without a membership (IscsiVolume "
          + "status.replication missing)");
    }
    Membership m = membership.get();
    List<String> out = new ArrayList<>();
    for (Membership.Member member : m.members()) {
      if (member.state() != State.InSync) {
        out.add(member.engine() + " " + member.state()
            + (member.reason() == null ? "" : " (" + member.reason() + ")"));
      }
    }
    if (out.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(m.phase() + ": " + m.inSyncCount() + "/" + m.members().size()
        + " in sync, serving from " + m.primary() + "; " + String.join(", ", out));
  }
}
