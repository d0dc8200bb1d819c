package org.iscsicsi.target.replication;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The ranges a member keeps for a promotion's reconcile: the newest first kept, at most
 * {@link RecentWrites#MAX_ENTRIES} of them and at most the replication window of written bytes
 * (unmaps count as entries, not bytes), oldest dropped first.
 */
class RecentWritesTest {

  @Test
  void keepsTheNewestWithinTheEntryAndWindowBounds() {
    RecentWrites r = new RecentWrites();
    for (int i = 0; i < RecentWrites.MAX_ENTRIES + 10; i++) {
      r.add(i * 4096L, 4096, false);
    }
    assertThat(r.snapshot()).hasSize(RecentWrites.MAX_ENTRIES);
    assertThat(r.snapshot().getFirst().offset()).isEqualTo(10 * 4096L);

    RecentWrites big = new RecentWrites();
    int region = 4 << 20;
    for (int i = 0; i < 10; i++) {
      big.add((long) i * region, region, false);
    }
    big.add(0, 1L << 40, true); // an unmap of a huge range takes no window bytes
    assertThat(big.snapshot()).hasSize(ReplicaLink.WINDOW_BYTES / region + 1);
    assertThat(big.snapshot().getFirst().offset()).isEqualTo(2L * region);
    assertThat(big.snapshot().getLast().unmap()).isTrue();
  }
}
