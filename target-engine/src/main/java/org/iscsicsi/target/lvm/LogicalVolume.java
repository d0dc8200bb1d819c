package org.iscsicsi.target.lvm;

import java.util.OptionalDouble;

/**
 * One row of {@code lvs}.
 *
 * @param attr lvm's attribute string ({@code lv_attr}): type in position 0 ({@code t} thin pool,
 *     {@code V} thin volume, {@code -} linear), state in position 4 ({@code a} active)
 * @param pool the thin pool of a thin volume, else empty
 * @param dataPercent how full a thin pool or thin volume is; empty for linear volumes
 * @param path the device node, {@code /dev/VG/LV}
 */
public record LogicalVolume(String name, String vg, long sizeBytes, String attr, String pool,
    OptionalDouble dataPercent, String path) {

  public boolean thinPool() {
    return !attr.isEmpty() && attr.charAt(0) == 't';
  }

  public boolean thinVolume() {
    return !attr.isEmpty() && attr.charAt(0) == 'V';
  }

  public boolean active() {
    return attr.length() > 4 && attr.charAt(4) == 'a';
  }

  /**
   * Bytes the volume takes from its thin pool ({@code data_percent} of its size), else its size.
   */
  public long allocatedBytes() {
    if (dataPercent.isEmpty()) {
      return sizeBytes;
    }
    return Math.round(sizeBytes * dataPercent.getAsDouble() / 100.0);
  }
}
