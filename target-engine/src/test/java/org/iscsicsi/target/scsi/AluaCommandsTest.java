package org.iscsicsi.target.scsi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iscsicsi.target.scsi.ScsiHarness.cdb;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.iscsicsi.target.lun.LogicalUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Implicit ALUA on one engine (SPC-4 5.16): TPGS 01b in standard INQUIRY only for LUs with a port
 * slot, the slot as relative target port and target port group in VPD 83h, REPORT TARGET PORT
 * GROUPS in the length-only and the extended format, the commands each access state allows and
 * the sense the others get, and ASYMMETRIC ACCESS STATE CHANGED on every I_T nexus when a state
 * changes (and on none when nothing changed).
 */
class AluaCommandsTest {

  private static final int SLOT = 2;
  private static final byte[] RTPG = rtpg(0, 4096);
  private static final byte[] RTPG_EXTENDED = rtpg(1, 4096);

  @TempDir
  Path dir;
  ScsiHarness h;
  LogicalUnit unit;

  @BeforeEach
  void setUp() throws Exception {
    h = new ScsiHarness(dir);
    unit = h.attach(0, 1 << 20, true, false);
  }

  @AfterEach
  void tearDown() throws Exception {
    h.close();
  }

  private static byte[] rtpg(int format, int allocation) {
    byte[] c = cdb(0xa3, 12, 1, (format << 5) | 0x0a);
    Cdb.put32(c, 6, allocation);
    return c;
  }

  private static AluaGroups groups(int slot, Object... slotsAndStates) {
    Map<Integer, AccessState> m = new TreeMap<>();
    for (int i = 0; i < slotsAndStates.length; i += 2) {
      m.put((Integer) slotsAndStates[i], (AccessState) slotsAndStates[i + 1]);
    }
    return new AluaGroups(slot, new TreeMap<>(m));
  }

  private ItNexus login(String name, long isid) {
    return h.login(ScsiHarness.nexus("iqn.2026-01.org.iscsicsi:" + name, isid));
  }

  /** The 2-byte value of the VPD 83h designator of {@code type} with target port association. */
  private static int portDesignator(byte[] page, int type) {
    int off = 4;
    while (off + 4 <= page.length) {
      int assocType = page[off + 1] & 0x3f;
      int len = page[off + 3] & 0xff;
      if (assocType == (0x10 | type)) {
        return Cdb.u16(page, off + 6);
      }
      off += 4 + len;
    }
    return -1;
  }

  @Test
  void tpgsBitsOnlyForLusWithAPortSlot() throws Exception {
    ItNexus n = login("a", 1);
    assertThat(h.run(n, cdb(0x12, 6, 4, 96)).data()[5] & 0x30).as("no slot: TPGS 00b")
        .isZero();
    h.port.setAlua(0, AluaGroups.single(SLOT));
    assertThat(h.run(n, cdb(0x12, 6, 4, 96)).data()[5] & 0x30).as("implicit ALUA: TPGS 01b")
        .isEqualTo(0x10);
    h.port.setAlua(0, null);
    assertThat(h.run(n, cdb(0x12, 6, 4, 96)).data()[5] & 0x30).isZero();
  }

  @Test
  void vpdIdentificationCarriesTheSlot() throws Exception {
    ItNexus n = login("a", 1);
    byte[] before = h.run(n, cdb(0x12, 6, 1, 1, 2, 0x83, 4, 255)).data();
    assertThat(portDesignator(before, 4)).as("relative target port without slot").isEqualTo(1);
    assertThat(portDesignator(before, 5)).as("port group = portal group tag").isEqualTo(1);
    h.port.setAlua(0, groups(SLOT, 1, AccessState.STANDBY, SLOT, AccessState.ACTIVE_OPTIMIZED));
    byte[] after = h.run(n, cdb(0x12, 6, 1, 1, 2, 0x83, 4, 255)).data();
    assertThat(portDesignator(after, 4)).isEqualTo(SLOT);
    assertThat(portDesignator(after, 5)).isEqualTo(SLOT);
  }

