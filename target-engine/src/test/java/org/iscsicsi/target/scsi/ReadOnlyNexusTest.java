package org.iscsicsi.target.scsi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iscsicsi.target.scsi.ScsiHarness.cdb;
import static org.iscsicsi.target.scsi.ScsiHarness.rw10;
import static org.iscsicsi.target.scsi.ScsiHarness.rw16;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pins that a read-only grant changes nothing other initiators see: every medium write (WRITE,
 * WRITE AND VERIFY, WRITE SAME, ORWRITE, COMPARE AND WRITE, UNMAP) and every command that changes
 * shared state (PERSISTENT RESERVE OUT, RESERVE/RELEASE (6)/(10), MODE SELECT (6)/(10)) gets DATA
 * PROTECT, WRITE PROTECTED, and leaves the reservations and the caching mode page as they were;
 * reading commands still work; a read-write nexus is unaffected.
 */
class ReadOnlyNexusTest {

  private static final long SIZE = 1 << 20;
  private static final String WRITE_PROTECTED = "7/27/00";

  @TempDir
  Path dir;
  private ScsiHarness h;
  private ItNexus rw;
  private ItNexus ro;

  @BeforeEach
  void setUp() throws Exception {
    h = new ScsiHarness(dir);
    h.attach(0, SIZE, true, false);
    rw = h.login(ScsiHarness.nexus("iqn.2026-11.org.iscsicsi:rw", 1));
    ro = h.login(ScsiHarness.readOnlyNexus("iqn.2026-11.org.iscsicsi:ro"));
  }

  @AfterEach
  void tearDown() throws Exception {
    h.close();
  }

  /** PERSISTENT RESERVE OUT with the basic 24-byte parameter list. */
  private static byte[] prOut(int action, int type) {
    byte[] c = cdb(0x5f, 10, 1, action, 2, type);
    Cdb.put32(c, 5, 24);
    return c;
  }

  private static byte[] prOutParameters(long key, long serviceActionKey) {
    byte[] p = new byte[24];
    Cdb.put64(p, 0, key);
    Cdb.put64(p, 8, serviceActionKey);
    return p;
  }

  /** MODE SELECT (10) of the caching page with WCE as given (page format, 8-byte header). */
  private static byte[] cachingPage(boolean wce) {
    byte[] p = new byte[8 + 20];
    p[8] = 0x08;
    p[9] = 18;
    p[10] = (byte) (wce ? 0x04 : 0);
    return p;
  }

  @Test
  void mediumWritesAreWriteProtected() {
    byte[] block = new byte[512];
    assertThat(h.run(ro, 0, rw10(0x2a, 0, 1, 0), block).outcome()).isEqualTo(WRITE_PROTECTED);
    assertThat(h.run(ro, 0, rw10(0x2e, 0, 1, 0), block).outcome()).isEqualTo(WRITE_PROTECTED);
    assertThat(h.run(ro, 0, rw10(0x41, 0, 1, 0), block).outcome()).isEqualTo(WRITE_PROTECTED);
    assertThat(h.run(ro, 0, rw16(0x8b, 0, 1, 0), block).outcome()).isEqualTo(WRITE_PROTECTED);
    byte[] caw = rw16(0x89, 0, 0, 0);
    caw[13] = 1;
    assertThat(h.run(ro, 0, caw, new byte[1024]).outcome()).isEqualTo(WRITE_PROTECTED);
    byte[] unmap = new byte[24];
    Cdb.put16(unmap, 0, 22);
    Cdb.put16(unmap, 2, 16);
    Cdb.put32(unmap, 16, 1);
    assertThat(h.run(ro, 0, cdb(0x42, 10, 8, 24), unmap).outcome()).isEqualTo(WRITE_PROTECTED);
    assertThat(h.run(ro, 0, rw10(0x28, 0, 1, 0), null).outcome()).isEqualTo("GOOD");
  }

  @Test
  void persistentReserveOutIsWriteProtectedAndRegistersNothing() {
    for (int action = 0; action <= 6; action++) {
      int type = action == 0 || action == 3 || action == 6 ? 0 : 1;
      assertThat(h.run(ro, 0, prOut(action, type), prOutParameters(0, 0x1234)).outcome())
          .as("PR OUT service action %d", action).isEqualTo(WRITE_PROTECTED);
    }
    // READ KEYS: no registration was made
    byte[] keys = h.run(ro, 0, cdb(0x5e, 10, 1, 0x00, 8, 0xff), null).data();
    assertThat(Cdb.u32(keys, 4)).as("additional length of READ KEYS").isZero();
    // a read-write nexus registers as before
    assertThat(h.run(rw, 0, prOut(0, 0), prOutParameters(0, 0x1234)).outcome())
        .isEqualTo("GOOD");
  }

  @Test
  void legacyReservationsAreWriteProtected() {
    assertThat(h.run(ro, 0, cdb(0x16, 6), null).outcome()).isEqualTo(WRITE_PROTECTED);
    assertThat(h.run(ro, 0, cdb(0x56, 10), null).outcome()).isEqualTo(WRITE_PROTECTED);
    assertThat(h.run(ro, 0, cdb(0x17, 6), null).outcome()).isEqualTo(WRITE_PROTECTED);
    assertThat(h.run(ro, 0, cdb(0x57, 10), null).outcome()).isEqualTo(WRITE_PROTECTED);
    // nothing was reserved: the read-write nexus still writes
    assertThat(h.run(rw, 0, rw10(0x2a, 0, 1, 0), new byte[512]).outcome()).isEqualTo("GOOD");
  }

  @Test
  void modeSelectIsWriteProtectedAndLeavesTheCachingPage() {
    byte[] six = new byte[4 + 20];
    six[4] = 0x08;
    six[5] = 18;
    assertThat(h.run(ro, 0, cdb(0x15, 6, 1, 0x10, 4, six.length), six).outcome())
        .isEqualTo(WRITE_PROTECTED);
    byte[] ten = cachingPage(false);
    assertThat(h.run(ro, 0, cdb(0x55, 10, 1, 0x10, 8, ten.length), ten).outcome())
        .isEqualTo(WRITE_PROTECTED);
    // the caching page (MODE SENSE(6), page 08h) still has WCE set, as the LUN started
    byte[] sense = h.run(rw, 0, cdb(0x1a, 6, 2, 0x08, 4, 0xff), null).data();
    int page = 4 + (sense[3] & 0xff);
    assertThat(sense[page] & 0x3f).isEqualTo(0x08);
    assertThat(sense[page + 2] & 0x04).as("WCE").isEqualTo(0x04);
    assertThat(h.run(rw, 0, cdb(0x55, 10, 1, 0x10, 8, ten.length), ten).outcome())
        .as("a read-write nexus changes it").isEqualTo("GOOD");
  }
}
