package org.iscsicsi.target.kube;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.List;
import org.iscsicsi.target.kube.Membership.Member;
import org.iscsicsi.target.kube.Membership.OutSince;
import org.iscsicsi.target.kube.Membership.Phase;
import org.iscsicsi.target.kube.Membership.Promotion;
import org.iscsicsi.target.kube.Membership.Rebuild;
import org.iscsicsi.target.kube.Membership.State;
import org.iscsicsi.target.kube.MembershipRefused.Reason;
import org.junit.jupiter.api.Test;

/**
 * Every row of the membership table of docs/replication.md section 5, each with the writer it
 * needs and the state it starts from, and every invariant a change could break refused with
 * nothing changed: the primary InSync, only an InSync member promoted, the epoch never lower, a
 * slot never reused while its entry exists.
 */
class MembershipTransitionsTest {

  static final Instant NOW = Instant.parse("2026-12-02T12:00:00Z");
  static final String A = "node-a";
  static final String B = "node-b";
  static final String C = "node-c";
  static final String D = "node-d";

  static Membership three() {
    return MembershipTransitions.create(A, List.of(A, B, C), State.InSync, 3, NOW);
  }

  static State state(Membership m, String engine) {
    return m.member(engine).orElseThrow().state();
  }

  @Test
  void createStartsAtEpochOneWithSlotsInOrder() {
    Membership m = three();
    assertThat(m.epoch()).isEqualTo(1);
    assertThat(m.generation()).isEqualTo(1);
    assertThat(m.primary()).isEqualTo(A);
    assertThat(m.phase()).isEqualTo(Phase.Serving);
    assertThat(m.members()).extracting(Member::engine, Member::slot, Member::state)
        .containsExactly(org.assertj.core.groups.Tuple.tuple(A, 1, State.InSync),
            org.assertj.core.groups.Tuple.tuple(B, 2, State.InSync),
            org.assertj.core.groups.Tuple.tuple(C, 3, State.InSync));
    assertThat(m.summary()).isEqualTo("3/3 in sync");
    assertThat(m.ackingReplicas()).containsExactly(B, C);
  }

  @Test
  void createOfACloneBuildsTheReplicas() {
    Membership m = MembershipTransitions.create(B, List.of(A, B), State.Rebuilding, 2, NOW);
    assertThat(state(m, B)).isEqualTo(State.InSync);
    assertThat(state(m, A)).isEqualTo(State.Rebuilding);
    assertThat(m.member(A).orElseThrow().outSince()).isEqualTo(new OutSince(1, 1));
    assertThat(m.phase()).isEqualTo(Phase.Rebuilding);
  }

  @Test
  void createRefusesWhatCannotBe() {
    assertThatThrownBy(() -> MembershipTransitions.create(D, List.of(A, B), State.InSync, 2,
        NOW)).isInstanceOfSatisfying(MembershipRefused.class,
            e -> assertThat(e.reason()).isEqualTo(Reason.INVARIANT));
    assertThatThrownBy(() -> MembershipTransitions.create(A, List.of(A, B), State.InSync, 3,
        NOW)).isInstanceOf(MembershipRefused.class).hasMessageContaining("3 replicas");
    assertThatThrownBy(() -> MembershipTransitions.create(A, List.of(A, A), State.InSync, 2,
        NOW)).isInstanceOf(MembershipRefused.class).hasMessageContaining("listed twice");
    assertThatThrownBy(() -> MembershipTransitions.create(A, List.of(A, B, C, D),
        State.InSync, 4, NOW)).isInstanceOf(MembershipRefused.class);
    assertThatThrownBy(() -> MembershipTransitions.create(A, List.of(A, B), State.OutOfSync, 2,
        NOW)).isInstanceOf(MembershipRefused.class);
  }

