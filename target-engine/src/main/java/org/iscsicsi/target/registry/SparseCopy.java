package org.iscsicsi.target.registry;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Copies a LUN file without filling its holes: {@code cp --reflink=auto --sparse=always}, which
 * clones extents on btrfs/XFS and otherwise copies only data (SEEK_DATA/SEEK_HOLE), run with an
 * argv (no shell) on absolute, normalized paths, with a timeout.
 */
final class SparseCopy {

  private SparseCopy() {
  }

  /** Copies {@code from} to {@code to} (which must not exist) and fsyncs the copy. */
  static void copy(Path from, Path to, Duration timeout) throws IOException {
    checkPath(from);
    checkPath(to);
    if (!Files.isRegularFile(from)) {
      throw new IOException("source file " + from + " does not exist");
    }
    if (Files.exists(to)) {
      throw new IOException("destination file " + to + " already exists");
    }
    Process p = new ProcessBuilder(List.of("cp", "--reflink=auto", "--sparse=always", "--",
        from.toString(), to.toString()))
        .redirectErrorStream(true)
        .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
        .start();
    try {
      byte[] out = p.getInputStream().readNBytes(4096);
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        Files.deleteIfExists(to);
        throw new IOException("copying " + from + " to " + to + " took longer than " + timeout);
      }
      if (p.exitValue() != 0) {
        Files.deleteIfExists(to);
        throw new IOException("cp " + from + " " + to + " failed (exit " + p.exitValue() + "): "
            + new String(out, StandardCharsets.UTF_8).strip());
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while copying " + from, e);
    }
    try (var ch = java.nio.channels.FileChannel.open(to, java.nio.file.StandardOpenOption.WRITE)) {
      ch.force(true);
    }
  }

  private static void checkPath(Path p) {
    if (!p.isAbsolute() || !p.normalize().equals(p)) {
      throw new IllegalArgumentException("not an absolute, normalized path: " + p);
    }
  }
}
