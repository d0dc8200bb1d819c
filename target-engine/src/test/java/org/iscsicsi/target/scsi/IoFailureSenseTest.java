package org.iscsicsi.target.scsi;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.lun.SpaceExhaustedException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sense data for failures of the backing file: an I/O error while reading is MEDIUM ERROR,
 * UNRECOVERED READ ERROR (03/11/00), while writing MEDIUM ERROR, WRITE ERROR (03/0C/00); ENOSPC is
 * SPACE ALLOCATION FAILED WRITE PROTECT (07/27/07); a missing backing file is NOT READY (02/04/03).
 *
 * <p>EIO cannot be produced on this machine (no device-mapper "error" target), so the first two
 * cases throw the IOException from the I/O task itself, through the real executor and mapping;
 * the ENOSPC case on a real full filesystem is {@link SpaceAllocationFailureTest}.
 */
class IoFailureSenseTest {

  @TempDir
  Path dir;

  private static String outcome(ScsiResponse r) {
    byte[] s = r.sense();
    return String.format("%X/%02X/%02X", s[2] & 0xf, s[12] & 0xff, s[13] & 0xff);
  }

  @Test
  void ioErrorsBecomeMediumErrorsAndEnospcSpaceAllocationFailed() throws Exception {
    try (ScsiHarness h = new ScsiHarness(dir)) {
      LogicalUnit unit = h.attach(0, 1 << 20, true, false);
      ItNexus n = ScsiHarness.nexus("iqn.2026-01.org.iscsicsi:a", 1);
      LunState lu = new LunState(0, unit, (x, y) -> { });
      ScsiRequest request = new ScsiRequest(n, 0, ScsiHarness.rw10(0x28, 0, 1, 0), 1,
          TaskAttribute.SIMPLE, DataDirection.READ, 512, null);
      CommandContext c = new CommandContext(request, h.port, lu, Runnable::run, false);
      ScsiResponse read = c.io(false, () -> {
        throw new IOException("Input/output error");
      }).toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertThat(outcome(read)).isEqualTo("3/11/00");
      ScsiResponse write = c.io(true, () -> {
        throw new IOException("Input/output error");
      }).toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertThat(outcome(write)).isEqualTo("3/0C/00");
      ScsiResponse full = c.io(true, () -> {
        throw new SpaceExhaustedException("full", null);
      }).toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertThat(outcome(full)).isEqualTo("7/27/07");
    }
  }

  @Test
  void missingBackingFileIsNotReady() throws Exception {
    try (ScsiHarness h = new ScsiHarness(dir)) {
      LogicalUnit unit = h.attach(0, 1 << 20, true, false);
      ItNexus n = h.login(ScsiHarness.nexus("iqn.2026-01.org.iscsicsi:a", 1));
      Files.delete(unit.config().file());
      assertThat(h.run(n, ScsiHarness.cdb(0x00, 6)).outcome()).isEqualTo("2/04/03");
    }
  }
}
