package org.iscsicsi.target.kube;

/**
 * A membership change that {@link MembershipTransitions} refuses: the writer is not who the
 * change needs (the epoch moved, another engine is primary, the object exists), the member is
 * not in a state the change starts from, or the result would break an invariant. Nothing is
 * written.
 */
public final class MembershipRefused extends RuntimeException {

  /** Why, so callers can tell a lost primacy from a wrong request. */
  public enum Reason {
    /** The caller is not the primary of the epoch it names, or the epoch moved on. */
    NOT_PRIMARY,
    /** The object (or the membership) already exists, or is missing. */
    EXISTENCE,
    /** The member or volume is not in a state this change starts from. */
    NOT_ALLOWED,
    /** The result would break an invariant of docs/replication.md, section 5. */
    INVARIANT
  }

  private final Reason reason;

  public MembershipRefused(Reason reason, String message) {
    super(message);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}
