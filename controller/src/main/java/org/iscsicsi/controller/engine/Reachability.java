package org.iscsicsi.controller.engine;

/**
 * Whether the controller can use a pool engine, and why not, as the {@code Reachable} condition
 * of its IscsiEngine states it (the {@code reason} is the condition's).
 */
public enum Reachability {
  /** Lease fresh, and the admin API answered as this engine and incarnation. */
  ANSWERING(true, "Answering"),
  /** Lease fresh, the first answer of this incarnation not in yet (joined or restarted). */
  JOINING(false, "Joining"),
  /** No Lease {@code iscsi-engine-<name>}, or one held by another name. */
  LEASE_MISSING(false, "LeaseMissing"),
  /** The Lease was not renewed within its duration. */
  LEASE_EXPIRED(false, "LeaseExpired"),
  /** Probes failed several times in a row. */
  PROBES_FAILING(false, "ProbesFailing"),
  /** The admin API at the reported address answers as another engine. */
  WRONG_ENGINE(false, "WrongEngine"),
  /** The engine does not report an admin address yet. */
  NO_ADDRESS(false, "NoAdminAddress");

  private final boolean usable;
  private final String reason;

  Reachability(boolean usable, String reason) {
    this.usable = usable;
    this.reason = reason;
  }

  public boolean usable() {
    return usable;
  }

  /** The reason of the Reachable condition. */
  public String reason() {
    return reason;
  }

  /** Whether this is settled enough to write and announce (a join in progress is not). */
  public boolean settled() {
    return this != JOINING;
  }
}
