package org.iscsicsi.controller.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import csi.v1.Csi.CapacityRange;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.Test;

/** Capacity ranges to LUN sizes: whole blocks, the default, limits, the source's floor. */
class CapacityTest {

  static CapacityRange range(long required, long limit) {
    return CapacityRange.newBuilder().setRequiredBytes(required).setLimitBytes(limit).build();
  }

  @Test
  void roundsUpToWholeBlocks() {
    assertThat(Capacity.size(range(1, 0), 512, 0)).isEqualTo(512);
    assertThat(Capacity.size(range(4097, 0), 4096, 0)).isEqualTo(8192);
    assertThat(Capacity.size(range(1 << 20, 1 << 20), 512, 0)).isEqualTo(1 << 20);
  }

  @Test
  void defaultsToOneGibibyteWithinTheLimit() {
    assertThat(Capacity.size(range(0, 0), 512, 0)).isEqualTo(1L << 30);
    assertThat(Capacity.size(range(0, 1000), 512, 0)).isEqualTo(512);
    assertThat(Capacity.size(range(0, 0), 512, 3 << 20)).isEqualTo(3 << 20);
  }

  @Test
  void sizesThatCannotBeMetAreOutOfRange() {
    assertCode(() -> Capacity.size(range(100, 200), 512, 0), Status.Code.OUT_OF_RANGE);
    assertCode(() -> Capacity.size(range(0, 1 << 20), 512, 2 << 20), Status.Code.OUT_OF_RANGE);
    assertCode(() -> Capacity.size(range(10, 5), 512, 0), Status.Code.INVALID_ARGUMENT);
    assertCode(() -> Capacity.size(range(-1, 0), 512, 0), Status.Code.INVALID_ARGUMENT);
  }

  @Test
  void existingSizesSatisfyRanges() {
    assertThat(Capacity.satisfies(range(100, 0), 512)).isTrue();
    assertThat(Capacity.satisfies(range(1024, 0), 512)).isFalse();
    assertThat(Capacity.satisfies(range(0, 256), 512)).isFalse();
  }

  static void assertCode(org.assertj.core.api.ThrowableAssert.ThrowingCallable c,
      Status.Code code) {
    assertThatThrownBy(c).isInstanceOf(StatusRuntimeException.class)
        .extracting(e -> ((StatusRuntimeException) e).getStatus().getCode()).isEqualTo(code);
  }
}
