package org.iscsicsi.target.qos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Which limits are accepted, and that a refusal names every figure out of range. */
class QosLimitsTest {

  /** Zero is "no limit"; in-range figures are kept. */
  @Test
  void acceptsZeroAndRangedFigures() {
    assertThat(QosLimits.NONE.limited()).isFalse();
    QosLimits l = new QosLimits(1, 0, QosLimits.MIN_BYTES_PER_SECOND, QosLimits.MAX_RATE, 1000);
    assertThat(l.limited()).isTrue();
    assertThat(l.toString()).contains("read IOPS 1").contains("burst 1000 ms");
  }

  /** Negative, too small, too large and an overlong burst are refused, each named. */
  @Test
  void refusesOutOfRange() {
    assertThatThrownBy(() -> new QosLimits(-1, 0, 100, 0, -5))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("read IOPS must be 0 (no limit) or 1 to")
        .hasMessageContaining("read bytes per second must be 0 (no limit) or 65536")
        .hasMessageContaining("burst must be 0 to 3600000 ms, not -5");
    assertThatThrownBy(() -> new QosLimits(0, QosLimits.MAX_RATE + 1, 0, 0, 0))
        .hasMessageContaining("write IOPS");
    assertThatThrownBy(() -> new QosLimits(0, 0, 0, 0, QosLimits.MAX_BURST_MILLIS + 1))
        .hasMessageContaining("burst");
  }
}
