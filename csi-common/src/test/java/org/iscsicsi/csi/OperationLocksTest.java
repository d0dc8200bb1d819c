package org.iscsicsi.csi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.Test;

/** One operation per key: a second is ABORTED naming both, other keys proceed, release frees. */
class OperationLocksTest {

  @Test
  void secondOperationOnAKeyIsAbortedUntilTheFirstEnds() {
    OperationLocks locks = new OperationLocks();
    OperationLocks.Held first = locks.acquire("vol-1", "NodeStageVolume");
    assertThatThrownBy(() -> locks.acquire("vol-1", "NodeUnstageVolume"))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e ->
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.ABORTED))
        .hasMessageContaining("NodeStageVolume is still running for vol-1")
        .hasMessageContaining("NodeUnstageVolume will be retried");
    locks.acquire("vol-2", "NodeStageVolume").close();
    first.close();
    locks.acquire("vol-1", "NodeUnstageVolume").close();
  }
}
