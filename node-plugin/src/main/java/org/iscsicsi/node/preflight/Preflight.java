package org.iscsicsi.node.preflight;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.iscsicsi.node.iscsi.InitiatorName;
import org.iscsicsi.node.multipath.MultipathConfig;

/**
 * Host checks run at start and when NodeGetInfo fails: the tools are installed, iscsid listens on
 * its control socket (also when socket-activated by systemd), the initiator name is set, and
 * multipathd, when it runs, has this driver's device stanza (or at least a blacklist, which
 * keeps replicas=1 disks safe but rules out replicated volumes). Each problem comes with what
 * to do about it.
 */
public final class Preflight {

  /** The abstract unix socket iscsiadm talks to iscsid through (open-iscsi's iscsi_ipc). */
  static final String ISCSID_SOCKET = "@ISCSIADM_ABSTRACT_NAMESPACE";

  /** Tools the plugin runs, and the Debian package that provides each. */
  static final List<String[]> TOOLS = List.of(
      new String[] {"iscsiadm", "open-iscsi"},
      new String[] {"blkid", "util-linux"},
      new String[] {"mount", "mount"},
      new String[] {"umount", "mount"},
      new String[] {"mkfs.ext4", "e2fsprogs"},
      new String[] {"e2fsck", "e2fsprogs"},
      new String[] {"resize2fs", "e2fsprogs"},
      new String[] {"tune2fs", "e2fsprogs"},
      new String[] {"mkfs.xfs", "xfsprogs"},
      new String[] {"xfs_growfs", "xfsprogs"},
      new String[] {"xfs_admin", "xfsprogs"});

  /** One failed check. */
  public record Problem(String check, String message) {
    @Override
    public String toString() {
      return check + ": " + message;
    }
  }

  private final Path procRoot;
  private final Path multipathConf;
  private final InitiatorName initiatorName;
  private final String pathEnv;
  private final String iscsiadm;

  public Preflight(Path procRoot, Path multipathConf, InitiatorName initiatorName, String pathEnv,
      String iscsiadm) {
    this.procRoot = procRoot;
    this.multipathConf = multipathConf;
    this.initiatorName = initiatorName;
    this.pathEnv = pathEnv == null ? "" : pathEnv;
    this.iscsiadm = iscsiadm;
  }

  /** Runs every check; an empty list means the host is ready. */
  public List<Problem> run() {
    List<Problem> out = new ArrayList<>();
    out.addAll(tools());
    out.addAll(iscsid());
    out.addAll(initiator());
    out.addAll(multipath());
    return out;
  }

  List<Problem> tools() {
    List<Problem> out = new ArrayList<>();
    for (String[] t : TOOLS) {
      String name = t[0].equals("iscsiadm") ? iscsiadm : t[0];
      if (!onPath(name)) {
        out.add(new Problem("tools", name + " not found on PATH: install the Debian/Ubuntu"
            + " package '" + t[1] + "' (or your distribution's equivalent)"));
      }
    }
    return out;
  }

  List<Problem> iscsid() {
    Path unix = procRoot.resolve("net/unix");
    try (Stream<String> lines = Files.lines(unix)) {
      if (lines.anyMatch(l -> l.endsWith(" " + ISCSID_SOCKET))) {
        return List.of();
      }
    } catch (IOException | java.io.UncheckedIOException e) {
      return List.of(new Problem("iscsid", "cannot read " + unix + " to look for iscsid: "
          + e.getMessage()));
    }
    return List.of(new Problem("iscsid", "iscsid is not listening on " + ISCSID_SOCKET
        + ": start it on the host ('systemctl enable --now iscsid.socket' or"
        + " 'systemctl enable --now iscsid'); the plugin must run in the host network"
        + " namespace (hostNetwork: true) to reach it"));
  }

  List<Problem> initiator() {
    try {
      if (initiatorName.read().isEmpty()) {
        return List.of(new Problem("initiator-name", initiatorName.file() + " has no"
            + " InitiatorName: the plugin writes a generated one on NodeGetInfo; restart iscsid"
            + " afterwards, or set one yourself with 'iscsi-iname'"));
      }
      return List.of();
    } catch (IOException | IllegalArgumentException e) {
      return List.of(new Problem("initiator-name", "cannot read " + initiatorName.file() + ": "
          + e.getMessage()));
    }
  }

  /**
   * With multipathd running: the section 7 drop-in (docs/replication.md) passes; a blacklist of
   * this driver's disks keeps single-path volumes safe but makes replicated ones impossible here,
   * which is reported; without either, multipathd may claim single-path disks.
   */
  List<Problem> multipath() {
    if (!processRunning("multipathd")) {
      return List.of();
    }
    MultipathConfig conf = MultipathConfig.read(multipathConf,
        MultipathConfig.confDir(multipathConf));
    if (conf.blacklistsDriver()) {
      return List.of(new Problem("multipathd", multipathConf + " blacklists this driver's disks:"
          + " volumes with replicas=1 stage here, replicated volumes do not (NodeStageVolume"
          + " answers FAILED_PRECONDITION); to allow them replace the blacklist with:\n"
          + MultipathConfig.STANZA));
    }
    List<String> missing = conf.replicationProblems();
    if (missing.isEmpty()) {
      return List.of();
    }
    return List.of(new Problem("multipathd", "multipathd is running and its configuration ("
        + multipathConf + ", " + MultipathConfig.confDir(multipathConf) + ") is not the one this"
        + " driver needs: " + String.join("; ", missing) + ". Add this drop-in and run"
        + " 'systemctl reload multipathd':\n" + MultipathConfig.STANZA));
  }

  private boolean processRunning(String comm) {
    try (Stream<Path> pids = Files.list(procRoot)) {
      return pids.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit))
          .anyMatch(p -> {
            try {
              return Files.readString(p.resolve("comm")).strip().equals(comm);
            } catch (IOException e) {
              return false;
            }
          });
    } catch (IOException e) {
      return false;
    }
  }

  private boolean onPath(String name) {
    if (name.contains("/")) {
      return Files.isExecutable(Path.of(name));
    }
    for (String dir : pathEnv.split(":")) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) {
        return true;
      }
    }
    for (String dir : List.of("/usr/sbin", "/sbin", "/usr/bin", "/bin")) {
      if (Files.isExecutable(Path.of(dir, name))) {
        return true;
      }
    }
    return false;
  }
}
