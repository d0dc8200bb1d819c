package org.iscsicsi.target.kube;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.iscsicsi.target.v1.BackendCapacity;
import org.iscsicsi.target.v1.EngineInfo;

/**
 * The engine's {@code status.report} of its IscsiEngine object (docs/pools.md, section 2), in
 * the CRD's field names.
 *
 * @param info what GetEngineInfo answers
 * @param snapshots how many snapshots the engine holds
 * @param topology the Node's labels named by the topology keys
 * @param shuttingDown true once the engine was told to stop
 */
record EngineReport(RegistrationSettings settings, EngineInfo info, int snapshots,
    Map<String, String> topology, boolean shuttingDown) {

  /** The report as the JSON object written to {@code status.report}, stamped {@code now}. */
  Map<String, Object> toMap(Instant now) {
    Map<String, Object> r = new LinkedHashMap<>(withoutTimeAndUsage());
    r.put("backends", info.getBackendsList().stream().map(EngineReport::backend).toList());
    r.put("reportedAt", now.truncatedTo(ChronoUnit.SECONDS).toString());
    return r;
  }

  /**
   * What a change is reported at once for: every field but the time and the bytes free and
   * allocated, which move with every write and ride on the periodic report.
   */
  Map<String, Object> changeKey() {
    Map<String, Object> key = new LinkedHashMap<>(withoutTimeAndUsage());
    key.put("backends", info.getBackendsList().stream()
        .map(b -> List.of(b.getName(), b.getType(), b.getTotalBytes(), b.getProvisionedBytes()))
        .toList());
    return key;
  }

  private Map<String, Object> withoutTimeAndUsage() {
    long total = 0;
    long provisioned = 0;
    for (BackendCapacity b : info.getBackendsList()) {
      total += b.getTotalBytes();
      provisioned += b.getProvisionedBytes();
    }
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("node", settings.node());
    r.put("incarnation", settings.incarnation());
    r.put("version", info.getVersion());
    r.put("portals", List.copyOf(info.getPortalsList()));
    r.put("portal", info.getPortalsCount() == 0 ? "" : info.getPortals(0));
    r.put("adminAddress", settings.adminAddress());
    r.put("replicationAddress", settings.replicationAddress());
    r.put("topology", new TreeMap<>(topology));
    r.put("capacity", Quantities.binary(total));
    r.put("allocated", Quantities.share(provisioned, total));
    r.put("volumes", info.getTargetCount());
    r.put("snapshots", snapshots);
    r.put("sessions", info.getSessionCount());
    r.put("shuttingDown", shuttingDown);
    return r;
  }

  private static Map<String, Object> backend(BackendCapacity b) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", b.getName());
    m.put("type", b.getType());
    m.put("totalBytes", b.getTotalBytes());
    m.put("availableBytes", b.getAvailableBytes());
    m.put("provisionedBytes", b.getProvisionedBytes());
    m.put("allocatedBytes", b.getAllocatedBytes());
    return m;
  }
}
