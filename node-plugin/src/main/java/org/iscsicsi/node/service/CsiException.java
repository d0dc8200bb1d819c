package org.iscsicsi.node.service;

import io.grpc.Status;

/**
 * A failure with the gRPC status code the CSI spec prescribes for it (CSI spec, "Error Scheme"
 * of each Node RPC) and a message that tells the operator what was wrong. Messages never carry
 * secret values.
 */
public final class CsiException extends Exception {

  private final Status.Code code;

  public CsiException(Status.Code code, String message) {
    super(message);
    this.code = code;
  }

  public CsiException(Status.Code code, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  public Status.Code code() {
    return code;
  }

  public static CsiException invalid(String message) {
    return new CsiException(Status.Code.INVALID_ARGUMENT, message);
  }

  public io.grpc.StatusException toStatus() {
    return Status.fromCode(code).withDescription(getMessage()).asException();
  }
}
