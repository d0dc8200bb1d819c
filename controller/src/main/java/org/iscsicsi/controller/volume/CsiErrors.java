package org.iscsicsi.controller.volume;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/**
 * The gRPC errors the CSI spec prescribes ("Error Scheme" and each RPC's error table), built with
 * a message that says what was wrong. Messages never carry secret values.
 */
public final class CsiErrors {

  private CsiErrors() {}

  public static StatusRuntimeException invalid(String message) {
    return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
  }

  public static StatusRuntimeException notFound(String message) {
    return Status.NOT_FOUND.withDescription(message).asRuntimeException();
  }

  public static StatusRuntimeException alreadyExists(String message) {
    return Status.ALREADY_EXISTS.withDescription(message).asRuntimeException();
  }

  public static StatusRuntimeException outOfRange(String message) {
    return Status.OUT_OF_RANGE.withDescription(message).asRuntimeException();
  }

  public static StatusRuntimeException failedPrecondition(String message) {
    return Status.FAILED_PRECONDITION.withDescription(message).asRuntimeException();
  }

  public static StatusRuntimeException exhausted(String message) {
    return Status.RESOURCE_EXHAUSTED.withDescription(message).asRuntimeException();
  }

  public static StatusRuntimeException unavailable(String message) {
    return Status.UNAVAILABLE.withDescription(message).asRuntimeException();
  }

  public static StatusRuntimeException aborted(String message) {
    return Status.ABORTED.withDescription(message).asRuntimeException();
  }

  /** True when {@code e} is a gRPC error with this code. */
  public static boolean is(Throwable e, Status.Code code) {
    return Status.fromThrowable(e).getCode() == code && e instanceof StatusRuntimeException;
  }
}
