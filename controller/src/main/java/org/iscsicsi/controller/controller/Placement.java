package org.iscsicsi.controller.controller;

import csi.v1.Csi;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.volume.CsiErrors;

/**
 * Chooses the engine for a new volume (CSI spec, CreateVolume: accessibility_requirements):
 * among engines reachable from a requisite topology, the first that a preferred topology names,
 * else the one with the most free bytes. An engine without topology segments is reachable from
 * everywhere.
 */
final class Placement {

  private Placement() {}

  static boolean reachable(Engine engine, Csi.Topology wanted) {
    if (engine.topology().isEmpty()) {
      return true;
    }
    for (Map.Entry<String, String> e : wanted.getSegmentsMap().entrySet()) {
      String have = engine.topology().get(e.getKey());
      if (have != null && !have.equals(e.getValue())) {
        return false;
      }
    }
    return true;
  }

  static boolean satisfies(Engine engine, Csi.TopologyRequirement req) {
    if (req.getRequisiteCount() == 0) {
      return true;
    }
    return req.getRequisiteList().stream().anyMatch(t -> reachable(engine, t));
  }

  static Engine choose(List<Engine> engines, Csi.TopologyRequirement req) {
    List<Engine> candidates = engines.stream().filter(e -> satisfies(e, req)).toList();
    if (candidates.isEmpty()) {
      throw CsiErrors.exhausted("no target engine is reachable from the requisite topology "
          + req.getRequisiteList());
    }
    if (candidates.size() == 1) {
      return candidates.getFirst();
    }
    for (Csi.Topology preferred : req.getPreferredList()) {
      for (Engine e : candidates) {
        if (!e.topology().isEmpty() && reachable(e, preferred)) {
          return e;
        }
      }
    }
    return candidates.stream()
        .max(Comparator.comparingLong(e -> e.client().capacity().getAvailableBytes()))
        .orElseThrow();
  }
}