  @Test
  void primaryTakesAnInSyncMemberOut() {
    Membership m = MembershipTransitions.outOfSync(three(), A, 1, C, "ack timeout", NOW);
    assertThat(state(m, C)).isEqualTo(State.OutOfSync);
    assertThat(m.member(C).orElseThrow().outSince()).isEqualTo(new OutSince(1, 2));
    assertThat(m.member(C).orElseThrow().reason()).isEqualTo("ack timeout");
    assertThat(m.generation()).isEqualTo(2);
    assertThat(m.phase()).isEqualTo(Phase.Degraded);
    assertThat(m.ackingReplicas()).containsExactly(B);
    assertThat(m.summary()).isEqualTo("2/3 in sync");
  }

  @Test
  void onlyThePrimaryOfTheEpochTakesMembersOut() {
    Membership m = three();
    assertThatThrownBy(() -> MembershipTransitions.outOfSync(m, B, 1, C, "x", NOW))
        .isInstanceOfSatisfying(MembershipRefused.class,
            e -> assertThat(e.reason()).isEqualTo(Reason.NOT_PRIMARY));
    assertThatThrownBy(() -> MembershipTransitions.outOfSync(m, A, 2, C, "x", NOW))
        .isInstanceOfSatisfying(MembershipRefused.class,
            e -> assertThat(e.reason()).isEqualTo(Reason.NOT_PRIMARY));
    assertThatThrownBy(() -> MembershipTransitions.outOfSync(m, A, 1, A, "x", NOW))
        .isInstanceOfSatisfying(MembershipRefused.class,
            e -> assertThat(e.reason()).isEqualTo(Reason.INVARIANT));
    assertThatThrownBy(() -> MembershipTransitions.outOfSync(m, A, 1, D, "x", NOW))
        .isInstanceOf(MembershipRefused.class).hasMessageContaining("not a member");
    Membership out = MembershipTransitions.outOfSync(m, A, 1, C, "x", NOW);
    assertThatThrownBy(() -> MembershipTransitions.outOfSync(out, A, 1, C, "again", NOW))
        .isInstanceOfSatisfying(MembershipRefused.class,
            e -> assertThat(e.reason()).isEqualTo(Reason.NOT_ALLOWED));
  }

  @Test
  void rebuildJoinAndInSyncAgain() {
    Membership out = MembershipTransitions.outOfSync(three(), A, 1, C, "link reset", NOW);
    Rebuild r = new Rebuild("Bitmap", 0, 100, NOW.toString());
    Membership building = MembershipTransitions.rebuilding(out, A, 1, C, r, NOW);
    assertThat(state(building, C)).isEqualTo(State.Rebuilding);
    assertThat(building.phase()).isEqualTo(Phase.Rebuilding);
    assertThat(building.member(C).orElseThrow().outSince()).as("bitmap validity kept")
        .isEqualTo(new OutSince(1, 2));

    Membership progressed = MembershipTransitions.rebuildProgress(building, A, 1, C,
        new Rebuild("Bitmap", 41, 100, NOW.toString()));
    assertThat(progressed.generation()).as("progress is not a change of states")
        .isEqualTo(building.generation());
    assertThat(ReplicatedVolume.encode(progressed)).containsEntry("rebuild", "41%");

    Membership joining = MembershipTransitions.joining(progressed, A, 1, C, NOW);
    assertThat(state(joining, C)).isEqualTo(State.Joining);
    assertThat(joining.ackingReplicas()).as("a joining member's acks count")
        .containsExactly(B, C);
    Membership back = MembershipTransitions.joined(joining, A, 1, C, NOW);
    assertThat(state(back, C)).isEqualTo(State.InSync);
    assertThat(back.member(C).orElseThrow().outSince()).isNull();
    assertThat(back.member(C).orElseThrow().rebuild()).isNull();
    assertThat(back.phase()).isEqualTo(Phase.Serving);
    assertThat(back.generation()).isEqualTo(5);
  }

