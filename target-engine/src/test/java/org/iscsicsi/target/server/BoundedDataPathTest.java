package org.iscsicsi.target.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.iscsicsi.target.server.FullFeaturePhaseTest.pattern;
import static org.iscsicsi.target.server.FullFeaturePhaseTest.rw10;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.iscsicsi.target.acl.AccessLevel;
import org.iscsicsi.target.session.DataPathLimits;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pins the data path's bounds against a logged-in initiator, over TCP against a real {@link
 * IscsiServer} with its default {@link DataPathLimits}: a WRITE beyond MAXIMUM TRANSFER LENGTH is
 * answered at once with INVALID FIELD IN CDB, before any R2T; an expected length beyond the CDB's
 * solicits only the CDB's data and reports residual underflow; Data-Out outside its sequence
 * (beyond FirstBurstLength, beyond the R2T, for an unknown TTT) is rejected; immediate commands
 * beyond the per-connection task cap get Reject "too many immediate commands"; a command beyond
 * the byte budget gets TASK SET FULL; and a peer that does not read its responses stops being
 * read, losing nothing once it reads again.
 */
class BoundedDataPathTest {

  static final String TARGET = "iqn.2026-11.org.iscsicsi:bounded";
  static final String INITIATOR = "iqn.2026-11.org.iscsicsi.test:bounded";
  static final long LUN_BYTES = 64L << 20;
  static final int REJECT = 0x3f;
  static final int SCSI_RESPONSE = 0x21;
  static final int R2T = 0x31;
  static final DataPathLimits LIMITS = DataPathLimits.DEFAULTS;

  @TempDir
  static Path dir;
  static TestTargets targets;
  static IscsiServer server;

  @BeforeAll
  static void start() throws Exception {
    targets = new TestTargets();
    targets.add(TARGET, Map.of("ALL", AccessLevel.READ_WRITE), Optional.empty(),
        Optional.empty(), Map.of(), dir, LUN_BYTES);
    server = new IscsiServer(IscsiServerConfig.defaults().withBind("127.0.0.1", 0)
        .withAdvertisedPortals(List.of()).withTimeouts(Duration.ofSeconds(5), Duration.ZERO),
        targets);
    server.start();
  }

  @AfterAll
  static void stop() throws Exception {
    if (server != null) {
      server.close();
    }
    if (targets != null) {
      targets.close();
    }
  }

  RawInitiator login(Map<String, String> keys) throws Exception {
    RawInitiator r = new RawInitiator(server.boundPort());
    assertThat(r.login(INITIATOR, TARGET, keys).byteAt(36)).isZero();
    r.command(0x80, 0, new byte[16], new byte[0]); // consumes POWER ON OCCURRED
    assertThat(r.read().opcode()).isEqualTo(SCSI_RESPONSE);
    return r;
  }

  static RawInitiator.Pdu readOpcode(RawInitiator r, int opcode) throws IOException {
    RawInitiator.Pdu pdu = r.read();
    assertThat(pdu.opcode()).as("opcode").isEqualTo(opcode);
    return pdu;
  }

  /** Sense key, ASC, ASCQ of a SCSI Response's sense data, as "K/AA/QQ". */
  static String sense(RawInitiator.Pdu response) {
    byte[] d = response.data();
    return String.format("%X/%02X/%02X", d[2 + 2] & 0x0f, d[2 + 12] & 0xff, d[2 + 13] & 0xff);
  }

  /** A WRITE(10) whose data goes out on the R2T; returns its SCSI status. */
  static int solicitedWrite(RawInitiator r, int lba, byte[] data) throws IOException {
    int tag = r.command(0xa0, data.length, rw10(0x2a, lba, data.length / 512), new byte[0]);
    RawInitiator.Pdu r2t = readOpcode(r, R2T);
    r.dataOut(tag, r2t.intAt(20), 0, 0, data, true);
    return readOpcode(r, SCSI_RESPONSE).byteAt(3);
  }

  /** A NOP-Out round trip: the connection still works and its numbering is intact. */
  static void assertAlive(RawInitiator r) throws IOException {
    int tag = r.ping();
    RawInitiator.Pdu in = readOpcode(r, 0x20);
    assertThat(in.intAt(16)).isEqualTo(tag);
  }

