package org.iscsicsi.controller.engine;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What the controller reads from a pool engine's {@code IscsiEngine} object (docs/pools.md
 * section 2): the operator's {@code spec}, whether it is being deleted, and the engine's own
 * {@code status.report}.
 *
 * @param name the object's name, the engine's name
 * @param adminAddress {@code report.adminAddress}, {@code host:port} ("" until reported)
 * @param incarnation {@code report.incarnation} ("" until reported)
 * @param portals {@code report.portals}, what initiators are told
 * @param topology {@code report.topology}
 * @param unschedulable {@code spec.unschedulable} (cordon)
 * @param drain {@code spec.drain}
 * @param deleting {@code metadata.deletionTimestamp} is set
 */
public record EngineObject(String name, String adminAddress, String incarnation,
    List<String> portals, Map<String, String> topology, boolean unschedulable, boolean drain,
    boolean deleting) {

  public EngineObject {
    Objects.requireNonNull(name, "name");
    adminAddress = Objects.requireNonNullElse(adminAddress, "");
    incarnation = Objects.requireNonNullElse(incarnation, "");
    portals = List.copyOf(portals);
    topology = Map.copyOf(topology);
  }
}