  @Test
  void rebuildStepsRefusedOutOfOrder() {
    Membership m = three();
    assertThatThrownBy(() -> MembershipTransitions.rebuilding(m, A, 1, C, null, NOW))
        .isInstanceOf(MembershipRefused.class).hasMessageContaining("InSync");
    assertThatThrownBy(() -> MembershipTransitions.joining(m, A, 1, C, NOW))
        .isInstanceOf(MembershipRefused.class);
    assertThatThrownBy(() -> MembershipTransitions.joined(m, A, 1, C, NOW))
        .isInstanceOf(MembershipRefused.class);
    Membership out = MembershipTransitions.outOfSync(m, A, 1, C, "x", NOW);
    assertThatThrownBy(() -> MembershipTransitions.joined(out, A, 1, C, NOW))
        .as("InSync only through the join").isInstanceOf(MembershipRefused.class);
    assertThatThrownBy(() -> MembershipTransitions.rebuilding(out, B, 1, C, null, NOW))
        .isInstanceOfSatisfying(MembershipRefused.class,
            e -> assertThat(e.reason()).isEqualTo(Reason.NOT_PRIMARY));
  }

  @Test
  void aFailedJoinOrRebuildReturnsToOutOfSync() {
    Membership out = MembershipTransitions.outOfSync(three(), A, 1, C, "x", NOW);
    Membership joining = MembershipTransitions.joining(
        MembershipTransitions.rebuilding(out, A, 1, C, null, NOW), A, 1, C, NOW);
    Membership failed = MembershipTransitions.outOfSync(joining, A, 1, C, "join failed", NOW);
    assertThat(state(failed, C)).isEqualTo(State.OutOfSync);
    assertThat(failed.member(C).orElseThrow().outSince()).as("since it first left")
        .isEqualTo(new OutSince(1, 2));
  }

  @Test
  void promoteRaisesTheEpochAndFencesTheOldPrimary() {
    Membership p = MembershipTransitions.promote(three(), "controller-1", 1, B, NOW);
    assertThat(p.epoch()).isEqualTo(2);
    assertThat(p.primary()).isEqualTo(B);
    assertThat(state(p, A)).isEqualTo(State.Fenced);
    assertThat(p.member(A).orElseThrow().outSince()).isEqualTo(new OutSince(2, 2));
    assertThat(p.phase()).isEqualTo(Phase.Promoting);
    assertThat(p.promotion()).isEqualTo(new Promotion(A, B, NOW.toString(), "controller-1"));
    assertThat(p.ackingReplicas()).containsExactly(C);

    // the primary of epoch 2 marks a silent member out during the promotion, then serves
    Membership silent = MembershipTransitions.outOfSync(p, B, 2, C, "silent", NOW);
    assertThat(silent.phase()).isEqualTo(Phase.Promoting);
    Membership serving = MembershipTransitions.serving(silent, B, 2);
    assertThat(serving.promotion()).isNull();
    assertThat(serving.phase()).isEqualTo(Phase.Degraded);
    // the old primary is rebuilt from Fenced
    Membership rebuilding = MembershipTransitions.rebuilding(serving, B, 2, A, null, NOW);
    assertThat(state(rebuilding, A)).isEqualTo(State.Rebuilding);
  }

  @Test
  void promoteRefusals() {
    Membership m = three();
    assertThatThrownBy(() -> MembershipTransitions.promote(m, "c", 0, B, NOW))
        .isInstanceOfSatisfying(MembershipRefused.class,
            e -> assertThat(e.reason()).isEqualTo(Reason.NOT_PRIMARY));
    assertThatThrownBy(() -> MembershipTransitions.promote(m, "c", 1, A, NOW))
        .isInstanceOf(MembershipRefused.class).hasMessageContaining("already the primary");
    Membership out = MembershipTransitions.outOfSync(m, A, 1, C, "x", NOW);
    assertThatThrownBy(() -> MembershipTransitions.promote(out, "c", 1, C, NOW))
        .as("only an InSync member is promoted").isInstanceOf(MembershipRefused.class);
    assertThatThrownBy(() -> MembershipTransitions.promote(m, "c", 1, D, NOW))
        .isInstanceOf(MembershipRefused.class);
  }

