package org.iscsicsi.controller.service;

import csi.v1.Csi;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.volume.PoolLimits;
import org.iscsicsi.target.v1.PoolCapacity;

/**
 * What one topology segment can still take (CSI GetCapacity, docs/pools.md section 4): over the
 * schedulable engines reachable from the segment, the sum of their rooms
 * ({@link Placement#room}) and the largest single room, which no volume may exceed anyway
 * beyond the largest volume allowed. Without a segment every engine counts. A volume of
 * {@code replicas} copies on distinct engines ({@link #of(List, Optional, Function, PoolLimits,
 * boolean, int)}) takes that many rooms: the sum divided by {@code replicas}, and at most the
 * {@code replicas}-th largest room.
 *
 * @param availableBytes GetCapacity's available_capacity
 * @param maximumVolumeBytes GetCapacity's maximum_volume_size
 */
record SegmentCapacity(long availableBytes, long maximumVolumeBytes) {

  /** Nothing fits (capabilities the parameters cannot serve). */
  static final SegmentCapacity NONE = new SegmentCapacity(0, 0);

  /**
   * @param schedulable the engines new volumes may land on
   * @param segment the accessible topology asked about; empty for everywhere
   * @param capacity asks an engine for its pool's capacity
   */
  static SegmentCapacity of(List<Engine> schedulable, Optional<Csi.Topology> segment,
      Function<Engine, PoolCapacity> capacity, PoolLimits limits, boolean thick) {
    return of(schedulable, segment, capacity, limits, thick, 1);
  }

  /** As the others, for volumes of {@code replicas} copies on distinct engines. */
  static SegmentCapacity of(List<Engine> schedulable, Optional<Csi.Topology> segment,
      Function<Engine, PoolCapacity> capacity, PoolLimits limits, boolean thick, int replicas) {
    long total = 0;
    List<Long> rooms = new java.util.ArrayList<>();
    for (Engine e : schedulable) {
      if (segment.isPresent() && !Placement.reachable(e, segment.get())) {
        continue;
      }
      long room = Placement.room(capacity.apply(e), limits, thick);
      total = saturatedAdd(total, room);
      rooms.add(Math.min(room, limits.largestVolume()));
    }
    if (rooms.size() < replicas) {
      return NONE;
    }
    rooms.sort(java.util.Comparator.reverseOrder());
    return new SegmentCapacity(total / replicas, rooms.get(replicas - 1));
  }

  private static long saturatedAdd(long a, long b) {
    long sum = a + b;
    return ((a ^ sum) & (b ^ sum)) < 0 ? Long.MAX_VALUE : sum;
  }
}