  @Test
  void writeBeyondMaximumTransferLengthIsRefusedBeforeAnyData() throws Exception {
    try (RawInitiator r = login(Map.of("InitialR2T", "Yes", "ImmediateData", "No"))) {
      int blocks = 2 * (8 << 20) / 512; // 16 MiB: twice MAXIMUM TRANSFER LENGTH
      int tag = r.command(0xa0, blocks * 512, rw10(0x2a, 0, blocks), new byte[0]);
      RawInitiator.Pdu answer = readOpcode(r, SCSI_RESPONSE); // no R2T came first
      assertThat(answer.intAt(16)).isEqualTo(tag);
      assertThat(answer.byteAt(3)).as("CHECK CONDITION").isEqualTo(0x02);
      assertThat(sense(answer)).as("INVALID FIELD IN CDB").isEqualTo("5/24/00");
      assertAlive(r);
    }
    // with unsolicited data allowed, the burst the initiator sends anyway is discarded
    try (RawInitiator r = login(Map.of("InitialR2T", "No", "ImmediateData", "Yes",
        "FirstBurstLength", "65536"))) {
      int blocks = 0xffff;
      int tag = r.command(0x20, 0x7fffffff, rw10(0x2a, 0, blocks), new byte[4096]);
      RawInitiator.Pdu answer = readOpcode(r, SCSI_RESPONSE);
      assertThat(answer.intAt(16)).isEqualTo(tag);
      assertThat(sense(answer)).isEqualTo("5/24/00");
      for (int offset = 4096; offset < 65536; offset += 8192) {
        r.dataOut(tag, -1, (offset - 4096) / 8192, offset, new byte[8192], offset + 8192 >= 65536);
      }
      assertAlive(r);
    }
  }

  @Test
  void expectedLengthBeyondTheCdbSolicitsOnlyWhatTheCdbDescribes() throws Exception {
    try (RawInitiator r = login(Map.of("InitialR2T", "Yes", "ImmediateData", "No"))) {
      byte[] data = pattern(4096, 7);
      int edtl = 0x7fffffff; // 2 GiB - 1 for a WRITE(10) of 8 blocks
      int tag = r.command(0xa0, edtl, rw10(0x2a, 40, 8), new byte[0]);
      RawInitiator.Pdu r2t = readOpcode(r, R2T);
      assertThat(r2t.intAt(40)).as("offset").isZero();
      assertThat(r2t.intAt(44)).as("desired length: the CDB's, not the EDTL").isEqualTo(4096);
      r.dataOut(tag, r2t.intAt(20), 0, 0, data, true);
      RawInitiator.Pdu status = readOpcode(r, SCSI_RESPONSE);
      assertThat(status.byteAt(3)).as("GOOD").isZero();
      assertThat(status.byteAt(1) & 0x02).as("U: residual underflow").isEqualTo(0x02);
      assertThat(status.intAt(44)).as("residual count").isEqualTo(edtl - 4096);
      r.command(0xc0, 4096, rw10(0x28, 40, 8), new byte[0]);
      assertThat(readOpcode(r, 0x25).data()).isEqualTo(data);
    }
  }

  /**
   * COMPARE AND WRITE whose one-byte NUMBER OF LOGICAL BLOCKS wrapped to 0 while 256 blocks of
   * data are announced: no data is gathered for it, and it still gets INVALID FIELD IN CDB.
   */
  @Test
  void compareAndWriteAnnouncingDataItsCdbDoesNotDescribeIsInvalid() throws Exception {
    try (RawInitiator r = login(Map.of("InitialR2T", "Yes", "ImmediateData", "No"))) {
      byte[] cdb = new byte[16];
      cdb[0] = (byte) 0x89; // NUMBER OF LOGICAL BLOCKS (byte 13) 0
      r.command(0xa0, 2 * 256 * 512, cdb, new byte[0]);
      RawInitiator.Pdu answer = readOpcode(r, SCSI_RESPONSE); // no R2T
      assertThat(sense(answer)).isEqualTo("5/24/00");
    }
  }

  @Test
  void dataOutOutsideItsSequenceIsRejectedWithoutBufferingIt() throws Exception {
    try (RawInitiator r = login(Map.of("InitialR2T", "No", "ImmediateData", "No",
        "FirstBurstLength", "2048", "MaxBurstLength", "8192"))) {
      int tag = r.command(0x20, 8192, rw10(0x2a, 60, 16), new byte[0]);
      r.dataOut(tag, -1, 0, 0, new byte[4096], true); // beyond FirstBurstLength
      RawInitiator.Pdu reject = readOpcode(r, REJECT);
      assertThat(reject.byteAt(2)).as("protocol error").isEqualTo(0x04);
      r.dataOut(tag, -1, 0, 0, new byte[2048], true); // the burst as negotiated
      RawInitiator.Pdu r2t = readOpcode(r, R2T);
      assertThat(r2t.intAt(40)).isEqualTo(2048);
      r.dataOut(tag, r2t.intAt(20) + 1000, 0, 2048, new byte[6144], true); // unknown TTT
      assertThat(readOpcode(r, REJECT).byteAt(2)).isEqualTo(0x04);
      r.dataOut(tag, r2t.intAt(20), 0, 2048, new byte[6144 + 512], true); // beyond the R2T
      assertThat(readOpcode(r, REJECT).byteAt(2)).isEqualTo(0x04);
      r.dataOut(tag, r2t.intAt(20), 0, 2048, new byte[6144], true);
      assertThat(readOpcode(r, SCSI_RESPONSE).byteAt(3)).as("GOOD").isZero();
    }
  }

