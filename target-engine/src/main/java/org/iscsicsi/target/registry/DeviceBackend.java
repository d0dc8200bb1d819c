package org.iscsicsi.target.registry;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.lvm.DiskSetup;
import org.iscsicsi.target.registry.RegistryException.Reason;
import org.iscsicsi.target.state.LunRecord;

/**
 * One LUN on a whole block device or partition ({@code blockio}, the seed's {@code Type=blockio}):
 * the LUN is the device's first {@code size} bytes, thick (UNMAP writes zeros in place), zeroed at
 * creation. A device that is mounted, held or carries a signature is refused when the LUN is
 * made, so an operator's data is never overwritten; the device keeps its content when the LUN is
 * deleted, and the next LUN zeroes it. No snapshots (there is nowhere to put one); clones and
 * restores into it copy.
 */
final class DeviceBackend implements Backend {

  static final String TYPE = "blockio";

  private final String name;
  private final Path device;
  private final DiskSetup checks;

  DeviceBackend(String name, Path device, DiskSetup checks) {
    this.name = name;
    this.device = device;
    this.checks = checks;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public String type() {
    return TYPE;
  }

  @Override
  public boolean owns(Path path) {
    return path.equals(device);
  }

  @Override
  public void requireSupported(boolean thin) {
    if (thin) {
      throw RegistryException.invalid("backend " + name + " (blockio, " + device + ") has no "
          + "thin provisioning: ask for a thick LUN");
    }
  }

  @Override
  public void requireSnapshots() {
    throw new RegistryException(Reason.FAILED_PRECONDITION, "backend " + name + " (blockio, "
        + device + ") holds one LUN and no snapshots");
  }

  @Override
  public Path lunPath(String naa) {
    return device;
  }

  @Override
  public Path snapshotPath(String id) {
    requireSnapshots();
    return device;
  }

  @Override
  public LogicalUnit createEmpty(LunRecord rec) throws IOException {
    try {
      checks.requireUnused(device, device.toRealPath());
    } catch (IOException e) {
      throw new RegistryException(Reason.FAILED_PRECONDITION, "backend " + name + ": "
          + e.getMessage(), e);
    }
    LogicalUnit unit = LogicalUnit.open(rec.toConfig());
    try {
      if (unit.condition().isPresent()) {
        throw new IOException(unit.condition().get());
      }
      unit.unmap(0, unit.sizeBytes()); // thick: zeros in place, no LUN reads old blocks
      unit.flush();
      return unit;
    } catch (IOException | RuntimeException e) {
      OpenUnits.closeQuietly(unit);
      throw e;
    }
  }

  @Override
  public void grow(LunRecord rec, long newSize) throws IOException {
    long size = deviceSize();
    if (newSize > size) {
      throw new RegistryException(Reason.RESOURCE_EXHAUSTED, "backend " + name + " (blockio, "
          + device + ") has " + size + " bytes; LUN " + rec.lun() + " cannot grow to "
          + newSize);
    }
  }

  @Override
  public long snapshotHeld(LogicalUnit unit, Path lun, Path snapshot) {
    requireSnapshots();
    return 0;
  }

  @Override
  public void prepare(Path path) {
    // the device is there or the LUN reports it missing
  }

  @Override
  public void delete(Path path) {
    // the device stays as it is; the next LUN on it is zeroed when made
  }

  @Override
  public long allocated(Map<Path, Long> sizes) {
    return sizes.values().stream().mapToLong(Long::longValue).sum();
  }

  /** The whole device (its one LUN, if any, is counted against it by the pool accounting). */
  @Override
  public Space space() throws IOException {
    return new Space(deviceSize(), deviceSize());
  }

  private long deviceSize() throws IOException {
    try (FileChannel ch = FileChannel.open(device, StandardOpenOption.READ)) {
      return ch.size();
    }
  }
}
