package org.iscsicsi.target.registry;

/**
 * A refused or failed registry operation. The reason maps one to one onto the gRPC status codes
 * of target.v1; the message is safe to show (it never holds a secret).
 */
public final class RegistryException extends RuntimeException {

  /** Why an operation did not happen. */
  public enum Reason {
    INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, RESOURCE_EXHAUSTED,
    OUT_OF_RANGE,
    INTERNAL
  }

  private final Reason reason;

  public RegistryException(Reason reason, String message) {
    super(message);
    this.reason = reason;
  }

  public RegistryException(Reason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }

  public static RegistryException invalid(String message) {
    return new RegistryException(Reason.INVALID_ARGUMENT, message);
  }

  public static RegistryException notFound(String message) {
    return new RegistryException(Reason.NOT_FOUND, message);
  }
}