  @Test
  void reportTargetPortGroupsLengthOnlyAndExtended() throws Exception {
    ItNexus n = login("a", 1);
    h.port.setAlua(0, groups(SLOT, 1, AccessState.STANDBY, SLOT,
        AccessState.ACTIVE_OPTIMIZED, 3, AccessState.UNAVAILABLE));
    assertThat(h.run(n, cdb(0x00, 6)).outcome()).isEqualTo("6/2A/06");
    byte[] d = h.run(n, RTPG).data();
    assertThat(d).hasSize(4 + 3 * 12);
    assertThat(Cdb.u32(d, 0)).as("RETURN DATA LENGTH").isEqualTo(36);
    int[][] expected = {{1, 0x2}, {2, 0x0}, {3, 0x3}};
    for (int i = 0; i < 3; i++) {
      int off = 4 + 12 * i;
      assertThat(d[off] & 0x80).as("PREF").isZero();
      assertThat(d[off] & 0x0f).as("state of group %d", expected[i][0])
          .isEqualTo(expected[i][1]);
      assertThat(d[off + 1] & 0xff).as("T_SUP U_SUP S_SUP AN_SUP AO_SUP").isEqualTo(0x8f);
      assertThat(Cdb.u16(d, off + 2)).as("target port group").isEqualTo(expected[i][0]);
      assertThat(d[off + 5]).as("status code: no change yet").isZero();
      assertThat(d[off + 7]).as("target port count").isEqualTo((byte) 1);
      assertThat(Cdb.u16(d, off + 10)).as("relative target port").isEqualTo(expected[i][0]);
    }
    byte[] x = h.run(n, RTPG_EXTENDED).data();
    assertThat(x).hasSize(8 + 3 * 12);
    assertThat(Cdb.u32(x, 0)).as("RETURN DATA LENGTH counts bytes 4-7 too").isEqualTo(40);
    assertThat(x[4] & 0x70).as("FORMAT TYPE 001b").isEqualTo(0x10);
    assertThat(x[5]).as("IMPLICIT TRANSITION TIME").isEqualTo((byte) 5);
    for (int i = 0; i < 3 * 12; i++) {
      assertThat(x[8 + i]).as("descriptor byte %d", i).isEqualTo(d[4 + i]);
    }
    byte[] cut = h.run(n, rtpg(0, 10)).data();
    assertThat(cut).as("allocation length").hasSize(10);
    assertThat(Cdb.u32(cut, 0)).as("still the full length").isEqualTo(36);
    ScsiHarness.Result bad = h.run(n, rtpg(2, 4096));
    assertThat(bad.outcome()).as("format 010b").isEqualTo("5/24/00");
    assertThat(bad.fieldPointer()).isEqualTo(1);
    assertThat(bad.pointsIntoCdb()).isTrue();
  }

  @Test
  void reportTargetPortGroupsWithoutSlotReportsThePort() {
    ItNexus n = login("a", 1);
    byte[] d = h.run(n, RTPG).data();
    assertThat(d).hasSize(16);
    assertThat(d[4] & 0x0f).as("active/optimized").isZero();
    assertThat(d[5] & 0xff).as("AO_SUP only").isEqualTo(0x01);
    assertThat(Cdb.u16(d, 6)).as("group = portal group tag").isEqualTo(1);
    assertThat(Cdb.u16(d, 14)).as("relative target port").isEqualTo(1);
  }

  @Test
  void reportSupportedOperationCodesListsReportTargetPortGroups() {
    ItNexus n = login("a", 1);
    byte[] c = cdb(0xa3, 12, 1, 0x0c, 2, 0x02, 3, 0xa3, 5, 0x0a);
    Cdb.put32(c, 6, 64);
    byte[] d = h.run(n, c).data();
    assertThat(d[1] & 0x07).as("supported, as standard").isEqualTo(3);
    assertThat(Cdb.u16(d, 2)).as("CDB size").isEqualTo(12);
  }

