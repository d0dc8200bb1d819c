package org.iscsicsi.target.kube;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A replicated volume's membership, {@code IscsiVolume/<id>.status.replication}
 * (docs/replication.md, section 5): the epoch and its primary, a generation counting every change
 * of members or states, the phase, and one entry per member slot. Values only; every change is
 * made by {@link MembershipTransitions} and written by {@link MembershipWriter}.
 *
 * @param promotion set while {@code phase} is {@link Phase#Promoting}, else null
 */
public record Membership(long epoch, String primary, long generation, Phase phase,
    Promotion promotion, List<Member> members) {

  /** The volume-wide phase, a printer column. */
  public enum Phase { Serving, Promoting, Degraded, Rebuilding, Unavailable }

  /** A member's state; only {@link #InSync} members count for GOOD and may be promoted. */
  public enum State { InSync, Joining, Rebuilding, OutOfSync, Fenced, Removed }

  /** Who decided a promotion, and when; kept while the new primary reconciles. */
  public record Promotion(String from, String to, String startedAt, String decidedBy) {
  }

  /** The epoch and generation at which a member left the in-sync set: its bitmap is valid since. */
  public record OutSince(long epoch, long generation) {
  }

  /** Progress of a member's rebuild. */
  public record Rebuild(String method, long doneBytes, long totalBytes, String startedAt) {
  }

  /**
   * One member slot.
   *
   * @param outSince set while the member is out of the in-sync set, else null
   * @param reason why it is out (free text), else null
   * @param rebuild set while it is rebuilt, else null
   */
  public record Member(String engine, int slot, State state, String since, OutSince outSince,
      String reason, Rebuild rebuild) {

    public Member {
      Objects.requireNonNull(engine, "engine");
      Objects.requireNonNull(state, "state");
    }

    /** The same member in another state since {@code now}; out-of-sync details as given. */
    Member with(State next, String now, OutSince out, String why) {
      return new Member(engine, slot, next, now, out, why, null);
    }
  }

  public Membership {
    Objects.requireNonNull(phase, "phase");
    members = List.copyOf(members);
  }

  /** The entry of {@code engine}, if it is a member. */
  public Optional<Member> member(String engine) {
    return members.stream().filter(m -> m.engine().equals(engine)).findFirst();
  }

  /** The engines whose acks a write needs: InSync and Joining members other than the primary. */
  public List<String> ackingReplicas() {
    return members.stream()
        .filter(m -> !m.engine().equals(primary))
        .filter(m -> m.state() == State.InSync || m.state() == State.Joining)
        .map(Member::engine).toList();
  }

  /** How many members are InSync. */
  public long inSyncCount() {
    return members.stream().filter(m -> m.state() == State.InSync).count();
  }

  /** The printer column's text, e.g. {@code "2/3 in sync"}. */
  public String summary() {
    long listed = members.stream().filter(m -> m.state() != State.Removed).count();
    return inSyncCount() + "/" + listed + " in sync";
  }
}
