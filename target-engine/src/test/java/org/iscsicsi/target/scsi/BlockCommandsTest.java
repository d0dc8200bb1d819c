package org.iscsicsi.target.scsi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iscsicsi.target.scsi.ScsiHarness.cdb;
import static org.iscsicsi.target.scsi.ScsiHarness.pattern;
import static org.iscsicsi.target.scsi.ScsiHarness.rw10;
import static org.iscsicsi.target.scsi.ScsiHarness.rw16;

import java.nio.file.Path;
import java.util.Arrays;
import org.iscsicsi.target.lun.LogicalUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SBC-3 block commands against a real sparse file: data round trips through READ/WRITE 6/10/12/16,
 * the exact sense for out-of-range LBAs, protection fields, write protection (LUN and nexus),
 * VERIFY and COMPARE AND WRITE miscompares with their offsets, UNMAP / WRITE SAME punching holes
 * seen by GET LBA STATUS, READ CAPACITY, SYNCHRONIZE CACHE.
 */
class BlockCommandsTest {

  @TempDir
  Path dir;
  ScsiHarness h;
  ItNexus n;
  LogicalUnit unit;
  static final long SIZE = 4 << 20; // 8192 blocks of 512

  @BeforeEach
  void setUp() throws Exception {
    h = new ScsiHarness(dir);
    unit = h.attach(0, SIZE, true, false);
    n = h.login(ScsiHarness.nexus("iqn.2026-01.org.iscsicsi:init1", 0x23d000000001L));
  }

  @AfterEach
  void tearDown() throws Exception {
    h.close();
  }

  @Test
  void writeThenReadEveryCdbSize() {
    byte[] data = pattern(4096, 7);
    assertThat(h.run(n, 0, rw10(0x2a, 100, 8, 0x08), data).outcome()).isEqualTo("GOOD");
    assertThat(h.run(n, 0, rw10(0x28, 100, 8, 0), null).data()).isEqualTo(data);
    assertThat(h.run(n, 0, rw16(0x88, 100, 8, 0), null).data()).isEqualTo(data);
    byte[] read12 = new byte[12];
    read12[0] = (byte) 0xa8;
    Cdb.put32(read12, 2, 100);
    Cdb.put32(read12, 6, 8);
    assertThat(h.run(n, 0, read12, null).data()).isEqualTo(data);
    byte[] read6 = cdb(0x08, 6, 3, 100, 4, 8);
    assertThat(h.run(n, 0, read6, null).data()).isEqualTo(data);
    byte[] data2 = pattern(512, 9);
    assertThat(h.run(n, 0, cdb(0x0a, 6, 3, 5, 4, 1), data2).outcome()).isEqualTo("GOOD");
    assertThat(h.run(n, 0, rw16(0x88, 5, 1, 0), null).data()).isEqualTo(data2);
    assertThat(unit.counters().writeOps()).isEqualTo(2);
    assertThat(unit.counters().readBytes()).isEqualTo(4 * 4096 + 512);
  }

  @Test
  void lbaOutOfRange() {
    long blocks = SIZE / 512;
    assertThat(h.run(n, 0, rw10(0x28, blocks - 1, 2, 0), null).outcome())
        .isEqualTo("5/21/00");
    assertThat(h.run(n, 0, rw16(0x88, -1L, 1, 0), null).outcome()).isEqualTo("5/21/00");
    assertThat(h.run(n, 0, rw10(0x2a, blocks, 1, 0), new byte[512]).outcome())
        .isEqualTo("5/21/00");
    assertThat(h.run(n, 0, rw10(0x28, blocks + 1, 0, 0), null).outcome()).isEqualTo("5/21/00");
    assertThat(h.run(n, 0, rw10(0x28, blocks - 1, 1, 0), null).outcome()).isEqualTo("GOOD");
  }

  @Test
  void protectionFieldsAreInvalidWithPointer() {
    ScsiHarness.Result r = h.run(n, 0, rw10(0x28, 0, 1, 0x20), null);
    assertThat(r.outcome()).isEqualTo("5/24/00");
    assertThat(r.fieldPointer()).isEqualTo(1);
    assertThat(r.pointsIntoCdb()).isTrue();
  }

