package org.iscsicsi.controller.service;

import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.volume.CsiErrors;
import org.iscsicsi.controller.volume.PoolLimits;
import org.iscsicsi.controller.volume.VolumeParameters;

/**
 * Whether a volume may grow: the final error codes of ControllerExpandVolume, so that Kubernetes
 * marks a resize infeasible and lets the user lower the request (KEP-1790, recovery from
 * expansion failure). OUT_OF_RANGE above the largest volume ({@code --max-volume-size});
 * RESOURCE_EXHAUSTED when the growth does not fit the engine's overcommit ratio (a thick volume's
 * growth beyond the free bytes is refused by the engine with RESOURCE_EXHAUSTED too). A class's
 * own limits are not kept with the volume, so the controller's apply.
 */
final class ExpansionLimits {

  private ExpansionLimits() {
  }

  static void require(Engine engine, String volumeId, long size, long wanted, PoolLimits limits) {
    if (wanted > limits.largestVolume()) {
      throw CsiErrors.outOfRange("volume " + volumeId + " cannot grow to " + wanted + " bytes: "
          + "the largest volume allowed is " + limits.maxVolumeBytes() + " bytes (controller "
          + "flag --max-volume-size, StorageClass parameter " + VolumeParameters.MAX_VOLUME_SIZE
          + ")");
    }
    Provisioner.admit(engine, "growing volume " + volumeId, wanted - size, limits);
  }
}
