package org.iscsicsi.controller.engine;

/**
 * What the controller may do with an engine (docs/pools.md, section 2). Static and embedded
 * engines are always {@link #READY}; in pool mode the engine directory derives the state from
 * the engine's IscsiEngine object, its Lease and the controller's own probes.
 */
public enum EngineState {
  /** Lease fresh and the admin API answers: volumes may be placed here. */
  READY,
  /** {@code spec.unschedulable}: serves its volumes, takes no new ones. */
  CORDONED,
  /** {@code spec.drain}: detached volumes are moved away; takes no new ones. */
  DRAINING,
  /** Lease expired or probes failing: its volumes are abnormal, calls to it answer UNAVAILABLE. */
  UNREACHABLE,
  /** Being deleted: held by its finalizer while it holds volumes. */
  REMOVING;

  /** True when new volumes, replicas and clones may land on an engine in this state. */
  public boolean schedulable() {
    return this == READY;
  }

  /** True when calls to the engine are expected to succeed. */
  public boolean reachable() {
    return this != UNREACHABLE;
  }
}
