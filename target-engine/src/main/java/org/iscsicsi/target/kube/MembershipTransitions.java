package org.iscsicsi.target.kube;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import org.iscsicsi.target.kube.Membership.Member;
import org.iscsicsi.target.kube.Membership.OutSince;
import org.iscsicsi.target.kube.Membership.Phase;
import org.iscsicsi.target.kube.Membership.Promotion;
import org.iscsicsi.target.kube.Membership.Rebuild;
import org.iscsicsi.target.kube.Membership.State;
import org.iscsicsi.target.kube.MembershipRefused.Reason;

/**
 * Every change of a volume's membership (docs/replication.md, section 5), as pure functions
 * from the membership read to the one to write, shared by the engines and the controller. Each
 * checks who may make it (the primary of the named epoch, or the controller's leader) and the
 * state it starts from, and every result passes {@link #check} before it is returned; a refusal
 * is a {@link MembershipRefused} and nothing changes. The resourceVersion precondition is the
 * writer's ({@link MembershipWriter}).
 */
public final class MembershipTransitions {

  /** Member slots are 1 to 3: the target portal group tags of the members' ports. */
  public static final int MAX_SLOTS = 3;
  public static final long FIRST_EPOCH = 1;

  private MembershipTransitions() {
  }

  /**
   * CreateVolume's membership: epoch 1, {@code primary} InSync, the other engines in slot order
   * (slots 1, 2, ... as listed) InSync (new LUNs read as zeros everywhere) or Rebuilding (clones
   * and restores build their replicas).
   */
  public static Membership create(String primary, List<String> engines, State others,
      int replicas, Instant now) {
    if (others != State.InSync && others != State.Rebuilding) {
      throw refused(Reason.NOT_ALLOWED, "new members start InSync or Rebuilding, not " + others);
    }
    if (engines.size() != replicas || replicas < 1 || replicas > MAX_SLOTS) {
      throw refused(Reason.NOT_ALLOWED, "a volume of " + replicas + " replicas needs as many "
          + "distinct engines (1 to " + MAX_SLOTS + "), got " + engines);
    }
    if (!engines.contains(primary)) {
      throw refused(Reason.INVARIANT, "the primary " + primary + " is not among " + engines);
    }
    List<Member> members = new ArrayList<>();
    for (int i = 0; i < engines.size(); i++) {
      String engine = engines.get(i);
      boolean inSync = engine.equals(primary) || others == State.InSync;
      members.add(new Member(engine, i + 1, inSync ? State.InSync : State.Rebuilding,
          now.toString(), inSync ? null : new OutSince(FIRST_EPOCH, 1), null, null));
    }
    Membership created = new Membership(FIRST_EPOCH, primary, 1, phase(members), null, members);
    check(null, created);
    return created;
  }

  /**
   * The primary of {@code epoch} takes a member out of the in-sync set (silent, NACKing, slow,
   * or a rebuild or join that failed): OutOfSync, with the epoch and generation since which its
   * bitmap is kept. Also the new primary marking a member silent during promotion.
   */
  public static Membership outOfSync(Membership m, String self, long epoch, String engine,
      String reason, Instant now) {
    requirePrimary(m, self, epoch);
    if (engine.equals(self)) {
      throw refused(Reason.INVARIANT, "the primary cannot take itself out of sync");
    }
    Member member = member(m, engine);
    requireState(member, State.InSync, State.Joining, State.Rebuilding);
    long generation = m.generation() + 1;
    OutSince out = member.outSince() != null ? member.outSince()
        : new OutSince(m.epoch(), generation);
    return change(m, generation, m.epoch(), m.primary(), m.promotion(),
        replace(m, engine, x -> x.with(State.OutOfSync, now.toString(), out, reason)));
  }

  /** The primary starts rebuilding an OutOfSync or Fenced member. */
  public static Membership rebuilding(Membership m, String self, long epoch, String engine,
      Rebuild rebuild, Instant now) {
    requirePrimary(m, self, epoch);
    Member member = member(m, engine);
    requireState(member, State.OutOfSync, State.Fenced);
    return change(m, m.generation() + 1, m.epoch(), m.primary(), m.promotion(),
        replace(m, engine, x -> new Member(x.engine(), x.slot(), State.Rebuilding,
            now.toString(), x.outSince(), x.reason(), rebuild)));
  }

  /** Rebuild progress (not a change of members or states: the generation stays). */
  public static Membership rebuildProgress(Membership m, String self, long epoch, String engine,
      Rebuild rebuild) {
    requirePrimary(m, self, epoch);
    requireState(member(m, engine), State.Rebuilding);
    Membership next = new Membership(m.epoch(), m.primary(), m.generation(), m.phase(),
        m.promotion(), replace(m, engine, x -> new Member(x.engine(), x.slot(), x.state(),
            x.since(), x.outSince(), x.reason(), rebuild)));
    check(m, next);
    return next;
  }

