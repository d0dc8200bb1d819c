package org.iscsicsi.node.fs;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.iscsicsi.csi.exec.Args;
import org.iscsicsi.csi.exec.Command;
import org.iscsicsi.csi.exec.CommandException;
import org.iscsicsi.csi.exec.CommandResult;
import org.iscsicsi.csi.exec.CommandRunner;

/**
 * The filesystem tools the node plugin drives: blkid, mkfs.ext4/mkfs.xfs, e2fsck, mount/umount,
 * resize2fs/xfs_growfs, tune2fs/xfs_admin. Every method takes validated paths and runs one argv.
 */
public final class Filesystems {

  /** Filesystem types this plugin creates and grows. */
  public static final List<String> SUPPORTED = List.of("ext4", "xfs");

  private static final Pattern UUID = Pattern.compile("[0-9A-Fa-f-]{8,36}");

  private final CommandRunner runner;
  private final Duration timeout;
  private final Duration longTimeout;

  /**
   * @param timeout for blkid, mount, umount
   * @param longTimeout for mkfs, fsck, resize and UUID changes, which scale with the disk
   */
  public Filesystems(CommandRunner runner, Duration timeout, Duration longTimeout) {
    this.runner = runner;
    this.timeout = timeout;
    this.longTimeout = longTimeout;
  }

  /** Probes the device itself (not blkid's cache): filesystem, partition table, or nothing. */
  public FsProbe probe(Path device) throws FsException {
    Command c = Command.of(timeout, "blkid", "-p", "-o", "export", dev(device));
    CommandResult r = run(c);
    if (r.exitCode() == 2) {
      return FsProbe.BLANK;
    }
    if (!r.ok()) {
      throw fail("probing " + device, c, r);
    }
    Map<String, String> kv = new HashMap<>();
    for (String line : r.stdout().split("\n")) {
      int eq = line.indexOf('=');
      if (eq > 0) {
        kv.put(line.substring(0, eq), line.substring(eq + 1).strip());
      }
    }
    return new FsProbe(Optional.ofNullable(kv.get("TYPE")), Optional.ofNullable(kv.get("UUID")),
        Optional.ofNullable(kv.get("PTTYPE")));
  }

  /** Creates a filesystem. Callers must have probed the device blank. */
  public void format(Path device, String fsType) throws FsException {
    Command c = switch (fsType) {
      // nodiscard: discarding a fresh remote LUN is slow and pointless.
      case "ext4" -> Command.of(longTimeout, "mkfs.ext4", "-F", "-q", "-E", "nodiscard",
          dev(device));
      case "xfs" -> Command.of(longTimeout, "mkfs.xfs", "-q", "-K", dev(device));
      default -> throw new FsException("unsupported filesystem type '" + fsType
          + "'; supported: " + SUPPORTED);
    };
    check("formatting " + device + " as " + fsType, c);
  }

  /**
   * e2fsck -p: repairs what is safe to repair unattended (a dirty journal after a lost session).
   * Exit 0/1/2 are fine; 4 and above mean the filesystem needs a human.
   */
  public void checkExt4(Path device) throws FsException {
    Command c = Command.of(longTimeout, "e2fsck", "-p", dev(device));
    CommandResult r = run(c);
    if (r.exitCode() > 2) {
      throw fail("e2fsck found errors it cannot fix unattended on " + device
          + "; run 'e2fsck -f " + device + "' by hand", c, r);
    }
  }

  /** Mounts a filesystem by its UUID with the given options. */
  public void mountByUuid(String uuid, Path target, String fsType, List<String> options)
      throws FsException {
    if (!UUID.matcher(uuid).matches()) {
      throw new FsException("not a filesystem UUID: '" + uuid + "'");
    }
    List<String> argv = new ArrayList<>(List.of("mount", "-t", fsType(fsType)));
    if (!options.isEmpty()) {
      options.forEach(Args::mountOption);
      argv.add("-o");
      argv.add(String.join(",", options));
    }
    argv.add("UUID=" + uuid);
    argv.add(dir(target));
    check("mounting UUID=" + uuid + " at " + target,
        new Command(argv, timeout, java.util.Set.of()));
  }

