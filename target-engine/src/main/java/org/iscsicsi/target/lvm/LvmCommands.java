package org.iscsicsi.target.lvm;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.iscsicsi.csi.exec.Args;
import org.iscsicsi.csi.exec.Command;
import org.iscsicsi.csi.exec.CommandException;
import org.iscsicsi.csi.exec.CommandRunner;
import org.iscsicsi.csi.exec.CommandResult;

/**
 * lvm's commands as the engine runs them: one argv per operation ({@code lvm <command> --config
 * ... args}, never a shell), every volume group and volume name checked by {@link LvmName} and
 * every device path by {@link Args#absolutePath} before it reaches the argv, sizes in bytes
 * ({@code <n>b}), reports read as JSON ({@code --reportformat json --units b --nosuffix}). A
 * failure is an {@link LvmException} naming the command and lvm's stderr.
 *
 * <p>Inside a container there is no udev to wait for: with {@code udev false} every command gets
 * {@code activation { udev_sync = 0 udev_rules = 0 }}, so lvm makes the device nodes itself.
 */
public final class LvmCommands {

  /** lvm's one binary; its first argument names the command. */
  static final String LVM = "lvm";
  static final String VG_FIELDS = "vg_name,vg_size,vg_free,vg_extent_size";
  static final String LV_FIELDS = "lv_name,vg_name,lv_size,lv_attr,pool_lv,data_percent,lv_path";
  private static final String NO_UDEV = "activation { udev_sync = 0 udev_rules = 0 }";
  /** Reports as JSON with sizes as plain byte counts. */
  private static final List<String> REPORT = List.of("--reportformat", "json", "--units", "b",
      "--nosuffix");

  private final CommandRunner runner;
  private final Duration timeout;
  private final boolean udev;

  public LvmCommands(CommandRunner runner, Duration timeout, boolean udev) {
    this.runner = runner;
    this.timeout = timeout;
    this.udev = udev;
  }

  /** The volume group, or an {@link LvmException} when lvm does not know it. */
  public VolumeGroup volumeGroup(String vg) throws LvmException {
    Command c = command("vgs", REPORT, List.of("-o", VG_FIELDS, LvmName.vg(vg)));
    CommandResult r = run(c);
    List<VolumeGroup> rows;
    try {
      rows = LvmReport.volumeGroups(r.stdout());
    } catch (IOException e) {
      throw unparsable(c, r, e);
    }
    if (rows.size() != 1) {
      throw new LvmException(c.redacted(), "", "'" + c.redacted() + "' reported "
          + rows.size() + " volume groups, expected 1", null);
    }
    return rows.getFirst();
  }

  /** Every logical volume of {@code vg}, hidden ones (a thin pool's data and metadata) left out. */
  public List<LogicalVolume> logicalVolumes(String vg) throws LvmException {
    Command c = command("lvs", REPORT, List.of("-o", LV_FIELDS, LvmName.vg(vg)));
    CommandResult r = run(c);
    try {
      return LvmReport.logicalVolumes(r.stdout());
    } catch (IOException e) {
      throw unparsable(c, r, e);
    }
  }

  /** A linear volume of at least {@code sizeBytes} (rounded up to the extent size), active. */
  public Command createLinear(String vg, String lv, long sizeBytes) {
    return command("lvcreate", List.of("--yes", "--wipesignatures", "y", "--activate", "y"),
        List.of("--size", bytes(sizeBytes), "--name", LvmName.lv(lv), LvmName.vg(vg)));
  }

  /** A thin volume of {@code sizeBytes} in {@code vg/pool}, active. */
  public Command createThin(String vg, String pool, String lv, long sizeBytes) {
    return command("lvcreate", List.of("--yes", "--type", "thin", "--activate", "y"),
        List.of("--virtualsize", bytes(sizeBytes), "--thinpool", LvmName.lv(pool), "--name",
            LvmName.lv(lv), LvmName.vg(vg)));
  }

