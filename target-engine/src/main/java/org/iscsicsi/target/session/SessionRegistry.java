package org.iscsicsi.target.session;

import java.util.List;

/** The live sessions of an engine, as the admin API sees them. */
public interface SessionRegistry {

  List<SessionInfo> sessions();

  /**
   * Closes the sessions of one initiator to one target (every initiator when {@code initiatorName}
   * is null), dropping their tasks.
   *
   * @return how many sessions were closed
   */
  int close(String targetName, String initiatorName);

  /** Counts of finished logins by Login Response status, for metrics. */
  default java.util.Map<Integer, Long> loginOutcomes() {
    return java.util.Map.of();
  }
}