  @Test
  void servingOnlyByTheNewPrimaryWhilePromoting() {
    Membership p = MembershipTransitions.promote(three(), "c", 1, B, NOW);
    assertThatThrownBy(() -> MembershipTransitions.serving(p, A, 1))
        .isInstanceOfSatisfying(MembershipRefused.class,
            e -> assertThat(e.reason()).isEqualTo(Reason.NOT_PRIMARY));
    assertThatThrownBy(() -> MembershipTransitions.serving(p, C, 2))
        .isInstanceOfSatisfying(MembershipRefused.class,
            e -> assertThat(e.reason()).isEqualTo(Reason.NOT_PRIMARY));
    Membership s = MembershipTransitions.serving(p, B, 2);
    assertThatThrownBy(() -> MembershipTransitions.serving(s, B, 2))
        .isInstanceOf(MembershipRefused.class).hasMessageContaining("not Promoting");
    assertThatThrownBy(() -> MembershipTransitions.outOfSync(p, A, 1, C, "x", NOW))
        .as("the deposed primary writes nothing more")
        .isInstanceOfSatisfying(MembershipRefused.class,
            e -> assertThat(e.reason()).isEqualTo(Reason.NOT_PRIMARY));
  }

  @Test
  void addTakesTheLowestFreeSlotAndRemoveThenDeleteFreesIt() {
    Membership two = MembershipTransitions.create(A, List.of(A, B), State.InSync, 2, NOW);
    Membership added = MembershipTransitions.add(two, C, 3, NOW);
    assertThat(added.member(C).orElseThrow().slot()).isEqualTo(3);
    assertThat(state(added, C)).isEqualTo(State.Rebuilding);
    assertThatThrownBy(() -> MembershipTransitions.add(added, D, 3, NOW))
        .as("as many members as replicas").isInstanceOf(MembershipRefused.class);
    assertThatThrownBy(() -> MembershipTransitions.add(two, B, 3, NOW))
        .isInstanceOf(MembershipRefused.class).hasMessageContaining("a member already");

    Membership removed = MembershipTransitions.remove(added, B, "replaced", NOW);
    assertThat(state(removed, B)).isEqualTo(State.Removed);
    assertThat(removed.summary()).isEqualTo("1/2 in sync");
    // slot 2 is still B's entry: the next member may not take it, and no slot is left
    assertThatThrownBy(() -> MembershipTransitions.add(removed, D, 3, NOW))
        .isInstanceOf(MembershipRefused.class).hasMessageContaining("no free slot");
  }

  @Test
  void aRemovedEntryKeepsItsSlotUntilDeleted() {
    Membership m = MembershipTransitions.remove(three(), C, "replaced", NOW);
    assertThatThrownBy(() -> MembershipTransitions.add(m, D, 3, NOW))
        .as("slot 3 is C's while its entry exists").isInstanceOf(MembershipRefused.class)
        .hasMessageContaining("no free slot");
    Membership deleted = MembershipTransitions.deleteEntry(m, C);
    assertThat(deleted.member(C)).isEmpty();
    Membership added = MembershipTransitions.add(deleted, D, 3, NOW);
    assertThat(added.member(D).orElseThrow().slot()).isEqualTo(3);
  }

  @Test
  void removeRefusesThePrimaryAndTheLastInSync() {
    Membership m = MembershipTransitions.create(A, List.of(A, B), State.InSync, 2, NOW);
    assertThatThrownBy(() -> MembershipTransitions.remove(m, A, "x", NOW))
        .isInstanceOf(MembershipRefused.class).hasMessageContaining("primary");
    Membership removed = MembershipTransitions.remove(m, B, "x", NOW);
    assertThatThrownBy(() -> MembershipTransitions.remove(removed, B, "x", NOW))
        .isInstanceOf(MembershipRefused.class);
    assertThatThrownBy(() -> MembershipTransitions.deleteEntry(m, B))
        .as("only a Removed entry is deleted").isInstanceOf(MembershipRefused.class);
  }

