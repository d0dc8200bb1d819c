package org.iscsicsi.target.replication;

import java.util.Map;
import org.iscsicsi.target.kube.Membership;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.scsi.AccessState;
import org.iscsicsi.target.v1.SetLunReplicationRequest;

/**
 * One replicated LUN on this engine: the request that made it so, its metadata file and epoch
 * fence, the membership last seen, and on the primary the {@link ReplicatedUnit} its changes go
 * through. Its fields change under {@link ReplicatedLuns}' lock only.
 */
final class ReplicatedLun {

  final SetLunReplicationRequest request;
  final int slot;
  final LogicalUnit local;
  final MetadataFile metadata;
  final EpochFence fence;
  /** The membership as last read or watched (the primary's own writes included). */
  volatile Membership membership;
  /** Set while this engine serves the LUN as primary. */
  volatile ReplicatedUnit primary;
  /** Rebuilds the primary's out-of-sync members, while it serves. */
  volatile Rebuilder rebuilder;
  /** Why it does not serve although the membership names it primary, or null. */
  volatile String notServing;
  /** The epoch a {@link Promotion} of this engine runs for, or 0. */
  volatile long promoting;
  /** The ALUA states last applied to the port. */
  volatile Map<Integer, AccessState> applied;

  ReplicatedLun(SetLunReplicationRequest request, int slot, LogicalUnit local,
      MetadataFile metadata, EpochFence fence, Membership membership) {
    this.request = request;
    this.slot = slot;
    this.local = local;
    this.metadata = metadata;
    this.fence = fence;
    this.membership = membership;
  }

  String volume() {
    return request.getVolume();
  }

  /** The newer of the watched membership and the primary's own. */
  Membership current() {
    ReplicatedUnit u = primary;
    Membership m = membership;
    if (u != null && (m == null || u.membership().generation() >= m.generation())) {
      return u.membership();
    }
    return m;
  }
}
