package org.iscsicsi.target.replication;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.iscsicsi.target.transfer.Frame;
import org.junit.jupiter.api.Test;

/**
 * {@link RegionBitmap}: a change marks every 4 MiB region it touches (a range across a boundary
 * both), the marked bytes count a short last region by its length, and a range beyond the LUN
 * is refused rather than marking nothing.
 */
class RegionBitmapTest {

  static final long REGION = Frame.REGION_BYTES;

  @Test
  void marksEveryRegionARangeTouches() {
    RegionBitmap b = new RegionBitmap(10 * REGION + 4096);
    b.mark(0, 1);
    b.mark(3 * REGION - 512, 1024);
    b.mark(5 * REGION, REGION);
    b.mark(7 * REGION, 0);
    assertThat(b.regions()).containsExactly(0, 2, 3, 5);
    assertThat(b.marked(1)).isFalse();
    b.mark(10 * REGION, 4096);
    assertThat(b.regions()).containsExactly(0, 2, 3, 5, 10);
    assertThat(b.markedBytes()).isEqualTo(4 * REGION + 4096);
  }

  @Test
  void refusesRangesBeyondTheLun() {
    RegionBitmap b = new RegionBitmap(2 * REGION);
    assertThatThrownBy(() -> b.mark(2 * REGION - 512, 1024))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> b.mark(-1, 1)).isInstanceOf(IllegalArgumentException.class);
    assertThat(b.regions()).isEmpty();
  }
}
