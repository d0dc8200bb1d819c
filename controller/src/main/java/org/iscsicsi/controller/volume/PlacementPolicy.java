package org.iscsicsi.controller.volume;

import java.util.Arrays;
import java.util.Optional;

/**
 * How pool mode orders the engines that can take a new volume (StorageClass parameter
 * {@code placement}, docs/pools.md section 4).
 */
public enum PlacementPolicy {
  /** The engine whose pool is least promised (provisioned / total) first. */
  LEAST_ALLOCATED("leastAllocated"),
  /** The zone holding the fewest volumes of the class first, least allocated inside it. */
  SPREAD_ZONES("spreadZones");

  private final String parameter;

  PlacementPolicy(String parameter) {
    this.parameter = parameter;
  }

  /** The value a StorageClass writes. */
  public String parameter() {
    return parameter;
  }

  /** The policy a StorageClass value names; empty for an unknown one. */
  public static Optional<PlacementPolicy> of(String value) {
    return Arrays.stream(values()).filter(p -> p.parameter.equals(value)).findFirst();
  }
}
