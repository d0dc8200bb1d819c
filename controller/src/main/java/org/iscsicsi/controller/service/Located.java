package org.iscsicsi.controller.service;

import csi.v1.Csi;
import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.engine.EngineStatus;
import org.iscsicsi.controller.volume.VolumeRecord;

/**
 * A volume and the engine that holds it. When the engine is unreachable the volume is what the
 * index last read of it.
 */
record Located(Engine engine, VolumeRecord volume) {

  String iqn() {
    return volume.target().getName();
  }

  /**
   * The volume's condition: abnormal while its engine is unreachable (docs/pools.md section 8),
   * else what the engine reports of its LUN.
   */
  Csi.VolumeCondition condition() {
    if (!engine.state().reachable()) {
      return Csi.VolumeCondition.newBuilder().setAbnormal(true).setMessage(unreachable(engine))
          .build();
    }
    return volume.condition();
  }

  /** "engine X unreachable since &lt;time&gt;: &lt;last error&gt;", from its status. */
  static String unreachable(Engine engine) {
    EngineStatus s = engine.status();
    return "engine " + engine.name() + " unreachable since " + s.since()
        + (s.message().isEmpty() ? "" : ": " + s.message());
  }
}