  @Test
  void invariantsRefusedWhateverTheWriter() {
    Membership m = three();
    List<Member> ms = m.members();
    // the primary must be InSync
    Membership outPrimary = new Membership(1, A, 2, Phase.Degraded, null, List.of(
        ms.get(0).with(State.OutOfSync, "t", null, null), ms.get(1), ms.get(2)));
    assertThatThrownBy(() -> MembershipTransitions.check(m, outPrimary))
        .isInstanceOfSatisfying(MembershipRefused.class,
            e -> assertThat(e.reason()).isEqualTo(Reason.INVARIANT));
    // a primary that is not a member
    assertThatThrownBy(() -> MembershipTransitions.check(m,
        new Membership(1, D, 2, Phase.Serving, null, ms))).isInstanceOf(MembershipRefused.class);
    // the epoch never decreases
    Membership two = MembershipTransitions.promote(m, "c", 1, B, NOW);
    Membership back = new Membership(1, B, 3, Phase.Promoting, two.promotion(), two.members());
    assertThatThrownBy(() -> MembershipTransitions.check(two, back))
        .isInstanceOf(MembershipRefused.class).hasMessageContaining("decrease");
    // generation never decreases
    assertThatThrownBy(() -> MembershipTransitions.check(two,
        new Membership(2, B, 1, Phase.Promoting, two.promotion(), two.members())))
        .isInstanceOf(MembershipRefused.class).hasMessageContaining("generation");
    // only an InSync member is promoted
    Membership out = MembershipTransitions.outOfSync(m, A, 1, C, "x", NOW);
    List<Member> raised = List.of(out.members().get(0),
        out.members().get(1), out.members().get(2).with(State.InSync, "t", null, null));
    assertThatThrownBy(() -> MembershipTransitions.check(out,
        new Membership(2, C, 3, Phase.Serving, null, raised)))
        .isInstanceOf(MembershipRefused.class).hasMessageContaining("only an InSync");
    // a slot never goes to another engine while its entry exists
    List<Member> swapped = List.of(ms.get(0), ms.get(1),
        new Member(D, 3, State.InSync, "t", null, null, null));
    assertThatThrownBy(() -> MembershipTransitions.check(m,
        new Membership(1, A, 2, Phase.Serving, null, swapped)))
        .isInstanceOf(MembershipRefused.class).hasMessageContaining("slot 3");
    // slots unique and in range, engines unique
    assertThatThrownBy(() -> MembershipTransitions.check(null, new Membership(1, A, 1,
        Phase.Serving, null, List.of(ms.get(0), new Member(B, 1, State.InSync, "t", null, null,
            null))))).isInstanceOf(MembershipRefused.class);
    assertThatThrownBy(() -> MembershipTransitions.check(null, new Membership(1, A, 1,
        Phase.Serving, null, List.of(ms.get(0), new Member(B, 4, State.InSync, "t", null, null,
            null))))).isInstanceOf(MembershipRefused.class);
    // Promoting exactly while a promotion is recorded
    assertThatThrownBy(() -> MembershipTransitions.check(null,
        new Membership(1, A, 1, Phase.Promoting, null, ms)))
        .isInstanceOf(MembershipRefused.class);
    // epochs start at 1
    assertThatThrownBy(() -> MembershipTransitions.check(null,
        new Membership(0, A, 1, Phase.Serving, null, ms))).isInstanceOf(MembershipRefused.class);
  }

  @Test
  void encodedAndDecodedAlike() {
    Membership m = MembershipTransitions.rebuilding(
        MembershipTransitions.outOfSync(MembershipTransitions.promote(three(), "c", 1, B, NOW),
            B, 2, C, "silent", NOW), B, 2, A, new Rebuild("FullVerify", 1, 2, "t"), NOW);
    assertThat(ReplicatedVolume.decode(ReplicatedVolume.encode(m))).isEqualTo(m);
  }
}
