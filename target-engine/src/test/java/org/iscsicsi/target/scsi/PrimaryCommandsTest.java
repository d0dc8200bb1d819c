package org.iscsicsi.target.scsi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iscsicsi.target.scsi.ScsiHarness.cdb;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.iscsicsi.target.lun.LogicalUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SPC-4 commands with hand-built CDBs: INQUIRY standard data and VPD pages (serial, NAA and SCSI
 * name designators), REPORT LUNS, absent LUNs, invalid opcodes and fields (with the field
 * pointer), REQUEST SENSE, MODE SENSE / MODE SELECT round trips, REPORT SUPPORTED OPERATION CODES,
 * and unit attention sequencing with SPC-4's exemptions.
 */
class PrimaryCommandsTest {

  @TempDir
  Path dir;
  ScsiHarness h;
  ItNexus n;
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

  @Test
  void unitAttentionSequencing() throws Exception {
    n = ScsiHarness.nexus("iqn.2026-01.org.iscsicsi:a", 1);
    h.port.nexusCreated(n);
    assertThat(h.run(n, cdb(0x12, 6, 4, 96)).outcome()).as("INQUIRY exempt").isEqualTo("GOOD");
    assertThat(h.run(n, cdb(0xa0, 12, 9, 64)).outcome()).as("REPORT LUNS exempt")
        .isEqualTo("GOOD");
    assertThat(h.run(n, cdb(0x00, 6)).outcome()).isEqualTo("6/29/00");
    assertThat(h.run(n, cdb(0x00, 6)).outcome()).isEqualTo("GOOD");
    unit.resize(2 << 20);
    ScsiHarness.Result sense = h.run(n, cdb(0x03, 6, 4, 18));
    assertThat(sense.outcome()).isEqualTo("GOOD");
    assertThat(sense.data()[2] & 0xf).isEqualTo(6);
    assertThat(sense.data()[12]).isEqualTo((byte) 0x2a);
    assertThat(sense.data()[13]).isEqualTo((byte) 0x09);
    assertThat(h.run(n, cdb(0x00, 6)).outcome()).as("REQUEST SENSE cleared it").isEqualTo("GOOD");
    assertThat(Cdb.u32(h.run(n, cdb(0x25, 10)).data(), 0)).isEqualTo(4095);
    ItNexus resetter = h.login(ScsiHarness.nexus("iqn.2026-01.org.iscsicsi:r", 9));
    h.port.taskManagement(TaskManagementFunction.LOGICAL_UNIT_RESET, resetter, 0);
    assertThat(h.run(n, cdb(0x00, 6)).outcome()).isEqualTo("6/29/03");
    assertThat(h.run(resetter, cdb(0x00, 6)).outcome()).as("the issuer too").isEqualTo("6/29/03");
    h.attach(3, 1 << 20, true, false);
    // REPORT LUNS clears REPORTED LUNS DATA HAS CHANGED
    assertThat(Cdb.u32(h.run(n, cdb(0xa0, 12, 9, 64)).data(), 0)).isEqualTo(16);
    assertThat(h.run(n, cdb(0x00, 6)).outcome()).isEqualTo("GOOD");
    h.port.detach(3).close();
    assertThat(h.run(n, cdb(0x00, 6)).outcome()).isEqualTo("6/3F/0E");
    h.port.nexusLost(n);
  }

