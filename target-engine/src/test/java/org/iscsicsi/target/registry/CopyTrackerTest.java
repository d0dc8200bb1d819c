package org.iscsicsi.target.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.target.registry.RegistryException.Reason;
import org.iscsicsi.target.state.LunRecord;
import org.junit.jupiter.api.Test;

/**
 * Pins the copy bookkeeping the registry relies on: a started copy is found under its key until it
 * ends and its end wakes waiters; a source read by two copies stays busy until both end; the busy
 * checks see both a copy's destination and its source, and a target's prefix does not match a
 * target whose name merely starts the same; reserved identities are given back when the copy
 * ends; waiting for a copy that ended abnormally returns instead of throwing.
 */
class CopyTrackerTest {

  private final CopyTracker copies = new CopyTracker();

  @Test
  void aStartedCopyIsRunningUntilItEndsAndItsEndWakesWaiters() throws Exception {
    String key = CopyTracker.snapshot("s1");
    assertThat(copies.running(key)).isNull();
    copies.start(key, null);
    CompletableFuture<Void> running = copies.running(key);
    assertThat(running).isNotNull().isNotDone();
    Thread waiter = Thread.ofPlatform().start(() -> CopyTracker.awaitEnd(running));
    copies.end(key, null, null);
    waiter.join(TimeUnit.SECONDS.toMillis(10));
    assertThat(waiter.isAlive()).isFalse();
    assertThat(running).isCompleted();
    assertThat(copies.running(key)).isNull();
    assertThat(copies.inUse(key)).isFalse();
  }

  @Test
  void aSourceReadByTwoCopiesStaysBusyUntilBothEnd() {
    String source = CopyTracker.lun("iqn.2026-11.org.example:t1", 0);
    copies.start(CopyTracker.snapshot("a"), source);
    copies.start(CopyTracker.snapshot("b"), source);
    copies.end(CopyTracker.snapshot("a"), source, null);
    assertThat(copies.inUse(source)).isTrue();
    copies.end(CopyTracker.snapshot("b"), source, null);
    assertThat(copies.inUse(source)).isFalse();
  }

  @Test
  void busyChecksSeeDestinationsSourcesAndWholeTargets() {
    String t1 = "iqn.2026-11.org.example:t1";
    copies.start(CopyTracker.lun(t1, 3), CopyTracker.snapshotFile("snap"));
    assertThat(copies.inUse(CopyTracker.lun(t1, 3))).isTrue();
    assertThat(copies.inUse(CopyTracker.snapshotFile("snap"))).isTrue();
    assertThat(copies.inUse(CopyTracker.lun(t1, 4))).isFalse();
    assertThat(copies.anyInUseUnder(CopyTracker.lunsOf(t1))).isTrue();
    assertThat(copies.anyInUseUnder(CopyTracker.lunsOf(t1 + "0"))).isFalse();
    assertThatThrownBy(() -> copies.requireIdle(CopyTracker.snapshotFile("snap"), "snapshot snap"))
        .isInstanceOfSatisfying(RegistryException.class,
            e -> assertThat(e.reason()).isEqualTo(Reason.FAILED_PRECONDITION))
        .hasMessageStartingWith("snapshot snap is being copied");
    copies.requireIdle(CopyTracker.lun(t1, 4), "LUN 4"); // not busy: no exception
  }

  @Test
  void reservedIdentitiesAreGivenBackWhenTheCopyEnds() {
    LunIdentity.Identity id = LunIdentity.next(Set.of(), Set.of());
    String key = CopyTracker.lun("iqn.2026-11.org.example:t1", 1);
    copies.start(key, null);
    copies.reserve(id);
    assertThat(copies.reservedIdentities()).containsExactlyInAnyOrder(id.serial(), id.naa());
    LunRecord rec = new LunRecord(1, "/tmp/x.img", 1 << 20, 512, true, false, id.serial(),
        id.naa());
    copies.end(key, null, rec);
    assertThat(copies.reservedIdentities()).isEmpty();
  }

  @Test
  void awaitingACopyThatEndedAbnormallyReturns() {
    CompletableFuture<Void> failed = new CompletableFuture<>();
    failed.completeExceptionally(new IllegalStateException("copy failed"));
    CopyTracker.awaitEnd(failed);
    CompletableFuture<Void> cancelled = new CompletableFuture<>();
    cancelled.cancel(false);
    CopyTracker.awaitEnd(cancelled);
  }
}
