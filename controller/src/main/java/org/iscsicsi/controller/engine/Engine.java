package org.iscsicsi.controller.engine;

import java.util.List;
import java.util.Map;

/**
 * One target engine the controller places volumes on.
 *
 * @param name short name, the first part of every volume and snapshot id on it
 * @param client its target.v1 client
 * @param topology the segments nodes must match to reach it (empty: reachable from everywhere)
 * @param portals portals to tell nodes instead of the engine's own (empty: ask the engine)
 */
public record Engine(String name, EngineClient client, Map<String, String> topology,
    List<String> portals) {

  public Engine {
    topology = Map.copyOf(topology);
    portals = List.copyOf(portals);
  }

  /** The portals nodes log in to. */
  public List<String> advertisedPortals() {
    return portals.isEmpty() ? client.info().getPortalsList() : portals;
  }
}