  /** Each state: the commands it allows (GOOD) and the sense of the others. */
  @Test
  void commandsByState() {
    ItNexus n = login("a", 1);
    byte[] data = ScsiHarness.pattern(512, 7);
    Map<String, byte[]> commands = new LinkedHashMap<>();
    commands.put("TEST UNIT READY", cdb(0x00, 6));
    commands.put("READ(10)", ScsiHarness.rw10(0x28, 0, 1, 0));
    commands.put("WRITE(10)", ScsiHarness.rw10(0x2a, 0, 1, 0));
    commands.put("SYNCHRONIZE CACHE(10)", cdb(0x35, 10));
    commands.put("INQUIRY", cdb(0x12, 6, 4, 96));
    commands.put("REPORT LUNS", cdb(0xa0, 12, 9, 64));
    commands.put("REQUEST SENSE", cdb(0x03, 6, 4, 18));
    commands.put("REPORT TARGET PORT GROUPS", RTPG);
    commands.put("REPORT SUPPORTED OPERATION CODES", cdb(0xa3, 12, 1, 0x0c, 9, 0xff));
    commands.put("READ CAPACITY(10)", cdb(0x25, 10));
    commands.put("READ CAPACITY(16)", cdb(0x9e, 16, 1, 0x10, 13, 32));
    commands.put("MODE SENSE(6)", cdb(0x1a, 6, 2, 0x3f, 4, 255));
    commands.put("PERSISTENT RESERVE IN", cdb(0x5e, 10, 1, 0x00, 8, 64));
    String[] names = commands.keySet().toArray(new String[0]);
    Map<AccessState, String[]> expected = new LinkedHashMap<>();
    String[] all = new String[names.length];
    java.util.Arrays.fill(all, "GOOD");
    expected.put(AccessState.ACTIVE_OPTIMIZED, all);
    expected.put(AccessState.ACTIVE_NON_OPTIMIZED, all);
    expected.put(AccessState.STANDBY, new String[] {"2/04/0B", "2/04/0B", "2/04/0B", "2/04/0B",
        "GOOD", "GOOD", "GOOD", "GOOD", "GOOD", "GOOD", "GOOD", "GOOD", "GOOD"});
    expected.put(AccessState.UNAVAILABLE, new String[] {"2/04/0C", "2/04/0C", "2/04/0C",
        "2/04/0C", "GOOD", "GOOD", "GOOD", "GOOD", "GOOD", "GOOD", "GOOD", "2/04/0C",
        "2/04/0C"});
    expected.put(AccessState.TRANSITIONING, new String[] {"2/04/0A", "2/04/0A", "2/04/0A",
        "2/04/0A", "GOOD", "GOOD", "GOOD", "GOOD", "GOOD", "2/04/0A", "2/04/0A", "2/04/0A",
        "2/04/0A"});
    for (Map.Entry<AccessState, String[]> e : expected.entrySet()) {
      h.port.setAlua(0, groups(SLOT, SLOT, e.getKey()));
      // the state change's unit attention comes first, then the state's own answers
      assertThat(h.run(n, cdb(0x00, 6)).outcome()).as("UA before %s", e.getKey())
          .isIn("6/2A/06", e.getKey() == AccessState.ACTIVE_OPTIMIZED ? "GOOD" : "6/2A/06");
      for (int i = 0; i < names.length; i++) {
        byte[] out = names[i].startsWith("WRITE") ? data : null;
        assertThat(h.run(n, 0, commands.get(names[i]), out).outcome())
            .as("%s in %s", names[i], e.getKey()).isEqualTo(e.getValue()[i]);
      }
    }
  }

  @Test
  void standbyStillTakesModeSelectAndReservations() {
    ItNexus n = login("a", 1);
    h.port.setAlua(0, groups(SLOT, SLOT, AccessState.STANDBY));
    assertThat(h.run(n, cdb(0x00, 6)).outcome()).isEqualTo("6/2A/06");
    byte[] register = new byte[24];
    Cdb.put64(register, 8, 0x1234);
    assertThat(h.run(n, 0, cdb(0x5f, 10, 1, 0x00, 8, 24), register).outcome())
        .as("PERSISTENT RESERVE OUT REGISTER").isEqualTo("GOOD");
    byte[] keys = h.run(n, cdb(0x5e, 10, 1, 0x00, 8, 64)).data();
    assertThat(Cdb.u32(keys, 4)).as("one key registered").isEqualTo(8);
    byte[] caching = h.run(n, cdb(0x1a, 6, 2, 0x08, 4, 255)).data();
    int len = caching.length;
    byte[] select = new byte[len];
    System.arraycopy(caching, 0, select, 0, len);
    select[0] = 0;
    select[4] &= 0x7f; // PS is reserved in MODE SELECT
    assertThat(h.run(n, 0, cdb(0x15, 6, 1, 0x10, 4, len), select).outcome())
        .as("MODE SELECT(6)").isEqualTo("GOOD");
    assertThat(h.run(n, cdb(0x2f, 10)).outcome()).as("VERIFY(10)").isEqualTo("2/04/0B");
  }

