package org.iscsicsi.target.state;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Replaces a small file atomically and durably, owner-only (0600): a temporary file beside it,
 * fsync, rename over the old one, fsync of the directory. A crash at any moment leaves either the
 * old or the new content.
 */
public final class AtomicFiles {

  private static final String TMP_SUFFIX = ".tmp";

  private AtomicFiles() {
  }

  /** Writes {@code bytes} to {@code file} (via {@code file}.tmp in the same directory). */
  public static void replace(Path file, byte[] bytes) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + TMP_SUFFIX);
    Files.deleteIfExists(tmp);
    try (FileChannel ch = FileChannel.open(tmp, Set.of(StandardOpenOption.CREATE_NEW,
        StandardOpenOption.WRITE),
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
      ByteBuffer buf = ByteBuffer.wrap(bytes);
      while (buf.hasRemaining()) {
        ch.write(buf);
      }
      ch.force(true);
    }
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    fsyncDirectory(file.toAbsolutePath().getParent());
  }

  /** Makes a rename or a new file in {@code directory} durable (Linux: fsync on the directory). */
  public static void fsyncDirectory(Path directory) throws IOException {
    try (FileChannel ch = FileChannel.open(directory, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }
}