  /** Nothing is left to copy: the primary enters join mode for the member. */
  public static Membership joining(Membership m, String self, long epoch, String engine,
      Instant now) {
    requirePrimary(m, self, epoch);
    Member member = member(m, engine);
    requireState(member, State.Rebuilding);
    return change(m, m.generation() + 1, m.epoch(), m.primary(), m.promotion(),
        replace(m, engine, x -> new Member(x.engine(), x.slot(), State.Joining, now.toString(),
            x.outSince(), null, x.rebuild())));
  }

  /**
   * The join drain is done (every write issued before join mode was acked by the member): it is
   * InSync again, its out-of-sync record cleared.
   */
  public static Membership joined(Membership m, String self, long epoch, String engine,
      Instant now) {
    requirePrimary(m, self, epoch);
    requireState(member(m, engine), State.Joining);
    return change(m, m.generation() + 1, m.epoch(), m.primary(), m.promotion(),
        replace(m, engine, x -> x.with(State.InSync, now.toString(), null, null)));
  }

  /**
   * The controller's leader promotes {@code to}, InSync at {@code epoch}: epoch + 1, the old
   * primary Fenced, phase Promoting until the new primary has reconciled.
   */
  public static Membership promote(Membership m, String leader, long epoch, String to,
      Instant now) {
    if (m.epoch() != epoch) {
      throw refused(Reason.NOT_PRIMARY, "promotion decided at epoch " + epoch
          + " but the volume is at epoch " + m.epoch());
    }
    if (to.equals(m.primary())) {
      throw refused(Reason.NOT_ALLOWED, to + " is already the primary of epoch " + epoch);
    }
    requireState(member(m, to), State.InSync);
    long generation = m.generation() + 1;
    long next = epoch + 1;
    String from = m.primary();
    List<Member> members = replace(m, from, x -> x.with(State.Fenced, now.toString(),
        new OutSince(next, generation), "deposed at epoch " + next));
    return change(m, generation, next, to,
        new Promotion(from, to, now.toString(), leader), members);
  }

  /** The primary of a promotion has reconciled the tail: Promoting → the derived phase. */
  public static Membership serving(Membership m, String self, long epoch) {
    requirePrimary(m, self, epoch);
    if (m.phase() != Phase.Promoting) {
      throw refused(Reason.NOT_ALLOWED, "the volume is " + m.phase() + ", not Promoting");
    }
    return change(m, m.generation() + 1, m.epoch(), m.primary(), null, m.members());
  }

  /**
   * The controller's leader adds a member on {@code engine} (eligibility is the caller's): the
   * lowest slot no entry holds, state Rebuilding.
   */
  public static Membership add(Membership m, String engine, int replicas, Instant now) {
    long listed = m.members().stream().filter(x -> x.state() != State.Removed).count();
    if (listed >= replicas) {
      throw refused(Reason.NOT_ALLOWED, "the volume has " + listed + " of " + replicas
          + " members already");
    }
    if (m.member(engine).isPresent()) {
      throw refused(Reason.NOT_ALLOWED, engine + " is a member already (slot "
          + member(m, engine).slot() + ")");
    }
    Set<Integer> taken = m.members().stream().map(Member::slot).collect(Collectors.toSet());
    int slot = 1;
    while (taken.contains(slot)) {
      slot++;
    }
    if (slot > MAX_SLOTS) {
      throw refused(Reason.NOT_ALLOWED, "no free slot: every slot 1 to " + MAX_SLOTS
          + " has an entry (a Removed one is freed once deleted)");
    }
    long generation = m.generation() + 1;
    List<Member> members = new ArrayList<>(m.members());
    members.add(new Member(engine, slot, State.Rebuilding, now.toString(),
        new OutSince(m.epoch(), generation), "added", null));
    return change(m, generation, m.epoch(), m.primary(), m.promotion(), members);
  }

  /** The controller's leader removes a member that is neither primary nor the last InSync. */
  public static Membership remove(Membership m, String engine, String reason, Instant now) {
    Member member = member(m, engine);
    if (engine.equals(m.primary())) {
      throw refused(Reason.NOT_ALLOWED, engine + " is the primary: promote another first");
    }
    if (member.state() == State.InSync && m.inSyncCount() <= 1) {
      throw refused(Reason.NOT_ALLOWED, engine + " is the last InSync member");
    }
    requireState(member, State.InSync, State.Joining, State.Rebuilding, State.OutOfSync,
        State.Fenced);
    return change(m, m.generation() + 1, m.epoch(), m.primary(), m.promotion(),
        replace(m, engine, x -> x.with(State.Removed, now.toString(), x.outSince(), reason)));
  }

  /** The leader deletes a Removed entry once its engine confirmed its copy is gone. */
  public static Membership deleteEntry(Membership m, String engine) {
    requireState(member(m, engine), State.Removed);
    List<Member> members = m.members().stream().filter(x -> !x.engine().equals(engine))
        .toList();
    return change(m, m.generation() + 1, m.epoch(), m.primary(), m.promotion(), members);
  }

