package org.iscsicsi.target.registry;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.lun.LunConfig;
import org.iscsicsi.target.lvm.LogicalVolume;
import org.iscsicsi.target.lvm.LvmCommands;
import org.iscsicsi.target.lvm.LvmException;
import org.iscsicsi.target.lvm.LvmName;
import org.iscsicsi.target.lvm.VolumeGroup;
import org.iscsicsi.target.state.LunRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * LUNs as logical volumes of one volume group: linear ({@code lvm}, thick: the whole size is
 * taken at creation and zeroed before it is exported) or thin volumes of a thin pool
 * ({@code lvm-thin}: space taken as written, UNMAP discards, snapshots are thin snapshots). A
 * LUN is {@code VG/isc-<naa>}, a snapshot {@code VG/isc-snap-<id>}; the engine touches no other
 * volume of the group.
 */
final class LvmBackend implements Backend {

  private static final Logger log = LoggerFactory.getLogger(LvmBackend.class);
  static final String THICK = "lvm";
  static final String THIN = "lvm-thin";
  static final String LUN_PREFIX = "isc-";
  static final String SNAPSHOT_PREFIX = "isc-snap-";
  /** How long a report of lvm's is reused when nothing changed here. */
  static final long REPORT_TTL_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(5);

  private final String name;
  private final String vg;
  private final String pool;
  private final LvmCommands lvm;
  /**
   * The last {@code lvs} and {@code vgs} read, so that capacity reports do not run lvm each time.
   */
  private volatile Report last;

  /** What lvm reported, and when ({@link System#nanoTime}). */
  private record Report(long at, VolumeGroup group, List<LogicalVolume> volumes) {
  }

  /** A thick backend when {@code pool} is null, else thin volumes in {@code vg/pool}. */
  LvmBackend(String name, String vg, String pool, LvmCommands lvm) {
    this.name = name;
    this.vg = LvmName.vg(vg);
    this.pool = pool == null ? null : LvmName.lv(pool);
    this.lvm = lvm;
  }

