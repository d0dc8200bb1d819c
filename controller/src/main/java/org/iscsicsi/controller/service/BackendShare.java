package org.iscsicsi.controller.service;

import java.util.Optional;
import java.util.stream.Collectors;
import org.iscsicsi.target.v1.PoolCapacity;

/**
 * One backend's share of an engine's capacity, as a {@link PoolCapacity} that placement and
 * GetCapacity read as they read a whole pool. An engine that lists no backends has one, its
 * pool, named {@code fileio}; an empty name means the engine's default (its first).
 */
final class BackendShare {

  static final String FILEIO = "fileio";

  private BackendShare() {
  }

  /** The capacity of {@code backend} on the engine that reported {@code pool}, if it has it. */
  static Optional<PoolCapacity> of(PoolCapacity pool, String backend) {
    if (pool.getBackendsCount() == 0) {
      return backend.isEmpty() || backend.equals(FILEIO) ? Optional.of(pool) : Optional.empty();
    }
    return pool.getBackendsList().stream()
        .filter(b -> backend.isEmpty() || b.getName().equals(backend)).findFirst()
        .map(b -> PoolCapacity.newBuilder().setTotalBytes(b.getTotalBytes())
            .setAvailableBytes(b.getAvailableBytes()).setProvisionedBytes(b.getProvisionedBytes())
            .setAllocatedBytes(b.getAllocatedBytes()).addBackends(b).build());
  }

  /** Why an engine cannot take a volume of {@code backend}: the backends it has. */
  static String missing(PoolCapacity pool, String backend) {
    String has = pool.getBackendsCount() == 0 ? FILEIO : pool.getBackendsList().stream()
        .map(org.iscsicsi.target.v1.BackendCapacity::getName).collect(Collectors.joining(", "));
    return "has no backend \"" + backend + "\" (it has " + has + ")";
  }
}
