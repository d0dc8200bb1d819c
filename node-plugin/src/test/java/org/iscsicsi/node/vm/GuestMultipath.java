package org.iscsicsi.node.vm;

/**
 * multipathd in the VM guest without udev, as docs/replication.md section 13 and the field notes
 * (section 8) describe it: {@code uid_attribute ""} so the WWID comes from sysfs, a
 * {@code /run/udev/data/b<major>:<minor>} stub per disk, {@code DM_DISABLE_UDEV=1} for multipathd
 * and the node plugin's multipath commands; otherwise the device stanza of docs/replication.md
 * section 7 with {@code find_multipaths strict}. Shared by {@code MultipathNodeVmIT} and e2e's VM
 * node with a real kubelet.
 */
public final class GuestMultipath {
  /**
   * Guest shell lines writing /etc/multipath.conf: the device stanza of docs/replication.md
   * section 7, with {@code find_multipaths} as given ({@code strict} as the node plugin runs it
   * with {@code multipath -a}; {@code no} for a test that logs in by hand).
   */
  public static String conf(String findMultipaths) {
    return String.join("\n",
        "cat >/etc/multipath.conf <<'EOF'",
        "defaults {",
        "    polling_interval 2",
        "    uid_attribute \"\"",
        "    find_multipaths " + findMultipaths,
        "    user_friendly_names no",
        "}",
        "devices {",
        "    device {",
        "        vendor \"ISCSICSI\"",
        "        product \".*\"",
        "        path_grouping_policy group_by_prio",
        "        prio alua",
        "        detect_prio yes",
        "        hardware_handler \"1 alua\"",
        "        path_checker tur",
        "        path_selector \"service-time 0\"",
        "        failback immediate",
        "        no_path_retry queue",
        "        fast_io_fail_tmo 5",
        "        user_friendly_names no",
        "    }",
        "}",
        "EOF");
  }

  /** Guest shell lines to run before the node plugin starts. */
  public static final String PRELUDE = String.join("\n",
      "modprobe -a dm_mod dm_multipath dm_service_time dm_round_robin scsi_dh_alua",
      "mkdir -p /etc/multipath /run/udev/data /dev/mapper",
      conf("strict"),
      // What udev would record for each new disk: multipathd ignores disks without it.
      "( while :; do for d in /sys/block/sd*; do [ -e \"$d/dev\" ]"
          + " && touch \"/run/udev/data/b$(cat \"$d/dev\")\"; done; sleep 0.05; done ) &",
      "export DM_DISABLE_UDEV=1",
      "multipathd -d -v2 >/tmp/multipathd.log 2>&1 &",
      "");

  private GuestMultipath() {}
}
