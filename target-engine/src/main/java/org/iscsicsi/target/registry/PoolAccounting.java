package org.iscsicsi.target.registry;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.registry.RegistryException.Reason;
import org.iscsicsi.target.state.LunRecord;
import org.iscsicsi.target.state.TargetRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pool's space: what the filesystem of the LUN directory has free, what LUNs are promised
 * (provisioned) and what their files really take (allocated), and the refusal of a change that
 * needs more than is free.
 *
 * <p>An allocated size that cannot be read counts as 0 (logged), so that one bad file does not
 * hide the whole pool; an unreadable filesystem is an INTERNAL error. {@code PoolAccountingTest}
 * pins the sums, the RESOURCE_EXHAUSTED refusal and that an unreadable file counts as 0.
 */
final class PoolAccounting {

  private static final Logger log = LoggerFactory.getLogger(PoolAccounting.class);

  private final Path lunDir;

  PoolAccounting(Path lunDir) {
    this.lunDir = lunDir;
  }

  long usableBytes() {
    try {
      return Files.getFileStore(lunDir).getUsableSpace();
    } catch (IOException e) {
      throw unreadable(e);
    }
  }

  /**
   * Throws RESOURCE_EXHAUSTED ("the pool has N bytes free, " + {@code what}) when {@code need}
   * exceeds the free space.
   */
  void requireRoom(long need, String what) {
    long usable = usableBytes();
    if (need > usable) {
      throw new RegistryException(Reason.RESOURCE_EXHAUSTED, "the pool has " + usable
          + " bytes free, " + what);
    }
  }

  /**
   * Throws RESOURCE_EXHAUSTED ("backend B has N bytes free, " + {@code what}) when {@code need}
   * exceeds what {@code backend} has free; the file backend as {@link #requireRoom(long, String)}.
   */
  void requireRoom(Backend backend, long need, String what) {
    if (backend instanceof FileBackend) {
      requireRoom(need, what);
      return;
    }
    long free;
    try {
      free = backend.space().availableBytes();
    } catch (IOException e) {
      throw new RegistryException(Reason.INTERNAL, "cannot read the space of backend "
          + backend.name() + ": " + e.getMessage(), e);
    }
    if (need > free) {
      throw new RegistryException(Reason.RESOURCE_EXHAUSTED, "backend " + backend.name()
          + " has " + free + " bytes free, " + what);
    }
  }

  /**
   * Each backend's space and what its LUNs promise and take, the default first. A backend whose
   * space cannot be read reports 0 total and free (logged), so one missing volume group does not
   * hide the others.
   */
  List<BackendStatus> backends(Backends backends, Collection<TargetRecord> targets,
      OpenUnits units) {
    List<BackendStatus> out = new ArrayList<>();
    for (Backend b : backends.all()) {
      if (b instanceof FileBackend) {
        PoolStatus p = status(targets, units, f -> backends.of(f) == b);
        out.add(new BackendStatus(b.name(), b.type(), p.totalBytes(), p.availableBytes(),
            p.provisionedBytes(), p.allocatedBytes()));
        continue;
      }
      Map<Path, Long> sizes = new HashMap<>();
      for (TargetRecord t : targets) {
        for (LunRecord l : t.luns()) {
          Path f = Path.of(l.file());
          if (b.owns(f)) {
            sizes.put(f, l.sizeBytes());
          }
        }
      }
      long provisioned = sizes.values().stream().mapToLong(Long::longValue).sum();
      Backend.Space space;
      try {
        space = b.space();
      } catch (IOException e) {
        log.warn("space of backend {}: {}", b.name(), e.getMessage());
        space = new Backend.Space(0, 0);
      }
      // a device backend's one LUN takes it all
      long free = b instanceof DeviceBackend && !sizes.isEmpty() ? 0 : space.availableBytes();
      out.add(new BackendStatus(b.name(), b.type(), space.totalBytes(), free, provisioned,
          b.allocated(sizes)));
    }
    return out;
  }

  /**
   * Provisioned and allocated bytes of the LUNs whose files {@code counted} accepts (a LUN not
   * open allocates 0), and the space of the LUN directory's filesystem.
   */
  PoolStatus status(Collection<TargetRecord> targets, OpenUnits units, Predicate<Path> counted) {
    long provisioned = 0;
    long allocated = 0;
    for (TargetRecord t : targets) {
      for (LunRecord l : t.luns()) {
        if (!counted.test(Path.of(l.file()))) {
          continue;
        }
        provisioned += l.sizeBytes();
        LogicalUnit u = units.unit(t.name(), l.lun());
        allocated += u == null ? 0 : allocated(u);
      }
    }
    try {
      FileStore fs = Files.getFileStore(lunDir);
      return new PoolStatus(fs.getUsableSpace(), fs.getTotalSpace(), provisioned, allocated);
    } catch (IOException e) {
      throw unreadable(e);
    }
  }

  /** Bytes the LUN's file takes on disk, 0 (logged) when that cannot be read. */
  static long allocated(LogicalUnit u) {
    try {
      return u.allocatedBytes();
    } catch (IOException e) {
      log.warn("allocated bytes of {}: {}", u.config().file(), e.toString());
      return 0;
    }
  }

  /** Bytes the file takes on disk, 0 (logged) when that cannot be read. */
  static long allocated(Path file) {
    try {
      return FileBlocks.allocatedBytes(file);
    } catch (IOException e) {
      log.warn("allocated bytes of {}: {}", file, e.toString());
      return 0;
    }
  }

  private static RegistryException unreadable(IOException e) {
    return new RegistryException(Reason.INTERNAL, "cannot read the pool's filesystem: "
        + e.getMessage(), e);
  }
}