  /**
   * A thin snapshot of {@code vg/origin} named {@code snapshot}: instant, no size, shares the
   * pool; {@code --setactivationskip n} so it activates like any volume.
   */
  public Command snapshotThin(String vg, String origin, String snapshot) {
    return command("lvcreate", List.of("--yes", "--snapshot", "--setactivationskip", "n",
        "--activate", "y"),
        List.of("--name", LvmName.lv(snapshot), LvmName.vg(vg) + "/" + LvmName.lv(origin)));
  }

  /** A classic copy-on-write snapshot of a linear volume, with room for {@code cowBytes}. */
  public Command snapshotLinear(String vg, String origin, String snapshot, long cowBytes) {
    return command("lvcreate", List.of("--yes", "--snapshot", "--activate", "y"),
        List.of("--size", bytes(cowBytes), "--name", LvmName.lv(snapshot),
            LvmName.vg(vg) + "/" + LvmName.lv(origin)));
  }

  /**
   * A thin pool {@code vg/pool} over {@code percent}% of the group's free extents (the rest
   * stays free for lvm's metadata spare and growth of the pool's metadata).
   */
  public Command createThinPool(String vg, String pool, int percent) {
    if (percent < 1 || percent > 100) {
      throw new IllegalArgumentException("percent must be 1-100: " + percent);
    }
    return command("lvcreate", List.of("--yes", "--type", "thin-pool", "--activate", "y"),
        List.of("--extents", percent + "%FREE", "--name", LvmName.lv(pool), LvmName.vg(vg)));
  }

  /** Grows {@code vg/lv} to at least {@code sizeBytes}. */
  public Command extend(String vg, String lv, long sizeBytes) {
    return command("lvextend", List.of("--yes"),
        List.of("--size", bytes(sizeBytes), LvmName.vg(vg) + "/" + LvmName.lv(lv)));
  }

  /** Activates {@code vg/lv} (after a reboot volumes may be inactive). */
  public Command activate(String vg, String lv) {
    return command("lvchange", List.of("--activate", "y"),
        List.of(LvmName.vg(vg) + "/" + LvmName.lv(lv)));
  }

  public Command remove(String vg, String lv) {
    return command("lvremove", List.of("--yes"),
        List.of(LvmName.vg(vg) + "/" + LvmName.lv(lv)));
  }

  /** Makes {@code device} a physical volume; lvm refuses a device with a signature on it. */
  public Command createPhysicalVolume(String device) {
    return command("pvcreate", List.of(),
        List.of(Args.absolutePath("device", device).toString()));
  }

  public Command createVolumeGroup(String vg, String device) {
    return command("vgcreate", List.of(),
        List.of(LvmName.vg(vg), Args.absolutePath("device", device).toString()));
  }

  /** Runs a command built here, throwing {@link LvmException} unless it exits 0. */
  public CommandResult run(Command c) throws LvmException {
    try {
      return runner.check(c);
    } catch (CommandException e) {
      throw new LvmException(c.redacted(), e.stderr().strip(), e.getMessage(), e);
    }
  }

  /** The device node of a volume, {@code /dev/VG/LV}. */
  public static Path devicePath(String vg, String lv) {
    return Path.of("/dev", LvmName.vg(vg), LvmName.lv(lv));
  }

  private Command command(String name, List<String> options, List<String> args) {
    List<String> argv = new ArrayList<>();
    argv.add(LVM);
    argv.add(name);
    if (!udev) {
      argv.add("--config");
      argv.add(NO_UDEV);
    }
    argv.addAll(options);
    argv.addAll(args);
    return new Command(argv, timeout, Set.of());
  }

  /** {@code --size 1073741824b}: lvm reads a {@code b} suffix as bytes. */
  static String bytes(long n) {
    if (n <= 0) {
      throw new IllegalArgumentException("size must be positive: " + n);
    }
    return n + "b";
  }

  private static LvmException unparsable(Command c, CommandResult r, IOException e) {
    return new LvmException(c.redacted(), r.stderr().strip(), "'" + c.redacted() + "': "
        + e.getMessage(), e);
  }
}
