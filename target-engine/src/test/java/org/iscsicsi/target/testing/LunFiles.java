package org.iscsicsi.target.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Compares the LUN files of a replicated volume's members, as the replication tests check that
 * members hold the same bytes (ReplicatedEnginesIT, FailoverIT, ReplicatedPoolIT).
 */
public final class LunFiles {
  /** Compared this much at a time; a difference is named to the byte. */
  private static final int STEP = 1 << 20;

  private LunFiles() {}

  /**
   * Every file of {@code names} holds the same first {@code bytes} as the first one; fails naming
   * the member and the first byte that differs.
   */
  public static void assertIdentical(Map<String, Path> files, List<String> names, long bytes)
      throws IOException {
    Path reference = files.get(names.getFirst());
    for (String name : names.subList(1, names.size())) {
      try (FileChannel x = FileChannel.open(reference);
          FileChannel y = FileChannel.open(files.get(name))) {
        ByteBuffer bx = ByteBuffer.allocate(STEP);
        ByteBuffer by = ByteBuffer.allocate(STEP);
        for (long at = 0; at < bytes; at += STEP) {
          bx.clear();
          by.clear();
          x.read(bx, at);
          y.read(by, at);
          int diff = bx.flip().mismatch(by.flip());
          assertThat(diff).as(name + " differs from " + names.getFirst() + " at byte "
              + (at + diff)).isEqualTo(-1);
        }
      }
    }
  }

  /** How many {@code chunk}-sized pieces of the first {@code bytes} of the two files differ. */
  public static long differingChunks(Path x, Path y, long bytes, int chunk) throws IOException {
    long n = 0;
    try (FileChannel a = FileChannel.open(x);
        FileChannel b = FileChannel.open(y)) {
      ByteBuffer ba = ByteBuffer.allocate(chunk);
      ByteBuffer bb = ByteBuffer.allocate(chunk);
      for (long at = 0; at < bytes; at += chunk) {
        ba.clear();
        bb.clear();
        a.read(ba, at);
        b.read(bb, at);
        if (ba.flip().mismatch(bb.flip()) != -1) {
          n++;
        }
      }
    }
    return n;
  }
}
