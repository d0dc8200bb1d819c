package org.iscsicsi.target.kube;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What an engine registers as and how often it writes.
 *
 * @param engine the engine's name (the IscsiEngine object's and the Lease's)
 * @param incarnation this start's id; the Lease holder is {@code <engine>/<incarnation>}
 * @param node the Node it runs on, whose labels gate registration and give the topology
 * @param namespace where the Lease lives (the release namespace)
 * @param topologyKeys the Node labels copied into {@code report.topology}
 * @param adminAddress host:port of the admin API as the controller dials it ("" when none)
 * @param replicationAddress host:port of the replication listener ("" when none)
 * @param renewInterval how often the Lease is renewed (2 s)
 * @param leaseDuration the Lease's leaseDurationSeconds (6 s)
 * @param reportInterval how often {@code status.report} is written without a change (15 s)
 * @param changePoll how often the engine is looked at for a change worth reporting at once
 */
public record RegistrationSettings(String engine, String incarnation, String node,
    String namespace, List<String> topologyKeys, String adminAddress, String replicationAddress,
    Duration renewInterval, Duration leaseDuration, Duration reportInterval,
    Duration changePoll) {

  public static final Duration RENEW_INTERVAL = Duration.ofSeconds(2);
  public static final Duration LEASE_DURATION = Duration.ofSeconds(6);
  public static final Duration REPORT_INTERVAL = Duration.ofSeconds(15);
  public static final Duration CHANGE_POLL = Duration.ofSeconds(1);

  public RegistrationSettings {
    Objects.requireNonNull(engine, "engine");
    Objects.requireNonNull(incarnation, "incarnation");
    requireNodeAndNamespace(node, namespace);
    topologyKeys = List.copyOf(topologyKeys == null ? List.of() : topologyKeys);
    adminAddress = adminAddress == null ? "" : adminAddress;
    replicationAddress = replicationAddress == null ? "" : replicationAddress;
    if (renewInterval.compareTo(leaseDuration) >= 0) {
      throw new IllegalArgumentException("the Lease must be renewed more often than it lasts");
    }
  }

  /** Registration needs the node's name and the Lease's namespace; says which flag is missing. */
  public static void requireNodeAndNamespace(String node, String namespace) {
    if (node == null || node.isBlank()) {
      throw new IllegalArgumentException("--kubernetes needs the node's name: --node or "
          + "$NODE_NAME");
    }
    if (namespace == null || namespace.isBlank()) {
      throw new IllegalArgumentException("--kubernetes needs the namespace of the engine's "
          + "Lease: --namespace or $POD_NAMESPACE");
    }
  }

  /** The design's intervals: renew every 2 s, Lease of 6 s, report every 15 s. */
  public static RegistrationSettings of(String engine, String incarnation, String node,
      String namespace, List<String> topologyKeys, String adminAddress) {
    return new RegistrationSettings(engine, incarnation, node, namespace, topologyKeys,
        adminAddress, "", RENEW_INTERVAL, LEASE_DURATION, REPORT_INTERVAL, CHANGE_POLL);
  }
}
