package org.iscsicsi.controller.service;

import java.util.Map;
import java.util.Optional;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.volume.CsiErrors;
import org.iscsicsi.target.kube.Membership;
import org.iscsicsi.target.v1.SetLunReplicationRequest;

/**
 * Where replicated volumes' memberships live and how engines are told to act on them
 * (docs/replication.md, sections 5 and 11): {@code IscsiVolume/<id>.status.replication}, written
 * with compare-and-swap ({@link KubeMemberships}), and target.v1 SetLunReplication. {@link #NONE}
 * without a Kubernetes API: replicated volumes are then refused.
 */
public interface Memberships {

  /** What a controller without the Kubernetes API answers to {@code replicas} above 1. */
  Memberships NONE = new Memberships() {
    @Override
    public void requireAvailable() {
      throw unavailable();
    }

    @Override
    public void create(String volume, int replicas, Membership created) {
      throw unavailable();
    }

    @Override
    public Optional<Membership> read(String volume) {
      return Optional.empty();
    }

    @Override
    public void delete(String volume) {
    }

    @Override
    public void activate(Engine engine, SetLunReplicationRequest request) {
      throw unavailable();
    }

    private io.grpc.StatusRuntimeException unavailable() {
      return CsiErrors.failedPrecondition("replicated volumes (parameter replicas above 1) need "
          + "the Kubernetes API: their membership lives in IscsiVolume objects");
    }
  };

  /** Throws FAILED_PRECONDITION when replicated volumes cannot be made here. */
  default void requireAvailable() {
  }

  /** Writes the new volume's first membership (refused if it has one already). */
  void create(String volume, int replicas, Membership created);

  /** A fresh read of the volume's membership; empty when it has none. */
  Optional<Membership> read(String volume);

  /**
   * Every volume's membership by volume id, in one read (a pass over all volumes); empty when
   * this store cannot list, and callers then {@link #read} each.
   */
  default Optional<Map<String, Membership>> list() {
    return Optional.empty();
  }

  /** Removes the volume's IscsiVolume, membership and all; gone counts as removed. */
  void delete(String volume);

  /** host:port of the engine's replication listener, "" when it has none. */
  default String replicationAddress(Engine engine) {
    return engine.client().info().getReplicationAddress();
  }

  /** Makes the LUN replicated on {@code engine} (target.v1 SetLunReplication). */
  void activate(Engine engine, SetLunReplicationRequest request);
}
