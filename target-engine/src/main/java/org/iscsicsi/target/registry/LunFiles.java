package org.iscsicsi.target.registry;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.iscsicsi.target.lun.ImageFile;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.registry.RegistryException.Reason;
import org.iscsicsi.target.state.LunRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The files behind LUNs and snapshots: where they live, how a new one is made (empty, or a sparse
 * copy of a live LUN whose writes are held meanwhile, or of a snapshot) and removed, and which
 * files nothing names. Knows nothing of the state: the registry orders file and state changes.
 */
final class LunFiles {

  private static final Logger log = LoggerFactory.getLogger(LunFiles.class);

  private final Path lunDir;
  private final Path snapshotDir;
  private final Duration copyTimeout;

  LunFiles(Path lunDir, Path snapshotDir, Duration copyTimeout) {
    this.lunDir = lunDir.toAbsolutePath().normalize();
    this.snapshotDir = snapshotDir.toAbsolutePath().normalize();
    this.copyTimeout = copyTimeout;
  }

  Path lunDir() {
    return lunDir;
  }

  Path snapshotDir() {
    return snapshotDir;
  }

  /** The file of a new LUN, named by its NAA so that it is unique across targets. */
  Path lunFile(String naa) {
    return lunDir.resolve(naa + ".img");
  }

  Path snapshotFile(String id) {
    return snapshotDir.resolve(id + ".img");
  }

  /**
   * Creates a LUN's file and opens it: empty when {@code source} is null, else a copy of it
   * (grown sparsely to the LUN's size) taken while {@code sourceUnit}'s writes are held, if the
   * source is a live LUN. On failure the partial file is removed. Slow: run it outside the lock.
   */
  LogicalUnit materialize(Backend backend, LunRecord rec, Path source, LogicalUnit sourceUnit) {
    if (!(backend instanceof FileBackend) || source != null && !Files.isRegularFile(source)) {
      return byBlockCopy(backend, rec, source, sourceUnit); // a device is not cp's to copy
    }
    Path file = Path.of(rec.file());
    try {
      if (source == null) {
        return LogicalUnit.create(rec.toConfig());
      }
      if (sourceUnit != null) {
        copyHeld(sourceUnit, source, file);
      } else {
        SparseCopy.copy(source, file, copyTimeout);
      }
      try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
        if (raf.length() < rec.sizeBytes()) {
          raf.setLength(rec.sizeBytes());
        }
        raf.getFD().sync();
      }
      return LogicalUnit.open(rec.toConfig());
    } catch (IOException | RuntimeException e) {
      delete(file);
      throw new RegistryException(Reason.INTERNAL, "creating the file of LUN " + rec.lun()
          + " failed: " + e.getMessage(), e);
    }
  }

  /**
   * Makes a LUN on a block-device backend, or from a source on one: the backend's new volume or
   * file, zeros, then the source's bytes copied in ({@link BlockCopy}, writes of a live source
   * held meanwhile). On failure what was made is removed.
   */
  private LogicalUnit byBlockCopy(Backend backend, LunRecord rec, Path source,
      LogicalUnit sourceUnit) {
    LogicalUnit unit = null;
    try {
      unit = backend.createEmpty(rec);
      if (source != null) {
        if (sourceUnit != null) {
          try (LogicalUnit.Quiesce _ = sourceUnit.quiesce()) {
            BlockCopy.copy(source, sourceUnit.sizeBytes(), unit);
          }
        } else {
          try (ImageFile image = ImageFile.open(source)) {
            BlockCopy.copy(source, Math.min(image.sizeBytes(), rec.sizeBytes()), unit);
          }
        }
      }
      return unit;
    } catch (IOException | RuntimeException e) {
      if (unit != null) {
        OpenUnits.closeQuietly(unit);
        backend.delete(Path.of(rec.file()));
      }
      if (e instanceof RegistryException r) {
        throw r;
      }
      throw new RegistryException(Reason.INTERNAL, "creating LUN " + rec.lun() + " on backend "
          + backend.name() + " failed: " + e.getMessage(), e);
    }
  }

  /**
   * Copies a live LUN's file to {@code to} while its writes are held, so that the copy is one
   * point in time; returns the LUN's size at that point.
   */
  long copyHeld(LogicalUnit unit, Path from, Path to) throws IOException {
    try (LogicalUnit.Quiesce _ = unit.quiesce()) {
      long size = unit.sizeBytes();
      copyWhileHeld(from, to);
      return size;
    }
  }

  /** Copies a LUN's file whose writes the caller holds (see {@link LogicalUnit#quiesce}). */
  void copyWhileHeld(Path from, Path to) throws IOException {
    SparseCopy.copy(from, to, copyTimeout);
  }

  /**
   * Warns about image files in the pool or snapshot directory that are not {@code known}: left by
   * a crash between copying a file and recording it, or by another engine sharing the directory.
   * Never deleted automatically.
   */
  void warnAboutOrphans(Set<Path> known) {
    for (Path d : List.of(lunDir, snapshotDir)) {
      try (var files = Files.list(d)) {
        files.filter(f -> f.toString().endsWith(".img") && !known.contains(f))
            .forEach(f -> log.warn("{} belongs to no LUN or snapshot of this engine", f));
      } catch (IOException e) {
        log.warn("cannot list {}: {}", d, e.toString());
      }
    }
  }

  /**
   * Removes a file the state no longer names (or never named); a failure leaves an orphan, which
   * is logged here and at the next start, rather than failing a change that is already saved.
   */
  static void delete(Path file) {
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      log.warn("cannot delete {}: {}", file, e.toString());
    }
  }
}
