package org.iscsicsi.controller.controller;

import org.iscsicsi.controller.engine.Engine;
import org.iscsicsi.controller.volume.VolumeRecord;

/** A volume and the engine that holds it. */
record Located(Engine engine, VolumeRecord volume) {

  String iqn() {
    return volume.target().getName();
  }
}
