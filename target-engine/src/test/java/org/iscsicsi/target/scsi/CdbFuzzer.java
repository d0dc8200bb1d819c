package org.iscsicsi.target.scsi;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.target.fuzz.FuzzStatistics;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Coverage-guided fuzzing of CDB decoding and execution: any CDB (6 to 32 bytes), any expected
 * length, direction and Data-Out, against a real file-backed LUN 0 (and LUN 1 read-only), from a
 * read-write or a read-only nexus, through {@link ScsiTargetDevice#dataOutAccepted} and {@link
 * ScsiTargetDevice#execute}. Every command completes, never exceptionally; its status is one SAM-5
 * defines; CHECK CONDITION carries well-formed sense data; Data-In never exceeds MAXIMUM TRANSFER
 * LENGTH; what {@code dataOutAccepted} admits never exceeds it either; the Data-Out is always
 * released; a read-only nexus never changes the LUN file. Regression inputs:
 * {@code src/test/resources/org/iscsicsi/target/scsi/CdbFuzzerInputs/execute/}.
 */
class CdbFuzzer {

  private static final long LUN_BYTES = 64 << 10;
  private static final int MAX_DATA_OUT = 16 << 10;
  private static final FuzzStatistics STATS = new FuzzStatistics("Cdb");
  private static Path dir;
  private static ScsiHarness harness;
  private static ItNexus readWrite;
  private static ItNexus readOnly;

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("cdb-fuzzer");
    // file I/O on the caller's thread: every command completes before execute returns
    harness = new ScsiHarness(dir, new ScsiTargetDevice(ScsiHarness.TARGET, Runnable::run, true));
    harness.attach(0, LUN_BYTES, true, false);
    harness.attach(1, LUN_BYTES, true, true);
    readWrite = ScsiHarness.nexus("iqn.2026-11.org.iscsicsi:fuzz-rw", 1);
    readOnly = ScsiHarness.readOnlyNexus("iqn.2026-11.org.iscsicsi:fuzz-ro");
    harness.port.nexusCreated(readWrite);
    harness.port.nexusCreated(readOnly);
  }

  @AfterAll
  static void stop() throws Exception {
    STATS.print();
    harness.close();
    try (var files = Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @FuzzTest(maxDuration = "45s")
  void execute(FuzzedDataProvider data) throws Exception {
    boolean ro = data.consumeBoolean();
    long lun = data.consumeInt(0, 2);
    DataDirection direction = data.pickValue(DataDirection.values());
    int edtl = data.consumeInt(0, Integer.MAX_VALUE);
    byte[] cdb = data.consumeBytes(data.consumeInt(6, 32));
    if (cdb.length == 0) {
      return;
    }
    byte[] out = data.consumeBytes(MAX_DATA_OUT);
    int accepted = harness.port.dataOutAccepted(lun, cdb);
    assertThat(accepted).isBetween(0, ScsiTargetPort.MAX_TRANSFER_BYTES);
    ByteBuf dataOut = null;
    if (direction == DataDirection.WRITE || direction == DataDirection.BIDIRECTIONAL) {
      // a real buffer even when empty (Unpooled's shared empty buffer ignores release), as the
      // iSCSI layer hands over
      int length = Math.min(out.length, accepted);
      dataOut = Unpooled.buffer(length, Math.max(1, length)).writeBytes(out, 0, length);
    }
    long before = lun == 1 || ro ? checksum(lun) : -1;
    ScsiRequest request = new ScsiRequest(ro ? readOnly : readWrite, lun, cdb, 1,
        TaskAttribute.SIMPLE, direction, edtl, dataOut);
    ScsiResponse r = harness.port.execute(request).toCompletableFuture().get(10, TimeUnit.SECONDS);
    try {
      assertThat(r.status()).isIn(ScsiResponse.GOOD, ScsiResponse.CHECK_CONDITION,
          ScsiResponse.BUSY, ScsiResponse.RESERVATION_CONFLICT, ScsiResponse.TASK_SET_FULL);
      if (r.status() == ScsiResponse.CHECK_CONDITION) {
        assertThat(r.sense().length).isGreaterThanOrEqualTo(8);
        assertThat(r.sense()[0] & 0x7f).isIn(0x70, 0x72);
        // ABORTED COMMAND, INTERNAL TARGET FAILURE: what the port answers when a command threw
        assertThat(outcome(r)).as("CDB %s on LUN %d: the SCSI layer threw",
            ScsiTargetDevice.hex(cdb), lun).isNotEqualTo("B/44");
      }
      assertThat(r.dataInLength()).isLessThanOrEqualTo(ScsiTargetPort.MAX_TRANSFER_BYTES);
      if (dataOut != null) {
        assertThat(dataOut.refCnt()).as("Data-Out released: CDB %s, LUN %d, %s, status %02x",
            ScsiTargetDevice.hex(cdb), lun, direction, r.status()).isZero();
      }
      if (before >= 0) {
        assertThat(checksum(lun)).as("read-only LUN %d unchanged", lun).isEqualTo(before);
      }
      STATS.outcome(String.format("%02x:%s", cdb[0] & 0xff, outcome(r)));
    } finally {
      r.releaseDataIn();
    }
    STATS.executed(1);
  }

  /** CRC-32 of a LUN's file; ScsiHarness names files by attach order (lun1.img is LUN 0). */
  private static long checksum(long lun) throws java.io.IOException {
    Path file = dir.resolve("lun" + (lun + 1) + ".img");
    if (!Files.exists(file)) {
      return 0;
    }
    java.util.zip.CRC32 crc = new java.util.zip.CRC32();
    crc.update(Files.readAllBytes(file));
    return crc.getValue();
  }

  private static String outcome(ScsiResponse r) {
    if (r.status() != ScsiResponse.CHECK_CONDITION) {
      return Integer.toHexString(r.status());
    }
    byte[] s = r.sense();
    return (s[0] & 0x7f) == 0x72 ? String.format("%X/%02X", s[1] & 0x0f, s[2] & 0xff)
        : String.format("%X/%02X", s[2] & 0x0f, s[12] & 0xff);
  }
}
