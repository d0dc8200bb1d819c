package org.iscsicsi.target.lun;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.HexFormat;

/** Fixtures of the LUN tests: a thin or thick LUN's config in a directory, and data patterns. */
final class LunFixtures {

  private static final byte[] NAA = HexFormat.of().parseHex("600140500000000000000000000000aa");

  private LunFixtures() {
  }

  /** A writable LUN with 512-byte blocks in {@code dir}, its serial derived from the name. */
  static LunConfig config(Path dir, String name, long size, boolean thin) {
    return new LunConfig(dir.resolve(name), size, 512, thin, false, "S-" + name, NAA.clone());
  }

  /** {@code length} bytes that differ from those of another seed and never form a zero block. */
  static ByteBuffer pattern(int length, int seed) {
    return fill(ByteBuffer.allocate(length), seed);
  }

  /** {@link #pattern} in a direct buffer, as the network hands the LUN its data. */
  static ByteBuffer directPattern(int length, int seed) {
    return fill(ByteBuffer.allocateDirect(length), seed);
  }

  private static ByteBuffer fill(ByteBuffer b, int seed) {
    for (int i = 0; i < b.capacity(); i++) {
      b.put((byte) (i * 13 + seed));
    }
    return b.flip();
  }
}