  @Test
  void absentLunAndInvalidOpcode() {
    n = h.login(ScsiHarness.nexus("iqn.2026-01.org.iscsicsi:a", 1));
    assertThat(h.run(n, 5, cdb(0x00, 6), null).outcome()).isEqualTo("5/25/00");
    byte[] inq = h.run(n, 5, cdb(0x12, 6, 4, 36), null).data();
    assertThat(inq[0] & 0xff).isEqualTo(0x7f);
    byte[] rs = h.run(n, 5, cdb(0x03, 6, 4, 18), null).data();
    assertThat(rs[12]).isEqualTo((byte) 0x25);
    assertThat(h.run(n, 5, cdb(0xa0, 12, 9, 64), null).outcome()).isEqualTo("GOOD");
    assertThat(h.run(n, cdb(0xc7, 10)).outcome()).isEqualTo("5/20/00");
    ScsiHarness.Result r = h.run(n, cdb(0x9e, 16, 1, 0x1f));
    assertThat(r.outcome()).isEqualTo("5/24/00");
    assertThat(r.fieldPointer()).isEqualTo(1);
    ScsiHarness.Result evpd = h.run(n, cdb(0x12, 6, 2, 0x80, 4, 0xff));
    assertThat(evpd.outcome()).isEqualTo("5/24/00");
    assertThat(evpd.fieldPointer()).isEqualTo(2);
  }

  @Test
  void inquiryIdentifiesTheLun() {
    n = h.login(ScsiHarness.nexus("iqn.2026-01.org.iscsicsi:a", 1));
    byte[] std = h.run(n, cdb(0x12, 6, 4, 0xff)).data();
    assertThat(std[2]).isEqualTo((byte) 6);
    assertThat(new String(std, 8, 8, StandardCharsets.US_ASCII)).isEqualTo("ISCSICSI");
    byte[] serial = h.run(n, cdb(0x12, 6, 1, 1, 2, 0x80, 4, 0xff)).data();
    assertThat(new String(serial, 4, serial[3], StandardCharsets.US_ASCII))
        .isEqualTo(unit.config().serial());
    byte[] id = h.run(n, cdb(0x12, 6, 1, 1, 2, 0x83, 3, 1, 4, 0)).data();
    assertThat(id[1]).isEqualTo((byte) 0x83);
    // first designator: NAA, binary, LU association, the config's 16 bytes
    assertThat(id[4] & 0x0f).isEqualTo(1);
    assertThat(id[5] & 0x3f).isEqualTo(3);
    assertThat(id[7]).isEqualTo((byte) 16);
    byte[] naa = new byte[16];
    System.arraycopy(id, 8, naa, 0, 16);
    assertThat(naa).isEqualTo(unit.config().naa());
    String all = new String(id, StandardCharsets.US_ASCII);
    assertThat(all).contains(ScsiHarness.TARGET + ",t,0x0001").contains("ISCSICSI");
    byte[] pages = h.run(n, cdb(0x12, 6, 1, 1, 4, 0xff)).data();
    assertThat(pages).hasSize(10);
    byte[] limits = h.run(n, cdb(0x12, 6, 1, 1, 2, 0xb0, 4, 0xff)).data();
    assertThat(Cdb.u16(limits, 2)).isEqualTo(0x3c);
    byte[] rotation = h.run(n, cdb(0x12, 6, 1, 1, 2, 0xb1, 4, 0xff)).data();
    assertThat(Cdb.u16(rotation, 4)).isEqualTo(1);
  }

  @Test
  void modeSelectChangesWriteCacheAndTellsOthers() {
    n = h.login(ScsiHarness.nexus("iqn.2026-01.org.iscsicsi:a", 1));
    ItNexus other = h.login(ScsiHarness.nexus("iqn.2026-01.org.iscsicsi:b", 2));
    byte[] caching = h.run(n, cdb(0x1a, 6, 1, 0x08, 2, 0x08, 4, 0xff)).data();
    assertThat(caching).hasSize(4 + 20);
    assertThat(caching[4 + 2] & 0x04).as("WCE").isEqualTo(4);
    byte[] changeable = h.run(n, cdb(0x1a, 6, 1, 0x08, 2, 0x48, 4, 0xff)).data();
    assertThat(changeable[4 + 2]).isEqualTo((byte) 0x04);
    byte[] params = caching.clone();
    params[0] = 0;
    params[4 + 2] = 0;
    assertThat(h.run(n, 0, cdb(0x15, 6, 1, 0x10, 4, params.length), params).outcome())
        .isEqualTo("GOOD");
    assertThat(h.run(n, cdb(0x1a, 6, 1, 0x08, 2, 0x08, 4, 0xff)).data()[6] & 4).isZero();
    assertThat(h.run(other, cdb(0x00, 6)).outcome()).isEqualTo("6/2A/01");
    byte[] bad = params.clone();
    bad[4 + 3] = 1; // not changeable
    ScsiHarness.Result r = h.run(n, 0, cdb(0x15, 6, 1, 0x10, 4, bad.length), bad);
    assertThat(r.outcome()).isEqualTo("5/26/00");
    assertThat(r.fieldPointer()).isEqualTo(7);
    assertThat(r.pointsIntoCdb()).isFalse();
    assertThat(h.run(n, cdb(0x1a, 6, 2, 0xc8, 4, 0xff)).outcome()).isEqualTo("5/39/00");
    byte[] all10 = h.run(n, cdb(0x5a, 10, 2, 0x3f, 8, 0xff)).data();
    assertThat(Cdb.u16(all10, 0)).isEqualTo(all10.length - 2);
    assertThat(Cdb.u16(all10, 6)).isEqualTo(8);
    assertThat(all10.length).isEqualTo(8 + 8 + 20 + 12 + 12);
  }

