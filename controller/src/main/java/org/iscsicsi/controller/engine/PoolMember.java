package org.iscsicsi.controller.engine;

/**
 * One engine of the pool as the directory sees it now: the {@link Engine} the CSI services use,
 * the object and Lease it was derived from, and why it is or is not reachable.
 *
 * @param lease its Lease, null when there is none
 * @param incarnation the incarnation the controller expects (the Lease's, else the report's)
 */
public record PoolMember(Engine engine, EngineObject object, EngineLease lease,
    Reachability reachability, String incarnation) {

  public String name() {
    return engine.name();
  }
}
