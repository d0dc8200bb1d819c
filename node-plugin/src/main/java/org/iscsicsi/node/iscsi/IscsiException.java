package org.iscsicsi.node.iscsi;

/**
 * An iscsiadm operation that failed, classified by open-iscsi's exit code (iscsi_err.h) so the
 * node service can answer with the right gRPC status and an actionable message.
 */
public class IscsiException extends Exception {

  /** What went wrong, from the operator's point of view. */
  public enum Kind {
    /** CHAP rejected (exit 24) or mutual CHAP / digest refused (exit 19). */
    AUTH_FAILED,
    /** The portal did not answer or the connection broke (exit 4, 8, 11). */
    UNREACHABLE,
    /** The target is not offered by the portal (discovery) or unknown. */
    TARGET_NOT_FOUND,
    /** iscsid is not running or not reachable (exit 18, 20). */
    ISCSID_DOWN,
    /** Anything else. */
    OTHER
  }

  private final Kind kind;
  private final int exitCode;

  public IscsiException(Kind kind, int exitCode, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
    this.exitCode = exitCode;
  }

  public Kind kind() {
    return kind;
  }

  public int exitCode() {
    return exitCode;
  }

  static Kind classify(int exitCode) {
    return switch (exitCode) {
      case 19, 24 -> Kind.AUTH_FAILED;
      case 4, 8, 11, 32 -> Kind.UNREACHABLE;
      case 18, 20 -> Kind.ISCSID_DOWN;
      default -> Kind.OTHER;
    };
  }
}