  @Test
  void reportSupportedOperationCodes() {
    n = h.login(ScsiHarness.nexus("iqn.2026-01.org.iscsicsi:a", 1));
    byte[] c = cdb(0xa3, 12, 1, 0x0c);
    Cdb.put32(c, 6, 8192);
    byte[] all = h.run(n, c).data();
    assertThat(Cdb.u32(all, 0)).isEqualTo(8L * CommandSet.ALL.size());
    byte[] one = cdb(0xa3, 12, 1, 0x0c, 2, 0x01, 3, 0x28);
    Cdb.put32(one, 6, 64);
    byte[] read10 = h.run(n, one).data();
    assertThat(read10[1] & 7).isEqualTo(3);
    assertThat(Cdb.u16(read10, 2)).isEqualTo(10);
    assertThat(read10[4]).isEqualTo((byte) 0x28);
    byte[] unknown = cdb(0xa3, 12, 1, 0x0c, 2, 0x01, 3, 0xc7);
    Cdb.put32(unknown, 6, 64);
    assertThat(h.run(n, unknown).data()[1] & 7).isEqualTo(1);
    byte[] withSa = cdb(0xa3, 12, 1, 0x0c, 2, 0x01, 3, 0x9e);
    Cdb.put32(withSa, 6, 64);
    assertThat(h.run(n, withSa).outcome()).isEqualTo("5/24/00");
    byte[] tmf = cdb(0xa3, 12, 1, 0x0d);
    Cdb.put32(tmf, 6, 4);
    assertThat(h.run(n, tmf).data()[0] & 0xff).isEqualTo(0xda);
  }

  @Test
  void legacyReservationBlocksOtherNexuses() {
    n = h.login(ScsiHarness.nexus("iqn.2026-01.org.iscsicsi:a", 1));
    ItNexus other = h.login(ScsiHarness.nexus("iqn.2026-01.org.iscsicsi:b", 2));
    assertThat(h.run(n, cdb(0x16, 6)).outcome()).isEqualTo("GOOD");
    assertThat(h.run(other, cdb(0x16, 6)).outcome()).isEqualTo("status 18");
    assertThat(h.run(other, cdb(0x17, 6)).outcome()).isEqualTo("GOOD");
    assertThat(h.run(other, cdb(0x1a, 6, 2, 0x3f, 4, 0xff)).outcome()).isEqualTo("status 18");
    assertThat(h.run(other, cdb(0x12, 6, 4, 36)).outcome()).isEqualTo("GOOD");
    h.port.nexusLost(n);
    assertThat(h.run(other, cdb(0x16, 6)).outcome()).isEqualTo("GOOD");
    h.port.taskManagement(TaskManagementFunction.TARGET_WARM_RESET, other, 0);
    h.run(n, cdb(0x00, 6));
    assertThat(h.run(n, cdb(0x16, 6)).outcome()).isEqualTo("GOOD");
  }
}