  boolean thin() {
    return pool != null;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public String type() {
    return thin() ? THIN : THICK;
  }

  @Override
  public boolean owns(Path path) {
    return path.getParent() != null && path.getParent().equals(Path.of("/dev", vg))
        && path.getFileName().toString().startsWith(LUN_PREFIX);
  }

  @Override
  public void requireSupported(boolean thinLun) {
    if (thinLun && !thin()) {
      throw RegistryException.invalid("backend " + name + " (lvm, volume group " + vg
          + ") has no thin provisioning: ask for a thick LUN or use an lvm-thin backend");
    }
    if (!thinLun && thin()) {
      throw RegistryException.invalid("backend " + name + " (lvm-thin, " + vg + "/" + pool
          + ") provides thin LUNs only");
    }
  }

  @Override
  public Path lunPath(String naa) {
    return LvmCommands.devicePath(vg, LUN_PREFIX + naa);
  }

  @Override
  public Path snapshotPath(String id) {
    try {
      return LvmCommands.devicePath(vg, SNAPSHOT_PREFIX + id);
    } catch (IllegalArgumentException e) {
      throw RegistryException.invalid("snapshot id " + id + " cannot name an LVM volume: "
          + e.getMessage());
    }
  }

  @Override
  public LogicalUnit createEmpty(LunRecord rec) throws IOException {
    String lv = volume(Path.of(rec.file()));
    last = null;
    lvm.run(thin() ? lvm.createThin(vg, pool, lv, rec.sizeBytes())
        : lvm.createLinear(vg, lv, rec.sizeBytes()));
    LogicalUnit unit = null;
    try {
      unit = LogicalUnit.open(rec.toConfig());
      if (unit.condition().isPresent()) {
        throw new IOException(unit.condition().get());
      }
      if (!thin()) {
        unit.unmap(0, unit.sizeBytes()); // a thick unit zeroes: no LUN reads another's blocks
        unit.flush();
      }
      return unit;
    } catch (IOException | RuntimeException e) {
      if (unit != null) {
        OpenUnits.closeQuietly(unit);
      }
      delete(Path.of(rec.file()));
      throw e;
    }
  }

  @Override
  public void grow(LunRecord rec, long newSize) throws IOException {
    last = null;
    lvm.run(lvm.extend(vg, volume(Path.of(rec.file())), newSize));
  }

  /**
   * A thin LUN gets a thin snapshot (instant); a thick one a new linear volume holding a copy,
   * taken while the LUN's writes are held, as for files.
   */
  @Override
  public long snapshotHeld(LogicalUnit unit, Path lun, Path snapshot) throws IOException {
    String snap = volume(snapshot);
    last = null;
    long size = unit.sizeBytes();
    if (thin()) {
      lvm.run(lvm.snapshotThin(vg, volume(lun), snap));
      return size;
    }
    lvm.run(lvm.createLinear(vg, snap, size));
    LunConfig c = unit.config();
    try (LogicalUnit copy = LogicalUnit.open(new LunConfig(snapshot, size, c.blockSize(), false,
        false, c.serial(), c.naa()))) {
      copy.unmap(0, size);
      BlockCopy.copy(lun, size, copy);
    } catch (IOException | RuntimeException e) {
      delete(snapshot);
      throw e;
    }
    return size;
  }

  @Override
  public void prepare(Path path) throws IOException {
    if (!Files.exists(path)) {
      lvm.run(lvm.activate(vg, volume(path)));
    }
  }

  @Override
  public void delete(Path path) {
    last = null;
    try {
      lvm.run(lvm.remove(vg, volume(path)));
    } catch (LvmException | IllegalArgumentException e) {
      log.warn("cannot remove {}: {}", path, e.getMessage());
    }
  }

  @Override
  public long allocated(Map<Path, Long> sizes) {
    if (!thin()) {
      return sizes.values().stream().mapToLong(Long::longValue).sum();
    }
    try {
      Map<Path, Long> taken = new HashMap<>();
      for (LogicalVolume v : report().volumes()) {
        taken.put(Path.of("/dev", vg, v.name()), v.allocatedBytes());
      }
      return sizes.keySet().stream().mapToLong(p -> taken.getOrDefault(p, 0L)).sum();
    } catch (LvmException e) {
      log.warn("allocated bytes in {}/{}: {}", vg, pool, e.getMessage());
      return 0;
    }
  }

  @Override
  public Space space() throws IOException {
    Report r = report();
    if (!thin()) {
      return new Space(r.group().sizeBytes(), r.group().freeBytes());
    }
    List<LogicalVolume> lvs = r.volumes();
    LogicalVolume p = lvs.stream().filter(v -> v.name().equals(pool) && v.thinPool())
        .findFirst().orElseThrow(() -> new IOException("volume group " + vg
            + " has no thin pool " + pool));
    return new Space(p.sizeBytes(), p.sizeBytes() - p.allocatedBytes());
  }

  /**
   * What lvm reports of the group and its volumes, read again after {@link #REPORT_TTL_NANOS} or
   * a change this backend made (the engine's report and placement ask every few seconds).
   */
  private Report report() throws LvmException {
    Report r = last;
    long now = System.nanoTime();
    if (r == null || now - r.at() > REPORT_TTL_NANOS) {
      r = new Report(now, lvm.volumeGroup(vg), lvm.logicalVolumes(vg));
      last = r;
    }
    return r;
  }

  /** The volume name of a path this backend owns. */
  private String volume(Path path) {
    if (path.getParent() == null || !path.getParent().equals(Path.of("/dev", vg))) {
      throw new IllegalArgumentException(path + " is not a volume of " + vg);
    }
    return LvmName.lv(path.getFileName().toString());
  }

  @Override
  public String toString() {
    return name + " (" + type() + " " + vg + (thin() ? "/" + pool : "") + ")";
  }
}