  @Test
  void writeProtectedThroughNexusOrLun() throws Exception {
    ItNexus ro = h.login(ScsiHarness.readOnlyNexus("iqn.2026-01.org.iscsicsi:ro"));
    assertThat(h.run(ro, 0, rw10(0x2a, 0, 1, 0), new byte[512]).outcome()).isEqualTo("7/27/00");
    assertThat(h.run(ro, 0, rw10(0x28, 0, 1, 0), null).outcome()).isEqualTo("GOOD");
    h.attach(1, SIZE, true, true);
    h.run(n, 1, cdb(0x00, 6), null); // clears POWER ON for LUN 1
    assertThat(h.run(n, 1, rw16(0x93, 0, 1, 0x08), new byte[512]).outcome())
        .isEqualTo("7/27/00");
    assertThat(h.run(n, 1, cdb(0x1a, 6, 2, 0x3f, 4, 0xff), null).outcome()).isEqualTo("GOOD");
    byte[] sense6 = h.run(n, 1, cdb(0x1a, 6, 2, 0x3f, 4, 0xff), null).data();
    assertThat(sense6[2] & 0x80).as("WP").isEqualTo(0x80);
    assertThat(h.run(n, 0, cdb(0x00, 6), null).outcome()).as("LUN 1 appeared").isEqualTo("6/3F/0E");
    byte[] senseRw = h.run(n, 0, cdb(0x1a, 6, 2, 0x3f, 4, 0xff), null).data();
    assertThat(senseRw[2] & 0x80).isZero();
  }

  @Test
  void verifyComparesAndReportsMiscompareOffset() {
    byte[] data = pattern(1024, 3);
    h.run(n, 0, rw10(0x2a, 10, 2, 0), data);
    assertThat(h.run(n, 0, rw10(0x2f, 10, 2, 0x02), data).outcome()).isEqualTo("GOOD");
    byte[] wrong = data.clone();
    wrong[700] ^= 1;
    ScsiHarness.Result r = h.run(n, 0, rw10(0x2f, 10, 2, 0x02), wrong);
    assertThat(r.outcome()).isEqualTo("E/1D/00");
    assertThat(r.sense()[0] & 0x80).as("VALID").isEqualTo(0x80);
    assertThat(Cdb.u32(r.sense(), 3)).isEqualTo(700);
    assertThat(h.run(n, 0, rw10(0x2f, 10, 2, 0), null).outcome()).isEqualTo("GOOD");
  }

  @Test
  void compareAndWrite() {
    byte[] old = pattern(512, 1);
    byte[] fresh = pattern(512, 2);
    h.run(n, 0, rw10(0x2a, 20, 1, 0), old);
    byte[] caw = new byte[16];
    caw[0] = (byte) 0x89;
    Cdb.put64(caw, 2, 20);
    caw[13] = 1;
    byte[] both = new byte[1024];
    System.arraycopy(old, 0, both, 0, 512);
    System.arraycopy(fresh, 0, both, 512, 512);
    assertThat(h.run(n, 0, caw, both).outcome()).isEqualTo("GOOD");
    assertThat(h.run(n, 0, rw10(0x28, 20, 1, 0), null).data()).isEqualTo(fresh);
    ScsiHarness.Result r = h.run(n, 0, caw, both); // medium now holds "fresh"
    assertThat(r.outcome()).isEqualTo("E/1D/00");
    int firstDiff = 0;
    while (old[firstDiff] == fresh[firstDiff]) {
      firstDiff++;
    }
    assertThat(Cdb.u32(r.sense(), 3)).isEqualTo(firstDiff);
    assertThat(h.run(n, 0, rw10(0x28, 20, 1, 0), null).data()).isEqualTo(fresh);
  }

