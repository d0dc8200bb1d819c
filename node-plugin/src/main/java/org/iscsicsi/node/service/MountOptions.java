package org.iscsicsi.node.service;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The options the node plugin mounts with: {@code nosuid,nodev} unless the volume's mount flags
 * say {@code suid} or {@code dev}, so a volume whose contents a pod controls cannot carry a
 * set-uid binary or a device node that works on the host or in another pod.
 */
final class MountOptions {

  static final String NOSUID = "nosuid";
  static final String NODEV = "nodev";
  static final String SUID = "suid";
  static final String DEV = "dev";
  static final String READ_ONLY = "ro";

  private MountOptions() {}

  /** The staging mount's options: the requested flags plus nosuid and nodev unless overridden. */
  static List<String> staging(List<String> requested, boolean readOnly) {
    List<String> out = new ArrayList<>(requested);
    if (!has(requested, SUID) && !has(requested, NOSUID)) {
      out.add(NOSUID);
    }
    if (!has(requested, DEV) && !has(requested, NODEV)) {
      out.add(NODEV);
    }
    if (readOnly) {
      out.add(READ_ONLY);
    }
    return out;
  }

  /**
   * A bind mount's per-mount options (a bind remount takes no filesystem options). A block
   * volume's bind is of the device file itself, which nodev would make unusable: it gets nosuid
   * only.
   */
  static List<String> bind(List<String> requested, boolean block, boolean readOnly) {
    List<String> out = new ArrayList<>();
    out.add(has(requested, SUID) ? SUID : NOSUID);
    if (!block) {
      out.add(has(requested, DEV) ? DEV : NODEV);
    }
    if (readOnly) {
      out.add(READ_ONLY);
    }
    return out;
  }

  /** Whether {@code option} is one of the flags (each may be a comma-separated list). */
  static boolean has(List<String> flags, String option) {
    return flags.stream().flatMap(f -> Arrays.stream(f.split(",")))
        .anyMatch(o -> o.strip().equals(option));
  }
}
