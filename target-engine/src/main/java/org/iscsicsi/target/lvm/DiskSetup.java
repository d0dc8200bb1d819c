package org.iscsicsi.target.lvm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.iscsicsi.csi.exec.Command;
import org.iscsicsi.csi.exec.CommandException;
import org.iscsicsi.csi.exec.CommandResult;
import org.iscsicsi.csi.exec.CommandRunner;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A whole disk given to the engine: at the first start it becomes the volume group
 * {@code isc-<engine>} (and, thin, the pool {@code pool} in it); later starts find the group.
 * A disk that is mounted, held by another device (a partition in use, device-mapper, md) or that
 * carries any signature {@code blkid} knows (a filesystem, a partition table, an LVM label) is
 * refused: nothing is ever wiped automatically.
 */
public final class DiskSetup {

  private static final Logger log = LoggerFactory.getLogger(DiskSetup.class);
  /** The thin pool takes this share of the group; the rest is lvm's metadata spare and room. */
  static final int THIN_POOL_PERCENT = 90;
  public static final String THIN_POOL = "pool";
  /** blkid(8): exit 2 when the device has no signature it knows. */
  static final int BLKID_NOTHING_FOUND = 2;

  private final LvmCommands lvm;
  private final CommandRunner runner;
  private final Duration timeout;

  public DiskSetup(LvmCommands lvm, CommandRunner runner, Duration timeout) {
    this.lvm = lvm;
    this.runner = runner;
    this.timeout = timeout;
  }

  /** The volume group name for an engine's disk. */
  public static String volumeGroup(String engineName) {
    return LvmName.vg("isc-" + engineName);
  }

  /** Makes (or finds) the engine's volume group on {@code device}; returns its name. */
  public String ensure(String engineName, Path device, boolean thin) throws IOException {
    String vg = volumeGroup(engineName);
    if (exists(vg)) {
      log.info("disk {}: volume group {} found", device, vg);
      return vg;
    }
    Path real = device.toRealPath();
    requireUnused(device, real);
    lvm.run(lvm.createPhysicalVolume(real.toString()));
    lvm.run(lvm.createVolumeGroup(vg, real.toString()));
    if (thin) {
      lvm.run(lvm.createThinPool(vg, THIN_POOL, THIN_POOL_PERCENT));
    }
    log.info("disk {}: made volume group {}{}", device, vg, thin ? " with thin pool " + THIN_POOL
        : "");
    return vg;
  }

  private boolean exists(String vg) {
    try {
      lvm.volumeGroup(vg);
      return true;
    } catch (LvmException e) {
      return false; // "not found" is the first start; any other fault shows at pvcreate
    }
  }

  /**
   * Refuses {@code device} (its resolved node {@code real}) when it is not a block device, is
   * mounted (or a partition of it is), is held by another device, or carries a signature.
   */
  public void requireUnused(Path device, Path real) throws IOException {
    if (!isBlockDevice(real)) {
      throw new IOException("disk " + device + " is not a block device");
    }
    Path holders = Path.of("/sys/class/block", real.getFileName().toString(), "holders");
    if (Files.isDirectory(holders)) {
      try (var list = Files.list(holders)) {
        if (list.findAny().isPresent()) {
          throw new IOException("disk " + device + " is held by another device (" + holders
              + "); refusing to use it");
        }
      }
    }
    for (String line : Files.readAllLines(Path.of("/proc/mounts"))) {
      String source = line.split(" ", 2)[0];
      if (source.equals(real.toString()) || source.startsWith(real + "p")
          || source.matches(java.util.regex.Pattern.quote(real.toString()) + "[0-9]+")) {
        throw new IOException("disk " + device + " (or a partition of it) is mounted: " + line);
      }
    }
    Command blkid = Command.of(timeout, "blkid", "-p", "-o", "export", real.toString());
    CommandResult r;
    try {
      r = runner.run(blkid);
    } catch (CommandException e) {
      throw new IOException(e.getMessage(), e);
    }
    if (r.exitCode() != BLKID_NOTHING_FOUND) {
      throw new IOException("disk " + device + " is not empty (blkid found "
          + (r.stdout().isBlank() ? "exit " + r.exitCode() + " " + r.stderr().strip()
              : r.stdout().strip().replace('\n', ' ')) + "); wipe it yourself if it is unused");
    }
  }

  private static boolean isBlockDevice(Path p) throws IOException {
    int mode = (Integer) Files.getAttribute(p, "unix:mode");
    return (mode & 0170000) == 0060000;
  }
}
