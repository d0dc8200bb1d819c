package org.iscsicsi.target.scsi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iscsicsi.target.scsi.ScsiHarness.cdb;
import static org.iscsicsi.target.scsi.ScsiHarness.rw10;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Persistent reservations (SPC-4 5.12) through PERSISTENT RESERVE IN/OUT CDBs: the access table for
 * every reservation type from the holder, another registrant and an unregistered nexus; key
 * checks; RELEASE of the wrong type; PREEMPT, CLEAR and unregistration with their unit attentions;
 * PRIN data layouts and the PRgeneration counter.
 */
class PersistentReservationsTest {

  @TempDir
  Path dir;
  ScsiHarness h;
  ItNexus holder;
  ItNexus registrant;
  ItNexus stranger;

  @BeforeEach
  void setUp() throws Exception {
    h = new ScsiHarness(dir);
    h.attach(0, 1 << 20, true, false);
    holder = h.login(ScsiHarness.nexus("iqn.2026-01.org.iscsicsi:holder", 1));
    registrant = h.login(ScsiHarness.nexus("iqn.2026-01.org.iscsicsi:registrant", 2));
    stranger = h.login(ScsiHarness.nexus("iqn.2026-01.org.iscsicsi:stranger", 3));
  }

  @AfterEach
  void tearDown() throws Exception {
    h.close();
  }

  private String prout(ItNexus n, int action, int type, long key, long saKey) {
    byte[] c = cdb(0x5f, 10, 1, action, 2, type);
    Cdb.put32(c, 5, 24);
    byte[] p = new byte[24];
    Cdb.put64(p, 0, key);
    Cdb.put64(p, 8, saKey);
    return h.run(n, 0, c, p).outcome();
  }

  private byte[] prin(ItNexus n, int action) {
    byte[] c = cdb(0x5e, 10, 1, action);
    Cdb.put16(c, 7, 1024);
    ScsiHarness.Result r = h.run(n, 0, c, null);
    assertThat(r.outcome()).isEqualTo("GOOD");
    return r.data();
  }

  private String read(ItNexus n) {
    return h.run(n, 0, rw10(0x28, 0, 1, 0), null).outcome();
  }

  private String write(ItNexus n) {
    return h.run(n, 0, rw10(0x2a, 0, 1, 0), new byte[512]).outcome();
  }

  /** type, then read/write outcome for holder, registrant, stranger ("ok" or "RC"). */
  @ParameterizedTest(name = "type {0}")
  @CsvSource({
      "1, ok, ok, ok, RC, ok, RC",
      "3, ok, ok, RC, RC, RC, RC",
      "5, ok, ok, ok, ok, ok, RC",
      "6, ok, ok, ok, ok, RC, RC",
      "7, ok, ok, ok, ok, ok, RC",
      "8, ok, ok, ok, ok, RC, RC"})
  void accessTable(int type, String hr, String hw, String rr, String rw, String sr, String sw) {
    assertThat(prout(holder, 0, 0, 0, 0xaa)).isEqualTo("GOOD");
    assertThat(prout(registrant, 0, 0, 0, 0xbb)).isEqualTo("GOOD");
    assertThat(prout(holder, 1, type, 0xaa, 0)).isEqualTo("GOOD");
    assertThat(read(holder)).isEqualTo(expected(hr));
    assertThat(write(holder)).isEqualTo(expected(hw));
    assertThat(read(registrant)).isEqualTo(expected(rr));
    assertThat(write(registrant)).isEqualTo(expected(rw));
    assertThat(read(stranger)).isEqualTo(expected(sr));
    assertThat(write(stranger)).isEqualTo(expected(sw));
    assertThat(h.run(stranger, cdb(0x12, 6, 4, 36)).outcome()).isEqualTo("GOOD");
    assertThat(h.run(stranger, cdb(0x25, 10)).outcome()).isEqualTo("GOOD");
    byte[] reservation = prin(stranger, 1);
    assertThat(Cdb.u32(reservation, 4)).isEqualTo(16);
    assertThat(Cdb.u64(reservation, 8)).isEqualTo(type >= 7 ? 0 : 0xaa);
    assertThat(reservation[21]).isEqualTo((byte) type);
    // a second reservation of another type by a non-holder conflicts
    String other = prout(registrant, 1, type == 1 ? 3 : 1, 0xbb, 0);
    assertThat(other).isEqualTo("status 18");
  }

  private static String expected(String s) {
    return s.equals("ok") ? "GOOD" : "status 18";
  }