  @Test
  void unmapPunchesHolesSeenByGetLbaStatus() throws Exception {
    byte[] data = pattern(64 * 1024, 5);
    h.run(n, 0, rw10(0x2a, 0, 128, 0), data);
    h.run(n, 0, cdb(0x35, 10), null);
    long before = unit.allocatedBytes();
    assertThat(before).isGreaterThanOrEqualTo(64 * 1024);
    assertThat(status(0)).containsExactly(0, 128, 0);
    byte[] params = new byte[24];
    Cdb.put16(params, 0, 22);
    Cdb.put16(params, 2, 16);
    Cdb.put64(params, 8, 0);
    Cdb.put32(params, 16, 64);
    byte[] unmap = cdb(0x42, 10, 8, 24);
    assertThat(h.run(n, 0, unmap, params).outcome()).isEqualTo("GOOD");
    assertThat(unit.allocatedBytes()).isLessThanOrEqualTo(before - 32 * 1024);
    assertThat(h.run(n, 0, rw10(0x28, 0, 64, 0), null).data()).isEqualTo(new byte[32768]);
    assertThat(status(0)).containsExactly(0, 64, 1);
    assertThat(status(64)).containsExactly(64, 64, 0);
    // WRITE SAME(16) with UNMAP and a zero block deallocates the rest
    assertThat(h.run(n, 0, rw16(0x93, 64, 64, 0x08), new byte[512]).outcome())
        .isEqualTo("GOOD");
    assertThat(status(64)[2]).isEqualTo(1);
    assertThat(unit.allocatedBytes()).isLessThan(4096 * 2);
  }

  @Test
  void writeSameWithoutUnmapWritesThePattern() {
    byte[] block = pattern(512, 11);
    assertThat(h.run(n, 0, rw10(0x41, 300, 4, 0), block).outcome()).isEqualTo("GOOD");
    byte[] read = h.run(n, 0, rw10(0x28, 300, 4, 0), null).data();
    for (int i = 0; i < 4; i++) {
      assertThat(Arrays.copyOfRange(read, i * 512, (i + 1) * 512)).isEqualTo(block);
    }
  }

  @Test
  void readCapacityAndProvisioningVpd() {
    byte[] rc10 = h.run(n, 0, cdb(0x25, 10), null).data();
    assertThat(Cdb.u32(rc10, 0)).isEqualTo(SIZE / 512 - 1);
    assertThat(Cdb.u32(rc10, 4)).isEqualTo(512);
    byte[] rc16 = h.run(n, 0, cdb(0x9e, 16, 1, 0x10, 13, 32), null).data();
    assertThat(rc16).hasSize(32);
    assertThat(Cdb.u64(rc16, 0)).isEqualTo(SIZE / 512 - 1);
    assertThat(rc16[14] & 0xc0).as("LBPME and LBPRZ").isEqualTo(0xc0);
    byte[] b2 = h.run(n, 0, cdb(0x12, 6, 1, 1, 2, 0xb2, 4, 0xff), null).data();
    assertThat(b2[5] & 0xe4).isEqualTo(0xe4);
  }

  @Test
  void synchronizeCacheChecksRange() {
    assertThat(h.run(n, 0, cdb(0x35, 10), null).outcome()).isEqualTo("GOOD");
    assertThat(h.run(n, 0, rw16(0x91, SIZE / 512, 1, 0), null).outcome()).isEqualTo("5/21/00");
  }

  @Test
  void unmapParameterErrors() {
    assertThat(h.run(n, 0, cdb(0x42, 10, 8, 4), new byte[4]).outcome()).isEqualTo("5/1A/00");
    byte[] params = new byte[24];
    Cdb.put16(params, 2, 16);
    Cdb.put64(params, 8, SIZE / 512 - 1);
    Cdb.put32(params, 16, 2);
    assertThat(h.run(n, 0, cdb(0x42, 10, 8, 24), params).outcome()).isEqualTo("5/21/00");
  }

  private int[] status(long lba) {
    byte[] c = cdb(0x9e, 16, 1, 0x12, 13, 24);
    Cdb.put64(c, 2, lba);
    byte[] d = h.run(n, 0, c, null).data();
    return new int[] {(int) Cdb.u64(d, 8), (int) Cdb.u32(d, 16), d[20]};
  }
}
