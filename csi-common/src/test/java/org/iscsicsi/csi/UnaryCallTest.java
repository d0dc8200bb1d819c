package org.iscsicsi.csi;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * How every CSI call is answered: the result then completion; a status exception as it is; the
 * body's checked refusal through the caller's mapping; any other exception as INTERNAL.
 */
class UnaryCallTest {

  static final class Refused extends Exception {
    Refused(String m) {
      super(m);
    }
  }

  static final class Recorder implements StreamObserver<String> {
    final List<String> values = new ArrayList<>();
    Throwable error;
    boolean completed;

    @Override
    public void onNext(String v) {
      values.add(v);
    }

    @Override
    public void onError(Throwable t) {
      error = t;
    }

    @Override
    public void onCompleted() {
      completed = true;
    }
  }

  @Test
  void resultThenCompletion() {
    Recorder r = new Recorder();
    UnaryCall.answer(r, () -> "ok");
    assertThat(r.values).containsExactly("ok");
    assertThat(r.completed).isTrue();
    assertThat(r.error).isNull();
  }

  @Test
  void statusExceptionsPassThrough() {
    Recorder r = new Recorder();
    UnaryCall.answer(r, () -> {
      throw Status.NOT_FOUND.withDescription("no such volume").asRuntimeException();
    });
    assertThat(Status.fromThrowable(r.error).getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(r.values).isEmpty();
    assertThat(r.completed).isFalse();
  }

  @Test
  void checkedRefusalsAreMappedAndBugsAreInternal() {
    Recorder refused = new Recorder();
    UnaryCall.<String, Refused>answer(refused, () -> {
      throw new Refused("busy");
    }, e -> Status.UNAVAILABLE.withDescription(e.getMessage()).asRuntimeException());
    assertThat(((StatusRuntimeException) refused.error).getStatus().getCode())
        .isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(refused.error).hasMessageContaining("busy");

    Recorder bug = new Recorder();
    UnaryCall.answer(bug, () -> {
      throw new IllegalStateException("oops");
    });
    assertThat(Status.fromThrowable(bug.error).getCode()).isEqualTo(Status.Code.INTERNAL);
    assertThat(bug.error).hasMessageContaining("oops");
  }
}
