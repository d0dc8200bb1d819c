package org.iscsicsi.target.lun;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What a {@link LogicalUnit}'s bytes lie on, for the few things where a file and a block device
 * differ: the size found at open, how the unit grows, whether holes can be found and what it
 * takes on disk. Positional reads and writes, {@code fdatasync} (FUA, SYNCHRONIZE CACHE) and
 * {@code fallocate} (UNMAP: on a block device the kernel turns PUNCH_HOLE into a discard and
 * ZERO_RANGE into a write of zeroes) are the same on both: {@link BackingFile}, {@link
 * Provisioning}.
 */
sealed interface UnitMedium permits FileMedium, DeviceMedium {

  /** The file type bits of {@code st_mode} and the block device type (inode(7)). */
  int S_IFMT = 0170000;
  int S_IFBLK = 0060000;

  /** A block device node names a device; anything else (or nothing yet) a file. */
  static UnitMedium of(Path path) {
    try {
      int mode = (Integer) Files.getAttribute(path, "unix:mode");
      if ((mode & S_IFMT) == S_IFBLK) {
        return DeviceMedium.INSTANCE;
      }
    } catch (IOException | UnsupportedOperationException e) {
      // not there yet or not a Unix filesystem: a file, whose open then says what is wrong
    }
    return FileMedium.INSTANCE;
  }

  /**
   * The unit's size when opened: at least {@code config.sizeBytes()}, restoring it where the
   * medium allows, else an IOException saying why the unit cannot serve its recorded size.
   */
  long sizeAtOpen(LunConfig config, FileChannel channel, NativeFile nativeFile)
      throws IOException;

  /** Makes room for {@code [oldSize, newSize)}; on failure the unit keeps {@code oldSize}. */
  void grow(LunConfig config, FileChannel channel, NativeFile nativeFile, long oldSize,
      long newSize) throws IOException;

  /** Whether SEEK_DATA/SEEK_HOLE say which ranges are mapped (a block device has no holes). */
  boolean findsHoles();

  /** Bytes the unit takes where it lies. */
  long allocatedBytes(NativeFile nativeFile, long sizeBytes) throws IOException;
}
