package org.iscsicsi.target.attack;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.iscsicsi.target.server.RawInitiator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A logged-in initiator announces a 2 GiB WRITE and streams Data-Out at it: first a WRITE(16) of
 * 2 GiB (expected length 2 GiB - 1) followed by 2 GiB of unsolicited Data-Out, then a WRITE(10) of
 * 8 blocks with the same expected length, whose R2T asks for 4 KiB, followed by Data-Out for a
 * forged Target Transfer Tag. The first is refused at once with ILLEGAL REQUEST (its Data-Out
 * discarded unread into any buffer), every forged Data-Out gets a Reject; a legitimate session
 * started meanwhile logs in and does I/O within 2 s; the engine's heap and RSS stay bounded.
 */
class LargeWriteAttackIT {

  private static final long ANNOUNCED = 2L << 30;
  private static final int EDTL = Integer.MAX_VALUE; // the largest the engine takes: 2 GiB - 1
  private static final int SEGMENT = 256 << 10; // the engine's MaxRecvDataSegmentLength
  private static final Duration STREAM_LIMIT = Duration.ofSeconds(20);

  @TempDir
  Path dir;

  @Test
  void twoGibibyteWriteIsRefusedAndItsDataNeverBuffered() throws Exception {
    try (AttackHarness h = AttackHarness.start(dir);
        RawInitiator attacker = Attacker.session(h, Attacker.READ_WRITE, false);
        ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
      AtomicLong refused = new AtomicLong();
      AtomicLong streamed = new AtomicLong();
      CompletableFuture<Void> reader = CompletableFuture.runAsync(() -> readAll(attacker,
          refused), threads);
      byte[] segment = new byte[SEGMENT];
      CompletableFuture<Integer> writer = CompletableFuture.supplyAsync(() -> {
        try {
          long deadline = System.nanoTime() + STREAM_LIMIT.toNanos();
          int big = attacker.command(0x80 | 0x20, EDTL, Attacker.write16(ANNOUNCED / 512),
              new byte[0]);
          int dataSn = 0;
          for (long offset = 0; offset < ANNOUNCED && System.nanoTime() < deadline;
              offset += SEGMENT) {
            attacker.send(Attacker.dataOut(big, -1, dataSn++, offset, SEGMENT), segment);
            streamed.addAndGet(SEGMENT);
          }
          int small = attacker.command(0x80 | 0x20, EDTL, RawInitiator.rw10(0x2a, 0, 8),
              new byte[0]);
          for (int i = 0; i < 1024 && System.nanoTime() < deadline; i++) {
            attacker.send(Attacker.dataOut(small, 0x7ead0000 + i, i, (long) i * SEGMENT,
                SEGMENT), segment);
            streamed.addAndGet(SEGMENT);
          }
          return small;
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }, threads);
      Thread.sleep(1000); // the stream is under way
      Duration legitimate = h.legitimateLoginAndIo();
      h.assertBoundedAndReport("2 GiB WRITE with Data-Out streamed at it (mid-stream)",
          refused.get(), legitimate);
      writer.get(2 * STREAM_LIMIT.toSeconds(), TimeUnit.SECONDS);
      attacker.ping(); // its answer marks the end of what the engine sent
      reader.get(30, TimeUnit.SECONDS);
      System.out.printf("attack: 2 GiB WRITE: %d MiB of Data-Out streamed%n",
          streamed.get() >> 20);
      assertThat(refused.get()).as("refusals: the WRITE(16) and each forged Data-Out")
          .isGreaterThan(1);
      h.assertBoundedAndReport("2 GiB WRITE with Data-Out streamed at it (after)",
          refused.get(), h.legitimateLoginAndIo());
    }
  }

  /**
   * Reads the engine's answers until the NOP-In: the WRITE(16)'s CHECK CONDITION (ILLEGAL
   * REQUEST: LBA out of range or INVALID FIELD IN CDB), the R2T of the WRITE(10), never more than
   * its 4 KiB, and a Reject (protocol error) per forged Data-Out.
   */
  private static void readAll(RawInitiator attacker, AtomicLong refused) {
    try {
      attacker.timeout(60_000);
      while (true) {
        RawInitiator.Pdu pdu = attacker.read();
        switch (pdu.opcode()) {
          case Attacker.SCSI_RESPONSE -> {
            assertThat(Attacker.outcome(pdu)).as("the 2 GiB WRITE(16)").startsWith("5/");
            refused.incrementAndGet();
          }
          case Attacker.R2T -> assertThat(pdu.intAt(44)).as("R2T desired length")
              .isEqualTo(4096);
          case Attacker.REJECT -> {
            assertThat(pdu.byteAt(2)).as("protocol error").isEqualTo(0x04);
            refused.incrementAndGet();
          }
          case 0x20 -> {
            if (pdu.intAt(20) == -1) { // the answer to the attacker's own ping
              return;
            }
          }
          default -> throw new AssertionError("unexpected opcode 0x"
              + Integer.toHexString(pdu.opcode()));
        }
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
