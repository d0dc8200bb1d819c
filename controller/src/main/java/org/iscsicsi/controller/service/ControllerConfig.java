package org.iscsicsi.controller.service;

import java.util.regex.Pattern;
import org.iscsicsi.controller.volume.PoolLimits;

/**
 * Settings of the CSI controller.
 *
 * @param driverName the CSI driver name (reverse DNS, at most 63 characters, CSI spec
 *     GetPluginInfo), also the owner label of every target it makes
 * @param iqnPrefix what volume target IQNs start with, before ":&lt;volume-id&gt;"
 * @param limits how much of an engine's pool volumes may promise (StorageClasses may lower them)
 */
public record ControllerConfig(String driverName, String iqnPrefix, PoolLimits limits) {

  public static final String DEFAULT_DRIVER_NAME = "iscsi.csi.iscsicsi.org";
  public static final String DEFAULT_IQN_PREFIX = "iqn.2026-11.org.iscsicsi";

  private static final Pattern DRIVER =
      Pattern.compile("[A-Za-z0-9]([A-Za-z0-9.-]{0,61}[A-Za-z0-9])?");
  private static final Pattern IQN_PREFIX =
      Pattern.compile("iqn\\.[0-9]{4}-[0-9]{2}\\.[a-z0-9]([a-z0-9.-]*[a-z0-9])?");

  public ControllerConfig {
    if (!DRIVER.matcher(driverName).matches()) {
      throw new IllegalArgumentException("driver name \"" + driverName
          + "\": at most 63 characters, alphanumeric at both ends, '-' and '.' between");
    }
    if (!IQN_PREFIX.matcher(iqnPrefix).matches()) {
      throw new IllegalArgumentException("IQN prefix \"" + iqnPrefix
          + "\": expected iqn.YYYY-MM.reversed.domain (RFC 7143 section 4.2.7.2)");
    }
  }

  public ControllerConfig(String driverName, String iqnPrefix) {
    this(driverName, iqnPrefix, PoolLimits.NONE);
  }

  public static ControllerConfig defaults() {
    return new ControllerConfig(DEFAULT_DRIVER_NAME, DEFAULT_IQN_PREFIX);
  }

  public ControllerConfig withLimits(PoolLimits newLimits) {
    return new ControllerConfig(driverName, iqnPrefix, newLimits);
  }
}
