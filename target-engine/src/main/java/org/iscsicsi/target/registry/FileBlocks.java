package org.iscsicsi.target.registry;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Bytes a file really occupies (st_blocks), which Java's file attribute views do not expose:
 * asked of coreutils' {@code stat} with an argv and a timeout.
 */
final class FileBlocks {

  private FileBlocks() {
  }

  static long allocatedBytes(Path file) throws IOException {
    Path abs = file.toAbsolutePath().normalize();
    Process p = new ProcessBuilder(List.of("stat", "--format=%b %B", "--", abs.toString()))
        .redirectErrorStream(true).start();
    try {
      String out = new String(p.getInputStream().readNBytes(512), StandardCharsets.UTF_8).strip();
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException("stat " + abs + " timed out");
      }
      if (p.exitValue() != 0) {
        throw new IOException("stat " + abs + " failed: " + out);
      }
      String[] parts = out.split(" ");
      return Long.parseLong(parts[0]) * Long.parseLong(parts[1]);
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
      throw new IOException("unexpected output of stat for " + abs, e);
    }
  }
}
