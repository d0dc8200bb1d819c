package org.iscsicsi.target.registry;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.state.LunRecord;

/**
 * Where a LUN's bytes come from: files in a directory ({@link FileBackend}) or volumes of an LVM
 * volume group, thick or in a thin pool ({@link LvmBackend}), or one LUN on a whole device
 * ({@link DeviceBackend}). A backend names the storage of a
 * new LUN or snapshot, makes and removes it, grows it before the {@link LogicalUnit} grows, and
 * reports its space; the LUN's I/O is the {@link LogicalUnit}'s on the path it names (a file or a
 * device node), so the SCSI layer never sees which backend it is.
 *
 * <p>The state records only the path of each LUN and snapshot; the backend that owns a path is
 * found by {@link #owns} ({@link Backends#of}), so a state written before LVM backends reads as
 * before.
 */
public sealed interface Backend permits FileBackend, LvmBackend, DeviceBackend {

  /** The name operators and StorageClasses use ({@code fileio}, {@code vg0}, ...). */
  String name();

  /** {@code fileio}, {@code lvm} or {@code lvm-thin}. */
  String type();

  /** Whether {@code path} (of a LUN or snapshot) lies in this backend. */
  boolean owns(Path path);

  /** Refuses a LUN this backend cannot provide (INVALID_ARGUMENT naming the backend). */
  void requireSupported(boolean thin);

  /** Refuses snapshots (FAILED_PRECONDITION) where the backend has nowhere to keep them. */
  default void requireSnapshots() {
  }

  /** Where a new LUN with this NAA goes. */
  Path lunPath(String naa);

  /** Where a new snapshot of a LUN of this backend goes. */
  Path snapshotPath(String id);

  /** Makes the storage of a new LUN, reading as zeros, and opens it. */
  LogicalUnit createEmpty(LunRecord rec) throws IOException;

  /** Grows what lies under {@code rec} to {@code newSize} before its unit grows. */
  void grow(LunRecord rec, long newSize) throws IOException;

  /**
   * Takes a snapshot of a LUN at {@link #snapshotPath}, one point in time (the unit's writes held
   * while it is taken); returns the LUN's size at that point.
   */
  default long snapshot(LogicalUnit unit, Path lun, Path snapshot) throws IOException {
    try (LogicalUnit.Quiesce _ = unit.quiesce()) {
      return snapshotHeld(unit, lun, snapshot);
    }
  }

  /**
   * As {@link #snapshot}, while the caller holds the unit's writes (a group snapshot holds every
   * member's before it takes the first).
   */
  long snapshotHeld(LogicalUnit unit, Path lun, Path snapshot) throws IOException;

  /** Makes a LUN's or snapshot's storage usable after a restart (an LVM volume: activated). */
  void prepare(Path path) throws IOException;

  /** Removes a LUN's or snapshot's storage; a failure is logged, as for files. */
  void delete(Path path);

  /** Bytes the storage of these LUNs or snapshots (path to size) takes; 0 (logged) if unknown. */
  long allocated(Map<Path, Long> sizes);

  /** Total and free bytes. */
  Space space() throws IOException;

  /** What a backend has. */
  record Space(long totalBytes, long availableBytes) {
  }
}
