package org.iscsicsi.target.attack;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.iscsicsi.target.server.RawInitiator;
import org.iscsicsi.target.session.DataPathLimits;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A logged-in initiator sends 20 000 immediate commands (which the command window does not hold
 * back) and reads no response: immediate WRITE(10)s that each wait for their Data-Out, then
 * immediate READ(10)s. The engine keeps at most {@code maxTasks} tasks (each further immediate
 * command gets Reject "too many immediate commands") and stops reading from the attacker once
 * its responses back up, so the attacker's sends stall; a legitimate session started meanwhile
 * logs in and does I/O within 2 s; heap and RSS stay bounded; once the attacker reads, every
 * command it sent has its answer.
 */
class ImmediateCommandFloodAttackIT {

  private static final int COMMANDS = 20_000;
  private static final int WRITES = COMMANDS / 2;
  private static final int READ_BLOCKS = 16;

  @TempDir
  Path dir;

  @Test
  void twentyThousandUnreadImmediateCommandsAreBounded() throws Exception {
    try (AttackHarness h = AttackHarness.start(dir);
        RawInitiator attacker = Attacker.session(h, Attacker.READ_WRITE, false);
        ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
      AtomicInteger sent = new AtomicInteger();
      CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
        try {
          for (int i = 0; i < COMMANDS; i++) {
            byte[] cdb = i < WRITES ? RawInitiator.rw10(0x2a, i, 1)
                : RawInitiator.rw10(0x28, i % 1000, READ_BLOCKS);
            attacker.immediateCommand(i < WRITES ? 0xa0 : 0xc0,
                i < WRITES ? 512 : READ_BLOCKS * 512, cdb, new byte[0]);
            sent.incrementAndGet();
          }
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }, threads);
      int before;
      int after = sent.get();
      do { // until the attacker's sends stall, or it sent everything
        before = after;
        Thread.sleep(1000);
        after = sent.get();
      } while (after != before && !writer.isDone());
      System.out.printf("attack: 20000 immediate commands: %d sent, %s%n", after,
          writer.isDone() ? "all of them" : "then the engine stopped reading");
      Duration legitimate = h.legitimateLoginAndIo();
      h.assertBoundedAndReport("20000 unread immediate commands (attacker not reading)",
          COMMANDS - DataPathLimits.DEFAULTS.maxTasks(), legitimate);

      int r2ts = 0;
      int rejected = 0;
      int reads = 0;
      attacker.timeout(30_000);
      while (r2ts + rejected + reads < COMMANDS) {
        RawInitiator.Pdu pdu = attacker.read();
        switch (pdu.opcode()) {
          case Attacker.R2T -> r2ts++;
          case Attacker.REJECT -> {
            assertThat(pdu.byteAt(2)).as("too many immediate commands").isEqualTo(0x06);
            rejected++;
          }
          case 0x25 -> reads += (pdu.byteAt(1) & 0x01) != 0 ? 1 : 0; // Data-In with status
          case Attacker.SCSI_RESPONSE -> reads++;
          default -> throw new AssertionError("opcode 0x" + Integer.toHexString(pdu.opcode()));
        }
      }
      writer.get(30, TimeUnit.SECONDS);
      System.out.printf("attack: 20000 immediate commands: %d waiting for Data-Out, %d rejected, "
          + "%d READs answered%n", r2ts, rejected, reads);
      assertThat(r2ts).as("tasks kept").isEqualTo(DataPathLimits.DEFAULTS.maxTasks());
      assertThat(rejected).as("immediate commands refused").isGreaterThanOrEqualTo(
          WRITES - DataPathLimits.DEFAULTS.maxTasks());
      h.assertBoundedAndReport("20000 unread immediate commands (after)", rejected,
          h.legitimateLoginAndIo());
    }
  }
}