  /**
   * Bind-mounts {@code source} (a directory or a device file) on {@code target}, then sets the
   * bind's own per-mount {@code options} (nosuid, nodev, ro; a bind takes them only through a
   * remount). If the remount fails the bind is undone.
   */
  public void bind(Path source, Path target, List<String> options) throws FsException {
    options.forEach(Args::mountOption);
    check("bind-mounting " + source + " on " + target,
        Command.of(timeout, "mount", "--bind", dir(source), dir(target)));
    if (options.isEmpty()) {
      return;
    }
    try {
      check("remounting " + target + " with " + String.join(",", options),
          Command.of(timeout, "mount", "-o", "remount,bind," + String.join(",", options),
              dir(target)));
    } catch (FsException e) {
      unmount(target);
      throw e;
    }
  }

  public void unmount(Path target) throws FsException {
    check("unmounting " + target, Command.of(timeout, "umount", dir(target)));
  }

  /**
   * Grows ext4 to the size of its device: online when mounted, offline otherwise (offline needs
   * a freshly checked filesystem, so e2fsck -f runs first). Online growth needs CAP_SYS_RESOURCE
   * (the kernel's EXT4_IOC_RESIZE_FS); without it resize2fs says only "Permission denied".
   */
  public void growExt4(Path device, boolean mounted) throws FsException {
    if (!mounted) {
      Command fsck = Command.of(longTimeout, "e2fsck", "-f", "-p", dev(device));
      CommandResult r = run(fsck);
      if (r.exitCode() > 2) {
        throw fail("checking " + device + " before growing it", fsck, r);
      }
    }
    Command c = Command.of(longTimeout, "resize2fs", dev(device));
    CommandResult r = run(c);
    if (!r.ok()) {
      String hint = (r.stderr() + r.stdout()).contains("Permission denied")
          ? " (online ext4 growth needs CAP_SYS_RESOURCE: run the node plugin as a privileged"
              + " container or grant that capability)"
          : "";
      throw fail("growing ext4 on " + device + hint, c, r);
    }
  }

  /** Grows a mounted XFS to the size of its device. */
  public void growXfs(Path mountPoint) throws FsException {
    check("growing xfs at " + mountPoint, Command.of(longTimeout, "xfs_growfs", dir(mountPoint)));
  }

  /** Gives an unmounted filesystem a fresh random UUID, so a clone mounts beside its source. */
  public void regenerateUuid(Path device, String fsType) throws FsException {
    switch (fsType) {
      case "ext4" -> {
        // tune2fs -U on a metadata_csum filesystem requires a freshly checked one.
        Command fsck = Command.of(longTimeout, "e2fsck", "-f", "-p", dev(device));
        CommandResult r = run(fsck);
        if (r.exitCode() > 2) {
          throw fail("checking " + device + " before changing its UUID", fsck, r);
        }
        check("changing the UUID of " + device,
            Command.of(longTimeout, "tune2fs", "-U", "random", dev(device)));
      }
      case "xfs" -> check("changing the UUID of " + device,
          Command.of(longTimeout, "xfs_admin", "-U", "generate", dev(device)));
      default -> throw new FsException("cannot change the UUID of a " + fsType + " filesystem");
    }
  }

  /** Every block device that carries a filesystem with this UUID (fresh scan, no cache). */
  public List<Path> devicesWithUuid(String uuid) throws FsException {
    if (!UUID.matcher(uuid).matches()) {
      throw new FsException("not a filesystem UUID: '" + uuid + "'");
    }
    Command c = Command.of(timeout, "blkid", "-c", "/dev/null", "-o", "device", "-t",
        "UUID=" + uuid);
    CommandResult r = run(c);
    if (r.exitCode() == 2) {
      return List.of();
    }
    if (!r.ok()) {
      throw fail("looking for filesystem UUID " + uuid, c, r);
    }
    return r.stdout().lines().map(String::strip).filter(s -> !s.isEmpty()).map(Path::of)
        .toList();
  }

  private static String fsType(String t) {
    if (!SUPPORTED.contains(t)) {
      throw new IllegalArgumentException("unsupported filesystem type '" + t + "'");
    }
    return t;
  }

  private static String dev(Path p) {
    return Args.absolutePath("device", p.toString()).toString();
  }

  private static String dir(Path p) {
    return Args.absolutePath("path", p.toString()).toString();
  }

  private void check(String what, Command c) throws FsException {
    CommandResult r = run(c);
    if (!r.ok()) {
      throw fail(what, c, r);
    }
  }

  private CommandResult run(Command c) throws FsException {
    try {
      return runner.run(c);
    } catch (CommandException e) {
      throw new FsException(e.getMessage(), e);
    }
  }

  private static FsException fail(String what, Command c, CommandResult r) {
    CommandException ce = CommandRunner.failure(c, r);
    return new FsException(what + " failed: " + ce.getMessage(), ce);
  }
}