  @Test
  void immediateCommandsBeyondTheTaskCapAreRejected() throws Exception {
    try (RawInitiator r = login(Map.of("InitialR2T", "Yes", "ImmediateData", "No"))) {
      for (int i = 0; i < LIMITS.maxTasks(); i++) {
        r.immediateCommand(0xa0, 512, rw10(0x2a, i, 1), new byte[0]);
      }
      for (int i = 0; i < LIMITS.maxTasks(); i++) {
        readOpcode(r, R2T); // each task waits for its Data-Out
      }
      int refused = r.immediateCommand(0xa0, 512, rw10(0x2a, 0, 1), new byte[0]);
      RawInitiator.Pdu reject = readOpcode(r, REJECT);
      assertThat(reject.byteAt(2)).as("too many immediate commands").isEqualTo(0x06);
      assertThat(reject.data()).hasSize(48);
      assertThat(new RawInitiator.Pdu(reject.data(), new byte[0]).intAt(16))
          .as("ITT of the rejected command").isEqualTo(refused);
      r.taskManagement(2, 0, 0, 0); // ABORT TASK SET frees them
      assertThat(readOpcode(r, 0x22).byteAt(2)).isZero();
      assertThat(solicitedWrite(r, 5, pattern(512, 5))).as("WRITE after the abort").isZero();
    }
  }

  @Test
  void commandsBeyondTheByteBudgetGetTaskSetFull() throws Exception {
    try (RawInitiator r = login(Map.of("InitialR2T", "Yes", "ImmediateData", "No"))) {
      int largest = 8 << 20;
      int fit = (int) (LIMITS.maxBytesInFlight() / largest);
      for (int i = 0; i < fit; i++) {
        r.command(0xa0, largest, rw10(0x2a, 0, largest / 512), new byte[0]);
        readOpcode(r, R2T);
      }
      int tag = r.command(0xa0, largest, rw10(0x2a, 0, largest / 512), new byte[0]);
      RawInitiator.Pdu full = readOpcode(r, SCSI_RESPONSE);
      assertThat(full.intAt(16)).isEqualTo(tag);
      assertThat(full.byteAt(3)).as("TASK SET FULL").isEqualTo(0x28);
      r.taskManagement(2, 0, 0, 0);
      assertThat(readOpcode(r, 0x22).byteAt(2)).isZero();
      assertThat(solicitedWrite(r, 6, pattern(512, 6))).as("WRITE once the budget is free")
          .isZero();
    }
  }

  @Test
  void aPeerThatDoesNotReadStopsBeingReadAndLosesNothing() throws Exception {
    int pings = 20_000;
    int size = 8192; // the initiator's MaxRecvDataSegmentLength: echoed whole
    long unboundedBytes = (long) pings * (48 + size);
    try (RawInitiator r = login(Map.of());
        ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
      AtomicLong sent = new AtomicLong();
      byte[] data = pattern(size, 9);
      CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
        try {
          for (int i = 0; i < pings; i++) {
            r.ping(data);
            sent.addAndGet(48 + size);
          }
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }, threads);
      long[] last = {-1};
      await("the writer stalls: the engine stopped reading").atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(500)).until(() -> {
            long now = sent.get();
            boolean stalled = now == last[0];
            last[0] = now;
            return stalled || writer.isDone();
          });
      long after = last[0];
      System.out.printf("BoundedDataPathTest: a peer that does not read got %d MiB into the "
          + "engine's socket before it stopped reading (of %d MiB it tried)%n", after >> 20,
          unboundedBytes >> 20);
      assertThat(writer).as("the writer is held back").isNotDone();
      assertThat(after).as("bytes sent before the engine stopped reading")
          .isLessThan(64L << 20);
      for (int i = 0; i < pings; i++) {
        RawInitiator.Pdu in = readOpcode(r, 0x20);
        if (i == 0 || i == pings - 1) {
          assertThat(in.data()).isEqualTo(data);
        }
      }
      writer.get(30, TimeUnit.SECONDS);
      assertAlive(r);
    }
  }
}
