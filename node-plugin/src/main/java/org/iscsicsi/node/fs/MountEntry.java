package org.iscsicsi.node.fs;

import java.nio.file.Path;
import java.util.List;

/**
 * One line of /proc/self/mountinfo (proc(5)): the mount point, the device MAJOR:MINOR, the root of
 * the mount within its filesystem, per-mount and superblock options, type and source.
 */
public record MountEntry(int id, int parentId, String majorMinor, String root, Path mountPoint,
    List<String> options, String fsType, String source, List<String> superOptions) {

  /**
   * Read-only for this mount, or because the filesystem itself went read-only (errors=remount-ro).
   */
  public boolean readOnly() {
    return options.contains("ro") || superOptions.contains("ro");
  }
}
