package org.iscsicsi.controller.engine;

import java.util.List;
import java.util.Map;

/**
 * One target engine the controller places volumes on, as the controller sees it now. The record
 * is a snapshot: a directory of engines replaces it when the engine's status changes.
 *
 * @param name short name, the first part of every volume and snapshot id on it (in pool mode
 *     the name inside the pool; ids there start with {@code pool.})
 * @param client its target.v1 client
 * @param topology the segments nodes must match to reach it (empty: reachable from everywhere)
 * @param portals portals to tell nodes instead of the engine's own (empty: ask the engine)
 * @param status whether volumes may be placed here and whether calls to it can succeed
 */
public record Engine(String name, EngineClient client, Map<String, String> topology,
    List<String> portals, EngineStatus status) {

  public Engine {
    topology = Map.copyOf(topology);
    portals = List.copyOf(portals);
  }

  /** A static or embedded engine: always ready. */
  public Engine(String name, EngineClient client, Map<String, String> topology,
      List<String> portals) {
    this(name, client, topology, portals, EngineStatus.READY);
  }

  public EngineState state() {
    return status.state();
  }

  /** This engine with another status. */
  public Engine withStatus(EngineStatus newStatus) {
    return new Engine(name, client, topology, portals, newStatus);
  }

  /** The portals nodes log in to. */
  public List<String> advertisedPortals() {
    return portals.isEmpty() ? client.info().getPortalsList() : portals;
  }
}
