package org.iscsicsi.target.lun;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A thin LUN larger than its backing filesystem (a real 8 MiB ext4 on a loop device): writing past
 * the free space fails with {@link SpaceExhaustedException} (ENOSPC), and punching holes gives the
 * space back so writes succeed again. Needs root for mount (skipped otherwise).
 */
class SpaceExhaustionTest {

  @TempDir
  Path dir;

  @Test
  void enospcIsReportedAndUnmapFreesSpace() throws Exception {
    assumeTrue(LoopFilesystem.usable(), "needs root, mkfs.ext4 and mount for a loop filesystem");
    try (LoopFilesystem fs = new LoopFilesystem(dir, 8 << 20)) {
      LunConfig c = new LunConfig(fs.mountPoint.resolve("big.img"), 64 << 20, 512, true, false,
          "FULL1", HexFormat.of().parseHex("600140500000000000000000000000bb"));
      try (LogicalUnit unit = LogicalUnit.create(c)) {
        ByteBuffer chunk = ByteBuffer.allocate(1 << 20);
        long offset = 0;
        SpaceExhaustedException full = null;
        while (offset < c.sizeBytes()) {
          try {
            unit.write(offset, chunk.clear(), false);
            unit.flush();
          } catch (SpaceExhaustedException e) {
            full = e;
            break;
          }
          offset += chunk.capacity();
        }
        assertThat(full).as("ENOSPC before 64 MiB on an 8 MiB filesystem").isNotNull();
        assertThat(offset).isLessThan(8 << 20);
        unit.unmap(0, offset);
        unit.write(0, chunk.clear(), true);
        long end = offset;
        assertThatThrownBy(() -> {
          for (long o = end; o < c.sizeBytes(); o += 1 << 20) {
            unit.write(o, ByteBuffer.allocate(1 << 20), false);
            unit.flush();
          }
        }).isInstanceOf(SpaceExhaustedException.class);
      }
    }
  }
}
