package org.iscsicsi.controller.service;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;

/** Asserts that a call fails with a given gRPC status code. */
public final class GrpcAssert {

  private GrpcAssert() {}

  public static void assertCode(ThrowingCallable call, Status.Code code) {
    assertThatThrownBy(call).isInstanceOf(StatusRuntimeException.class)
        .extracting(e -> ((StatusRuntimeException) e).getStatus().getCode())
        .isEqualTo(code);
  }

  /** As {@link #assertCode(ThrowingCallable, Status.Code)}, with a description containing this. */
  public static void assertCode(ThrowingCallable call, Status.Code code, String described) {
    assertThatThrownBy(call).isInstanceOf(StatusRuntimeException.class)
        .satisfies(e -> {
          Status s = ((StatusRuntimeException) e).getStatus();
          org.assertj.core.api.Assertions.assertThat(s.getCode()).isEqualTo(code);
          org.assertj.core.api.Assertions.assertThat(s.getDescription()).contains(described);
        });
  }
}
