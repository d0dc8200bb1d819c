package org.iscsicsi.target.scsi;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pins what CdbFuzzer found: a CDB shorter than its operation code's group length (SPC-4
 * 4.2.5.1) gets ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE on a LUN that exists and on one
 * that does not, where INQUIRY, REPORT LUNS and REQUEST SENSE used to read past its end and
 * answer INTERNAL TARGET FAILURE.
 */
class ShortCdbTest {

  @TempDir
  Path dir;

  @Test
  void cdbsCutShortAreInvalidOperationCodes() throws Exception {
    try (ScsiHarness h = new ScsiHarness(dir)) {
      h.attach(0, 1 << 20, true, false);
      ItNexus n = h.login(ScsiHarness.nexus("iqn.2026-11.org.iscsicsi:short", 1));
      for (long lun : new long[] {0, 7}) {
        for (int opcode : new int[] {0x03, 0x12, 0xa0, 0x28, 0x9e}) {
          for (int length = 1; length < Cdb.groupLength(opcode); length++) {
            assertThat(h.run(n, lun, ScsiHarness.cdb(opcode, length), null).outcome())
                .as("opcode %02x, %d bytes, LUN %d", opcode, length, lun).isEqualTo("5/20/00");
          }
        }
      }
    }
  }
}