  /**
   * The invariants of every membership written, and of every change from {@code before} (null
   * for a new object): one entry per engine and slot, slots 1 to {@link #MAX_SLOTS}; the primary
   * is InSync; Promoting exactly while a promotion is recorded; the epoch and generation never
   * decrease; an epoch rises only with a primary that was InSync before; a slot is never given
   * to another engine while its entry exists.
   */
  public static void check(Membership before, Membership after) {
    if (after.epoch() < FIRST_EPOCH) {
      throw refused(Reason.INVARIANT, "epoch " + after.epoch() + " below " + FIRST_EPOCH);
    }
    Set<String> engines = new HashSet<>();
    Set<Integer> slots = new HashSet<>();
    for (Member x : after.members()) {
      if (!engines.add(x.engine())) {
        throw refused(Reason.INVARIANT, "engine " + x.engine() + " listed twice");
      }
      if (x.slot() < 1 || x.slot() > MAX_SLOTS || !slots.add(x.slot())) {
        throw refused(Reason.INVARIANT, "slot " + x.slot() + " of " + x.engine()
            + " is out of 1.." + MAX_SLOTS + " or taken");
      }
    }
    Member primary = after.member(after.primary()).orElseThrow(() -> refused(Reason.INVARIANT,
        "the primary " + after.primary() + " is not a member"));
    if (primary.state() != State.InSync) {
      throw refused(Reason.INVARIANT, "the primary " + primary.engine() + " is "
          + primary.state() + ", not InSync");
    }
    if ((after.phase() == Phase.Promoting) != (after.promotion() != null)) {
      throw refused(Reason.INVARIANT, "phase " + after.phase() + " with promotion "
          + after.promotion());
    }
    if (before == null) {
      return;
    }
    if (after.epoch() < before.epoch()) {
      throw refused(Reason.INVARIANT, "epoch " + before.epoch() + " would decrease to "
          + after.epoch());
    }
    if (after.generation() < before.generation()) {
      throw refused(Reason.INVARIANT, "generation " + before.generation()
          + " would decrease to " + after.generation());
    }
    if (after.epoch() > before.epoch() && before.member(after.primary())
        .map(x -> x.state() != State.InSync).orElse(true)) {
      throw refused(Reason.INVARIANT, "only an InSync member is promoted; "
          + after.primary() + " was not InSync at epoch " + before.epoch());
    }
    Map<Integer, String> held = before.members().stream()
        .collect(Collectors.toMap(Member::slot, Member::engine));
    for (Member x : after.members()) {
      String holder = held.get(x.slot());
      if (holder != null && !holder.equals(x.engine())) {
        throw refused(Reason.INVARIANT, "slot " + x.slot() + " is " + holder
            + "'s entry and cannot go to " + x.engine());
      }
    }
  }

  /** The phase the members' states give, outside a promotion. */
  static Phase phase(List<Member> members) {
    boolean allInSync = true;
    boolean building = false;
    for (Member x : members) {
      switch (x.state()) {
        case InSync, Removed -> { }
        case Rebuilding, Joining -> {
          building = true;
          allInSync = false;
        }
        case OutOfSync, Fenced -> allInSync = false;
      }
    }
    return allInSync ? Phase.Serving : building ? Phase.Rebuilding : Phase.Degraded;
  }

  private static Membership change(Membership before, long generation, long epoch,
      String primary, Promotion promotion, List<Member> members) {
    Phase phase = promotion != null ? Phase.Promoting : phase(members);
    Membership after = new Membership(epoch, primary, generation, phase, promotion, members);
    check(before, after);
    return after;
  }

  private static void requirePrimary(Membership m, String self, long epoch) {
    if (m.epoch() != epoch || !m.primary().equals(self)) {
      throw refused(Reason.NOT_PRIMARY, self + " acts as primary of epoch " + epoch
          + " but the volume is at epoch " + m.epoch() + " with primary " + m.primary());
    }
  }

  private static Member member(Membership m, String engine) {
    return m.member(engine).orElseThrow(() -> refused(Reason.NOT_ALLOWED, engine
        + " is not a member"));
  }

  private static void requireState(Member member, State... allowed) {
    for (State s : allowed) {
      if (member.state() == s) {
        return;
      }
    }
    throw refused(Reason.NOT_ALLOWED, member.engine() + " is " + member.state()
        + "; this change starts from " + List.of(allowed));
  }

  private static List<Member> replace(Membership m, String engine, UnaryOperator<Member> f) {
    return m.members().stream().map(x -> x.engine().equals(engine) ? f.apply(x) : x).toList();
  }

  private static MembershipRefused refused(Reason reason, String message) {
    return new MembershipRefused(reason, message);
  }
}
