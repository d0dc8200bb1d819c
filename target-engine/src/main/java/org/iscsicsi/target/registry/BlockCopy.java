package org.iscsicsi.target.registry;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.iscsicsi.target.lun.ImageFile;
import org.iscsicsi.target.lun.LogicalUnit;

/**
 * Copies a LUN or snapshot image (a file or a block device) into a new LUN that reads as zeros,
 * in 1 MiB pieces: holes of a file (SEEK_DATA) and pieces that read as zeros are not written, so
 * a thin destination stays thin. Flushed to stable storage before it returns.
 */
final class BlockCopy {

  static final int PIECE = 1 << 20;

  private BlockCopy() {
  }

  /** Copies the first {@code length} bytes of {@code source} to the start of {@code into}. */
  static void copy(Path source, long length, LogicalUnit into) throws IOException {
    boolean file = Files.isRegularFile(source);
    ByteBuffer piece = ByteBuffer.allocateDirect(PIECE);
    try (ImageFile src = ImageFile.open(source)) {
      for (long at = 0; at < length; at += PIECE) {
        int n = (int) Math.min(PIECE, length - at);
        if (file && !src.hasData(at, n)) {
          continue;
        }
        piece.clear().limit(n);
        src.read(at, piece);
        piece.flip();
        if (!zeros(piece)) {
          into.write(at, piece, false);
        }
      }
    }
    into.flush();
  }

  private static boolean zeros(ByteBuffer b) {
    int i = b.position();
    int end = b.limit();
    for (; i + Long.BYTES <= end; i += Long.BYTES) {
      if (b.getLong(i) != 0) {
        return false;
      }
    }
    for (; i < end; i++) {
      if (b.get(i) != 0) {
        return false;
      }
    }
    return true;
  }
}
