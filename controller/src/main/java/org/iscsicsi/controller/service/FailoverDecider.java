package org.iscsicsi.controller.service;

import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.iscsicsi.target.kube.Membership;
import org.iscsicsi.target.kube.Membership.Member;
import org.iscsicsi.target.kube.Membership.State;

/**
 * The controller leader's failover decision for one replicated volume (docs/replication.md
 * section 8), a pure function of what it knows: promote in-sync replica r from primary p at
 * epoch E when r is InSync, its engine usable and its member answered at E; p is unusable (its
 * Lease expired or probes keep failing, or its admin port refuses connections or it
 * re-registered with a new incarnation); and every in-sync member that answered has had no frame
 * from p for {@link #PRIMARY_SILENCE} (a primary that still streams to its replicas and lost only
 * the control plane is not failed over). Among candidates the one that heard from p last (it
 * followed the stream longest), then the lowest slot. Otherwise wait, with the reason.
 *
 * <p>Not decided here yet: a suspended primary reported through heartbeats (2c) and the
 * node-side rule (2d); zones of the sessions among candidates.
 */
public final class FailoverDecider {

  /** A member must have heard nothing from the primary for this long (the silence limit). */
  public static final Duration PRIMARY_SILENCE = Duration.ofSeconds(2);

  private FailoverDecider() {
  }

  /** How an engine looks to the controller now (from its Lease, probes and registration). */
  public enum Health {
    /** Lease fresh and the admin API answered as the expected incarnation. */
    USABLE,
    /** Lease fresh, not answering yet (e.g. a first answer pending): neither way. */
    UNKNOWN,
    /** Lease expired or missing, or several probes in a row failed. */
    LEASE_OR_PROBES_FAILED,
    /** Its admin port refuses connections, or it runs as a new incarnation. */
    REFUSED_OR_RESTARTED
  }

  /**
   * A member's answer to GetReplicationStatus.
   *
   * @param acceptedEpoch the epoch its superblock accepted
   * @param primarySilenceMs since the last frame from the primary, -1 for none since it started
   */
  public record MemberReport(long acceptedEpoch, long primarySilenceMs) {
  }

  /** The outcome. */
  public sealed interface Decision {
    String reason();
  }

  /** Promote {@code to} at {@code epoch} (the epoch the decision was made on). */
  public record Promote(String to, long epoch, String reason) implements Decision {
  }

  /** Nothing to do now. */
  public record Wait(String reason) implements Decision {
  }

  /**
   * @param health by engine; an engine missing counts as {@link Health#UNKNOWN}
   * @param reports the members that answered GetReplicationStatus, by engine
   */
  public static Decision decide(Membership m, Map<String, Health> health,
      Map<String, MemberReport> reports) {
    String p = m.primary();
    Health ph = health.getOrDefault(p, Health.UNKNOWN);
    String unusable = switch (ph) {
      case USABLE -> null;
      case UNKNOWN -> null;
      case LEASE_OR_PROBES_FAILED -> "primary " + p + ": Lease expired or probes failing";
      case REFUSED_OR_RESTARTED -> "primary " + p + ": admin port refused or restarted";
    };
    if (unusable == null) {
      return new Wait("primary " + p + " is " + ph.name().toLowerCase());
    }
    List<Member> inSync = m.members().stream()
        .filter(x -> x.state() == State.InSync && !x.engine().equals(p)).toList();
    for (Member x : inSync) {
      MemberReport r = reports.get(x.engine());
      if (r != null && r.acceptedEpoch() == m.epoch() && r.primarySilenceMs() >= 0
          && r.primarySilenceMs() < PRIMARY_SILENCE.toMillis()) {
        return new Wait(unusable + ", but " + x.engine() + " heard from it "
            + r.primarySilenceMs() + " ms ago");
      }
    }
    Optional<Member> best = inSync.stream()
        .filter(x -> health.getOrDefault(x.engine(), Health.UNKNOWN) == Health.USABLE)
        .filter(x -> reports.containsKey(x.engine())
            && reports.get(x.engine()).acceptedEpoch() == m.epoch())
        .min(Comparator.comparingLong((Member x) -> silence(reports.get(x.engine())))
            .thenComparingInt(Member::slot));
    if (best.isEmpty()) {
      return new Wait(unusable + ", and no in-sync member is usable and answering at epoch "
          + m.epoch());
    }
    return new Promote(best.get().engine(), m.epoch(), unusable);
  }

  /** Never heard (-1) sorts last. */
  private static long silence(MemberReport r) {
    return r.primarySilenceMs() < 0 ? Long.MAX_VALUE : r.primarySilenceMs();
  }
}