  @Test
  void stateChangeRaisesUnitAttentionOnEveryNexus() {
    ItNexus a = login("a", 1);
    ItNexus b = login("b", 2);
    ItNexus c = login("a", 3);
    h.port.setAlua(0, groups(SLOT, 1, AccessState.ACTIVE_OPTIMIZED, SLOT,
        AccessState.ACTIVE_OPTIMIZED));
    for (ItNexus n : new ItNexus[] {a, b, c}) {
      assertThat(h.run(n, cdb(0x00, 6)).outcome()).as("ALUA appeared").isEqualTo("6/2A/06");
    }
    h.port.setAlua(0, groups(SLOT, 1, AccessState.ACTIVE_OPTIMIZED, SLOT,
        AccessState.ACTIVE_OPTIMIZED));
    for (ItNexus n : new ItNexus[] {a, b, c}) {
      assertThat(h.run(n, cdb(0x00, 6)).outcome()).as("same states: no attention")
          .isEqualTo("GOOD");
    }
    assertThat(h.run(a, RTPG).data()[4 + 5]).as("first assignment: status 00h").isZero();
    h.port.setAlua(0, groups(SLOT, 1, AccessState.ACTIVE_OPTIMIZED, SLOT,
        AccessState.STANDBY));
    for (ItNexus n : new ItNexus[] {a, b, c}) {
      assertThat(h.run(n, cdb(0x12, 6, 4, 96)).outcome()).as("INQUIRY leaves it pending")
          .isEqualTo("GOOD");
      assertThat(h.run(n, cdb(0x00, 6)).outcome()).isEqualTo("6/2A/06");
      assertThat(h.run(n, cdb(0x00, 6)).outcome()).as("then the standby answer")
          .isEqualTo("2/04/0B");
    }
    byte[] d = h.run(a, RTPG).data();
    assertThat(d[4 + 5]).as("group 1 unchanged").isEqualTo((byte) 0);
    assertThat(d[16 + 5]).as("group 2 altered implicitly").isEqualTo((byte) 2);
    h.port.setAlua(0, groups(SLOT, 1, AccessState.ACTIVE_OPTIMIZED, SLOT,
        AccessState.STANDBY));
    assertThat(h.run(b, cdb(0x00, 6)).outcome()).as("same states again: no attention")
        .isEqualTo("2/04/0B");
    h.port.setAlua(0, groups(SLOT, 1, AccessState.STANDBY, SLOT, AccessState.ACTIVE_OPTIMIZED));
    ScsiHarness.Result sense = h.run(b, cdb(0x03, 6, 4, 18));
    assertThat(sense.data()[2] & 0x0f).as("REQUEST SENSE returns it").isEqualTo(6);
    assertThat(sense.data()[12]).isEqualTo((byte) 0x2a);
    assertThat(sense.data()[13]).isEqualTo((byte) 0x06);
    assertThat(h.run(b, cdb(0x00, 6)).outcome()).isEqualTo("GOOD");
    assertThat(h.run(a, ScsiHarness.rw10(0x28, 0, 1, 0)).outcome()).isEqualTo("6/2A/06");
    assertThat(h.run(a, ScsiHarness.rw10(0x28, 0, 1, 0)).outcome()).isEqualTo("GOOD");
    h.port.attach(1, unit2(), groups(SLOT, SLOT, AccessState.STANDBY));
    assertThat(h.run(a, 1, cdb(0x00, 6), null).outcome()).as("attached LUN: its power-on UA")
        .isEqualTo("6/29/00");
    assertThat(h.run(a, 1, cdb(0x00, 6), null).outcome()).as("attached with its states")
        .isEqualTo("2/04/0B");
    ItNexus late = h.login(ScsiHarness.nexus("iqn.2026-01.org.iscsicsi:late", 4));
    assertThat(h.run(late, cdb(0x00, 6)).outcome()).as("a new nexus: only its power-on UA")
        .isEqualTo("GOOD");
  }

  private LogicalUnit unit2() {
    try {
      return LogicalUnit.create(h.config(1 << 20, true, false));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void groupsAreValidated() {
    org.assertj.core.api.Assertions.assertThatThrownBy(
        () -> groups(SLOT, 1, AccessState.STANDBY))
        .hasMessageContaining("include this port's slot 2");
    org.assertj.core.api.Assertions.assertThatThrownBy(
        () -> groups(0, 0, AccessState.STANDBY)).hasMessageContaining("1 to 65535");
    assertThat(AccessState.parse("active-non-optimized"))
        .isEqualTo(AccessState.ACTIVE_NON_OPTIMIZED);
    assertThat(AccessState.parse("STANDBY")).isEqualTo(AccessState.STANDBY);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> AccessState.parse("offline"))
        .hasMessageContaining("active-optimized");
  }
}
