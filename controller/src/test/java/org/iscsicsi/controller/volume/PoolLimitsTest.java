package org.iscsicsi.controller.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.Test;

/**
 * Pool limits: a StorageClass lowers the controller's ratio and largest volume but cannot raise
 * them (INVALID_ARGUMENT), sets them where the controller has none; the headroom is what the
 * ratio leaves of the pool, never negative and without overflow; byte quantities as in a PVC.
 */
class PoolLimitsTest {

  @Test
  void aClassLowersButNeverRaises() {
    PoolLimits controller = new PoolLimits(2, 100L << 30);
    assertThat(controller.narrowedBy(PoolLimits.NONE)).isEqualTo(controller);
    assertThat(controller.narrowedBy(new PoolLimits(1.5, 10L << 30)))
        .isEqualTo(new PoolLimits(1.5, 10L << 30));
    assertThatThrownBy(() -> controller.narrowedBy(new PoolLimits(3, 0)))
        .isInstanceOf(StatusRuntimeException.class).hasMessageContaining("INVALID_ARGUMENT")
        .hasMessageContaining("overcommitRatio");
    assertThatThrownBy(() -> controller.narrowedBy(new PoolLimits(0, 200L << 30)))
        .isInstanceOf(StatusRuntimeException.class).hasMessageContaining("maxVolumeSize");
    assertThat(PoolLimits.NONE.narrowedBy(new PoolLimits(4, 1 << 20)))
        .isEqualTo(new PoolLimits(4, 1 << 20));
  }

  @Test
  void headroomIsWhatTheRatioLeaves() {
    assertThat(new PoolLimits(1, 0).headroom(1000, 400)).isEqualTo(600);
    assertThat(new PoolLimits(2.5, 0).headroom(1000, 400)).isEqualTo(2100);
    assertThat(new PoolLimits(1, 0).headroom(1000, 5000)).isZero();
    assertThat(new PoolLimits(1e6, 0).headroom(Long.MAX_VALUE, 0)).isEqualTo(Long.MAX_VALUE);
    assertThat(PoolLimits.NONE.headroom(1000, 5000)).isEqualTo(Long.MAX_VALUE);
    assertThat(new PoolLimits(0, 0).largestVolume()).isEqualTo(Long.MAX_VALUE);
    assertThatThrownBy(() -> new PoolLimits(-1, 0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new PoolLimits(Double.NaN, 0))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void byteQuantitiesReadLikeAPvcsSize() {
    assertThat(ByteQuantity.parse("1073741824")).isEqualTo(1L << 30);
    assertThat(ByteQuantity.parse("100Gi")).isEqualTo(100L << 30);
    assertThat(ByteQuantity.parse("500G")).isEqualTo(500_000_000_000L);
    assertThat(ByteQuantity.parse(" 2Ti ")).isEqualTo(2L << 40);
    for (String bad : new String[] {"", "0", "1.5Gi", "10GB", "-1", "9999999Pi", "Gi"}) {
      assertThatThrownBy(() -> ByteQuantity.parse(bad)).as(bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }
}
