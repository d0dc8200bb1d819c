package org.iscsicsi.target.scsi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iscsicsi.target.scsi.ScsiHarness.rw10;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.util.HexFormat;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.lun.LoopFilesystem;
import org.iscsicsi.target.lun.LunConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * WRITE to a thin LUN whose backing filesystem (a real 8 MiB ext4 on a loop device) is full ends
 * with DATA PROTECT, SPACE ALLOCATION FAILED WRITE PROTECT (07/27/07, SBC-3 4.7.3.6); after UNMAP
 * frees space, writes succeed again. Needs root for mount (skipped otherwise).
 */
class SpaceAllocationFailureTest {

  @TempDir
  Path dir;

  @Test
  void fullFilesystemGivesSpaceAllocationFailed() throws Exception {
    assumeTrue(LoopFilesystem.usable(), "needs root, mkfs.ext4 and mount for a loop filesystem");
    try (LoopFilesystem fs = new LoopFilesystem(dir, 8 << 20);
        ScsiHarness h = new ScsiHarness(dir)) {
      LunConfig c = new LunConfig(fs.mountPoint.resolve("lun.img"), 32 << 20, 512, true, false,
          "FULL2", HexFormat.of().parseHex("600140500000000000000000000000cc"));
      h.port.attach(0, LogicalUnit.create(c));
      ItNexus n = h.login(ScsiHarness.nexus("iqn.2026-01.org.iscsicsi:full", 1));
      byte[] data = ScsiHarness.pattern(1 << 20, 1);
      String outcome = "GOOD";
      int mib = 0;
      while (mib < 32 && outcome.equals("GOOD")) {
        outcome = h.run(n, 0, rw10(0x2a, mib * 2048L, 2048, 0x08), data).outcome();
        mib++;
      }
      assertThat(outcome).isEqualTo("7/27/07");
      byte[] params = new byte[24];
      Cdb.put16(params, 2, 16);
      Cdb.put32(params, 16, 4 * 2048);
      assertThat(h.run(n, 0, ScsiHarness.cdb(0x42, 10, 8, 24), params).outcome())
          .isEqualTo("GOOD");
      assertThat(h.run(n, 0, rw10(0x2a, 0, 2048, 0x08), data).outcome()).isEqualTo("GOOD");
    }
  }
}
