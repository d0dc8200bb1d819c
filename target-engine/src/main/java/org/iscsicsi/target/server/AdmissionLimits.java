package org.iscsicsi.target.server;

import java.time.Duration;

/**
 * Bounds on what one source address, and all of them together, may hold of the portal.
 *
 * @param connectionsPerSource open TCP connections from one address (logged in or not); more are
 *     closed as soon as they are accepted
 * @param discoverySessions discovery sessions open at once, over all sources; 16-bit TSIHs are
 *     shared with normal sessions, and this keeps discovery from taking more than a sliver of them
 * @param discoverySessionsPerSource discovery sessions open at once from one address
 * @param failuresBeforeBackoff authentication failures from one address within {@code
 *     failureWindow} after which its logins are refused for a while
 * @param failureWindow how long a failure counts
 * @param firstBackoff how long the first backoff lasts; each further one doubles, up to {@code
 *     maxBackoff}
 * @param trackedSources most source addresses whose failures are remembered (oldest forgotten
 *     first), so a flood of addresses cannot grow the table
 */
public record AdmissionLimits(int connectionsPerSource, int discoverySessions,
    int discoverySessionsPerSource, int failuresBeforeBackoff, Duration failureWindow,
    Duration firstBackoff, Duration maxBackoff, int trackedSources) {

  public static final int DEFAULT_CONNECTIONS_PER_SOURCE = 64;
  public static final int DEFAULT_DISCOVERY_SESSIONS = 256;
  public static final int DEFAULT_DISCOVERY_SESSIONS_PER_SOURCE = 8;

  public AdmissionLimits {
    positive("connections per source", connectionsPerSource);
    positive("discovery sessions", discoverySessions);
    positive("discovery sessions per source", discoverySessionsPerSource);
    positive("failures before backoff", failuresBeforeBackoff);
    positive("tracked sources", trackedSources);
    if (failureWindow.isNegative() || failureWindow.isZero() || firstBackoff.isNegative()
        || maxBackoff.compareTo(firstBackoff) < 0) {
      throw new IllegalArgumentException("backoff durations must be positive, first <= max");
    }
  }

  /** 64 connections and 8 discovery sessions per address, 256 discovery sessions, backoff of
   * 2 s doubling to 5 min after 5 authentication failures within a minute, 4096 sources. */
  public static AdmissionLimits defaults() {
    return new AdmissionLimits(DEFAULT_CONNECTIONS_PER_SOURCE, DEFAULT_DISCOVERY_SESSIONS,
        DEFAULT_DISCOVERY_SESSIONS_PER_SOURCE, 5, Duration.ofMinutes(1), Duration.ofSeconds(2),
        Duration.ofMinutes(5), 4096);
  }

  public AdmissionLimits withConnectionsPerSource(int n) {
    return new AdmissionLimits(n, discoverySessions, discoverySessionsPerSource,
        failuresBeforeBackoff, failureWindow, firstBackoff, maxBackoff, trackedSources);
  }

  public AdmissionLimits withDiscoverySessions(int total, int perSource) {
    return new AdmissionLimits(connectionsPerSource, total, perSource, failuresBeforeBackoff,
        failureWindow, firstBackoff, maxBackoff, trackedSources);
  }

  public AdmissionLimits withBackoff(int failures, Duration window, Duration first,
      Duration max) {
    return new AdmissionLimits(connectionsPerSource, discoverySessions,
        discoverySessionsPerSource, failures, window, first, max, trackedSources);
  }

  private static void positive(String what, int n) {
    if (n < 1) {
      throw new IllegalArgumentException(what + " must be at least 1, not " + n);
    }
  }
}
