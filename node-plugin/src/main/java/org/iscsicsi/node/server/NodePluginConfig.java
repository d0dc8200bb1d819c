package org.iscsicsi.node.server;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Every setting of the node plugin; the CLI fills it from flags. All timeouts are configurable
 * because slow targets and big disks differ by orders of magnitude between clusters.
 *
 * @param iscsiadmTimeout quick iscsiadm calls (records, sessions, logout)
 * @param loginTimeout discovery and login
 * @param deviceWait how long to wait for the LUN's disk after login
 * @param commandTimeout blkid, mount, umount
 * @param longCommandTimeout mkfs, fsck, resize, UUID changes
 * @param resizeWait how long to wait for a rescanned disk to show its new size
 * @param replacementTimeoutSeconds open-iscsi node.session.timeo.replacement_timeout
 * @param scsiDeviceTimeoutSeconds /sys/block/sdX/device/timeout (0 keeps the kernel's)
 * @param gcInterval how often orphaned sessions are collected (zero disables)
 * @param iscsiDir open-iscsi's configuration directory (node records, discovery records)
 * @param kubeletDir the only tree staging and target paths may lie in
 * @param topologyKeys labels of the node's Node object NodeGetInfo reports as its topology
 *     instead of {@link #topologyKey()} (pool mode); empty: the per-node key
 * @param multipath multipath to run for replicated volumes (may be a wrapper into the host)
 * @param multipathd multipathd, run as its own client ({@code multipathd add path ...})
 */
public record NodePluginConfig(String endpoint, String driverName, String nodeName,
    String version, long maxVolumes, String defaultFsType, Path stateDir,
    Path initiatorNameFile, String iscsiadm, boolean discovery, String iqnPrefix,
    Path sysRoot, Path devRoot, Path procRoot, Path multipathConf,
    Duration iscsiadmTimeout, Duration loginTimeout, Duration deviceWait,
    Duration commandTimeout, Duration longCommandTimeout, Duration resizeWait,
    int replacementTimeoutSeconds, int scsiDeviceTimeoutSeconds, Duration gcInterval,
    Path iscsiDir, Path kubeletDir, List<String> topologyKeys, String multipath,
    String multipathd) {

  public NodePluginConfig {
    topologyKeys = List.copyOf(topologyKeys);
  }

  /** With the host's own {@code multipath} and {@code multipathd}. */
  public NodePluginConfig(String endpoint, String driverName, String nodeName,
      String version, long maxVolumes, String defaultFsType, Path stateDir,
      Path initiatorNameFile, String iscsiadm, boolean discovery, String iqnPrefix,
      Path sysRoot, Path devRoot, Path procRoot, Path multipathConf,
      Duration iscsiadmTimeout, Duration loginTimeout, Duration deviceWait,
      Duration commandTimeout, Duration longCommandTimeout, Duration resizeWait,
      int replacementTimeoutSeconds, int scsiDeviceTimeoutSeconds, Duration gcInterval,
      Path iscsiDir, Path kubeletDir, List<String> topologyKeys) {
    this(endpoint, driverName, nodeName, version, maxVolumes, defaultFsType, stateDir,
        initiatorNameFile, iscsiadm, discovery, iqnPrefix, sysRoot, devRoot, procRoot,
        multipathConf, iscsiadmTimeout, loginTimeout, deviceWait, commandTimeout,
        longCommandTimeout, resizeWait, replacementTimeoutSeconds, scsiDeviceTimeoutSeconds,
        gcInterval, iscsiDir, kubeletDir, topologyKeys, "multipath", "multipathd");
  }

  /** The topology key NodeGetInfo reports the node name under without topology keys. */
  public String topologyKey() {
    return driverName + "/node";
  }

  /** The segment of the embedded default: this node alone, under {@link #topologyKey()}. */
  public Map<String, String> nodeSegment() {
    return Map.of(topologyKey(), nodeName);
  }
}
