package org.iscsicsi.controller.service;

import csi.v1.Csi;
import org.iscsicsi.controller.volume.CsiErrors;
import org.iscsicsi.controller.volume.ExternalVolume;
import org.iscsicsi.controller.volume.QosParameters;
import org.iscsicsi.csi.OperationLocks;
import org.iscsicsi.target.v1.Lun;
import org.iscsicsi.target.v1.LunQos;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * ControllerModifyVolume (CSI spec; Kubernetes' VolumeAttributesClass): changes a volume's I/O
 * limits ({@link QosParameters}) on its LUN, live, without detaching it; the engine applies them
 * from the next command on. The engine's LUN is the only record of the limits; a replicated
 * volume's members get them too (the leader's pass sets them on members that did not answer).
 *
 * <p>Idempotent: limits equal to the LUN's change nothing and make no engine call. Unknown keys
 * and values out of range are INVALID_ARGUMENT before any volume is looked up, so Kubernetes
 * marks the change infeasible; a volume that does not exist is NOT_FOUND.
 */
final class Modifier {

  private static final Logger log = LoggerFactory.getLogger(Modifier.class);

  private final VolumeFinder finder;
  private final OperationLocks locks;

  Modifier(VolumeFinder finder, OperationLocks locks) {
    this.finder = finder;
    this.locks = locks;
  }

  Csi.ControllerModifyVolumeResponse modify(Csi.ControllerModifyVolumeRequest req) {
    String volumeId = req.getVolumeId();
    if (volumeId.isEmpty()) {
      throw CsiErrors.invalid("volume_id is required");
    }
    QosParameters qos = QosParameters.parse(req.getMutableParametersMap());
    if (ExternalVolume.isExternal(volumeId)) {
      if (!qos.isEmpty()) {
        throw CsiErrors.invalid("volume " + volumeId + " is an external volume (a static PV on "
            + "another array): its I/O limits are the array's to set");
      }
      return Csi.ControllerModifyVolumeResponse.getDefaultInstance();
    }
    try (OperationLocks.Held held = locks.acquire(volumeId, "ControllerModifyVolume")) {
      Located l = finder.require(volumeId);
      LunQos current = l.volume().lun().map(Lun::getQos).orElse(LunQos.getDefaultInstance());
      LunQos next = qos.applyTo(current);
      if (!next.equals(current)) {
        l.engine().client().setLunQos(l.iqn(), 0, next);
        log.info("volume {}: I/O limits now {}", volumeId, describe(next));
        // a replicated volume's members hold the same limits, so a new primary enforces them
        finder.records().equalize(new Located(l.engine(), l.volume()), next);
      }
      return Csi.ControllerModifyVolumeResponse.getDefaultInstance();
    }
  }

  private static String describe(LunQos q) {
    return "read " + q.getReadIops() + " IOPS, " + q.getReadBytesPerSecond() + " B/s; write "
        + q.getWriteIops() + " IOPS, " + q.getWriteBytesPerSecond() + " B/s; burst "
        + q.getBurstMillis() + " ms (0: no limit)";
  }
}