  @Test
  void keysAndGeneration() {
    assertThat(Cdb.u32(prin(holder, 0), 0)).isZero();
    assertThat(prout(holder, 0, 0, 0x1, 0xaa)).as("unregistered, nonzero key").isEqualTo(
        "status 18");
    assertThat(prout(holder, 0, 0, 0, 0xaa)).isEqualTo("GOOD");
    assertThat(prout(holder, 0, 0, 0x99, 0xab)).as("wrong key").isEqualTo("status 18");
    assertThat(prout(holder, 6, 0, 0x99, 0xab)).as("ignore existing key").isEqualTo("GOOD");
    assertThat(prout(registrant, 0, 0, 0, 0xbb)).isEqualTo("GOOD");
    byte[] keys = prin(holder, 0);
    assertThat(Cdb.u32(keys, 0)).isEqualTo(3);
    assertThat(Cdb.u32(keys, 4)).isEqualTo(16);
    assertThat(Cdb.u64(keys, 8)).isEqualTo(0xab);
    assertThat(Cdb.u64(keys, 16)).isEqualTo(0xbb);
    assertThat(prout(holder, 1, 1, 0xab, 0)).isEqualTo("GOOD");
    byte[] full = prin(holder, 3);
    assertThat(Cdb.u32(full, 4)).isGreaterThan(2 * 24);
    assertThat(full[8 + 12] & 1).as("R_HOLDER of the first registrant").isEqualTo(1);
    assertThat(new String(full)).contains("iqn.2026-01.org.iscsicsi:holder,i,0x");
    byte[] caps = prin(holder, 2);
    assertThat(Cdb.u16(caps, 0)).isEqualTo(8);
    assertThat(caps[3] & 0x80).as("TMV").isEqualTo(0x80);
    assertThat(prout(holder, 2, 3, 0xab, 0)).as("release of another type").isEqualTo("5/26/04");
    assertThat(prout(holder, 2, 1, 0xab, 0)).isEqualTo("GOOD");
    assertThat(prin(holder, 1)).hasSize(8);
  }

  @Test
  void preemptRemovesTheVictimAndTellsIt() {
    prout(holder, 0, 0, 0, 0xaa);
    prout(registrant, 0, 0, 0, 0xbb);
    prout(registrant, 1, 3, 0xbb, 0);
    assertThat(write(holder)).isEqualTo("status 18");
    assertThat(prout(holder, 4, 3, 0xaa, 0xbb)).isEqualTo("GOOD");
    assertThat(write(holder)).isEqualTo("GOOD");
    assertThat(h.run(registrant, cdb(0x00, 6)).outcome()).isEqualTo("6/2A/05");
    assertThat(Cdb.u32(prin(holder, 0), 4)).isEqualTo(8);
    assertThat(prout(holder, 4, 3, 0xaa, 0)).as("PREEMPT with key 0, no AR reservation")
        .isEqualTo("5/26/00");
  }

  @Test
  void preemptOfAnUnknownKeyConflicts() {
    prout(holder, 0, 0, 0, 0xaa);
    assertThat(prout(holder, 4, 1, 0xaa, 0x1234)).isEqualTo("status 18");
    assertThat(prout(holder, 5, 1, 0xaa, 0)).isEqualTo("5/26/00");
  }

  @Test
  void clearAndUnregisterRaiseUnitAttentions() {
    prout(holder, 0, 0, 0, 0xaa);
    prout(registrant, 0, 0, 0, 0xbb);
    prout(holder, 1, 5, 0xaa, 0);
    assertThat(prout(holder, 0, 0, 0xaa, 0)).as("unregister the holder").isEqualTo("GOOD");
    assertThat(h.run(registrant, cdb(0x00, 6)).outcome()).isEqualTo("6/2A/04");
    assertThat(prin(holder, 1)).hasSize(8);
    prout(holder, 0, 0, 0, 0xaa);
    prout(holder, 1, 1, 0xaa, 0);
    assertThat(prout(stranger, 3, 0, 0, 0)).as("CLEAR needs a registration")
        .isEqualTo("status 18");
    assertThat(prout(registrant, 3, 0, 0xbb, 0)).isEqualTo("GOOD");
    assertThat(h.run(holder, cdb(0x00, 6)).outcome()).isEqualTo("6/2A/03");
    assertThat(Cdb.u32(prin(holder, 0), 4)).isZero();
    assertThat(write(stranger)).isEqualTo("GOOD");
  }

  @Test
  void badParameterLists() {
    byte[] c = cdb(0x5f, 10, 1, 0);
    Cdb.put32(c, 5, 20);
    assertThat(h.run(holder, 0, c, new byte[20]).outcome()).isEqualTo("5/1A/00");
    byte[] aptpl = new byte[24];
    aptpl[15] = 1;
    aptpl[20] = 1;
    Cdb.put32(c, 5, 24);
    ScsiHarness.Result r = h.run(holder, 0, c, aptpl);
    assertThat(r.outcome()).isEqualTo("5/26/00");
    assertThat(r.fieldPointer()).isEqualTo(20);
    assertThat(prout(holder, 1, 2, 0, 0)).as("type 2 is obsolete").isEqualTo("5/24/00");
    assertThat(prout(holder, 7, 0, 0, 0)).as("REGISTER AND MOVE").isEqualTo("5/24/00");
  }

  @Test
  void reservationsSurviveNexusLossButLegacyOnesConflict() {
    prout(holder, 0, 0, 0, 0xaa);
    prout(holder, 1, 3, 0xaa, 0);
    h.port.nexusLost(holder);
    assertThat(read(stranger)).isEqualTo("status 18");
    assertThat(h.run(stranger, cdb(0x16, 6)).outcome()).as("RESERVE(6) under a PR")
        .isEqualTo("status 18");
  }
}
