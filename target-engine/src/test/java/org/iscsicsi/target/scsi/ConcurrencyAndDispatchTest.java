package org.iscsicsi.target.scsi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iscsicsi.target.scsi.ScsiHarness.cdb;
import static org.iscsicsi.target.scsi.ScsiHarness.rw10;
import static org.iscsicsi.target.scsi.ScsiHarness.rw16;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How commands are run: blocking file I/O only on the port's I/O executor (never on the caller's
 * thread, which in the engine is a netty event loop; only page-cache reads and small buffered
 * writes run there, and nothing with inline I/O off), many commands in flight on one LUN,
 * COMPARE AND WRITE atomic against concurrent writers, the CDB's Data-Out length reported for
 * residuals, and descriptor-format sense from REQUEST SENSE.
 */
class ConcurrencyAndDispatchTest {

  @TempDir
  Path dir;

  @Test
  void fileIoRunsOnTheIoExecutorOnly() throws Exception {
    assertThat(submittedForWriteReadSync(false)).isEqualTo(3);
  }

  @Test
  void onlyBlockingFileIoLeavesTheCallersThread() throws Exception {
    // the small write goes to the page cache and the read finds it there: both inline; the
    // SYNCHRONIZE CACHE (fdatasync) goes to the executor
    assertThat(submittedForWriteReadSync(true)).isEqualTo(1);
  }

  /** INQUIRY, READ CAPACITY, MODE SENSE, WRITE, READ, SYNCHRONIZE CACHE: tasks submitted. */
  private int submittedForWriteReadSync(boolean inline) throws Exception {
    AtomicInteger submitted = new AtomicInteger();
    ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
    ScsiTargetDevice port = new ScsiTargetDevice(ScsiHarness.TARGET, task -> {
      submitted.incrementAndGet();
      pool.execute(task);
    }, inline);
    try (ScsiHarness h = new ScsiHarness(dir, port)) {
      h.attach(0, 1 << 20, true, false);
      ItNexus n = h.login(ScsiHarness.nexus("iqn.2026-01.org.iscsicsi:a", 1));
      submitted.set(0);
      h.run(n, cdb(0x12, 6, 4, 36));
      h.run(n, cdb(0x25, 10));
      h.run(n, cdb(0x1a, 6, 2, 0x3f, 4, 0xff));
      assertThat(submitted).as("no I/O for INQUIRY, READ CAPACITY, MODE SENSE").hasValue(0);
      h.run(n, 0, rw10(0x2a, 0, 1, 0), new byte[512]);
      h.run(n, 0, rw10(0x28, 0, 1, 0), null);
      h.run(n, cdb(0x35, 10));
      return submitted.get();
    } finally {
      pool.close();
    }
  }

  @Test
  void compareAndWriteIsAtomicUnderContention() throws Exception {
    try (ScsiHarness h = new ScsiHarness(dir)) {
      h.attach(0, 1 << 20, true, false);
      ItNexus n = h.login(ScsiHarness.nexus("iqn.2026-01.org.iscsicsi:a", 1));
      int workers = 8;
      int incrementsEach = 25;
      AtomicInteger miscompares = new AtomicInteger();
      try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
        List<Future<?>> futures = new ArrayList<>();
        for (int w = 0; w < workers; w++) {
          int worker = w;
          futures.add(pool.submit(() -> {
            for (int i = 0; i < incrementsEach; ) {
              byte[] current = h.run(n, 0, rw10(0x28, 0, 1, 0), null).data();
              byte[] next = current.clone();
              Cdb.put64(next, 0, Cdb.u64(current, 0) + 1);
              byte[] both = new byte[1024];
              System.arraycopy(current, 0, both, 0, 512);
              System.arraycopy(next, 0, both, 512, 512);
              byte[] caw = new byte[16];
              caw[0] = (byte) 0x89;
              caw[13] = 1;
              String outcome = h.run(n, 0, caw, both).outcome();
              if (outcome.equals("GOOD")) {
                i++;
              } else {
                assertThat(outcome).isEqualTo("E/1D/00");
                miscompares.incrementAndGet();
              }
              // plain writes elsewhere on the LUN run concurrently
              h.run(n, 0, rw10(0x2a, 8 + worker, 1, 0), ScsiHarness.pattern(512, worker));
            }
            return null;
          }));
        }
        for (Future<?> f : futures) {
          f.get();
        }
      }
      byte[] counter = h.run(n, 0, rw10(0x28, 0, 1, 0), null).data();
      assertThat(Cdb.u64(counter, 0)).isEqualTo((long) workers * incrementsEach);
      System.out.printf("COMPARE AND WRITE: %d increments, %d miscompares retried%n",
          workers * incrementsEach, miscompares.get());
      for (int w = 0; w < workers; w++) {
        assertThat(h.run(n, 0, rw10(0x28, 8 + w, 1, 0), null).data())
            .isEqualTo(ScsiHarness.pattern(512, w));
      }
    }
  }

  @Test
  void manyWritesInFlightOnOneLun() throws Exception {
    try (ScsiHarness h = new ScsiHarness(dir)) {
      h.attach(0, 8 << 20, true, false);
      ItNexus n = h.login(ScsiHarness.nexus("iqn.2026-01.org.iscsicsi:a", 1));
      int commands = 64;
      List<java.util.concurrent.CompletionStage<ScsiResponse>> stages = new ArrayList<>();
      for (int i = 0; i < commands; i++) {
        byte[] data = ScsiHarness.pattern(64 * 1024, i);
        stages.add(h.port.execute(new ScsiRequest(n, 0, rw16(0x8a, i * 128L, 128, 0), i,
            TaskAttribute.SIMPLE, DataDirection.WRITE, data.length,
            io.netty.buffer.Unpooled.wrappedBuffer(data))));
      }
      for (var s : stages) {
        assertThat(s.toCompletableFuture().get().status()).isZero();
      }
      for (int i = 0; i < commands; i++) {
        assertThat(h.run(n, 0, rw16(0x88, i * 128L, 128, 0), null).data())
            .isEqualTo(ScsiHarness.pattern(64 * 1024, i));
      }
    }
  }

  @Test
  void dataOutLengthIsReportedForResiduals() throws Exception {
    try (ScsiHarness h = new ScsiHarness(dir)) {
      h.attach(0, 1 << 20, true, false);
      ItNexus n = h.login(ScsiHarness.nexus("iqn.2026-01.org.iscsicsi:a", 1));
      // WRITE(10) of 2 blocks with only one block of Data-Out: one block written, 1024 reported
      ScsiHarness.Result short1 = h.run(n, 0, rw10(0x2a, 0, 2, 0), ScsiHarness.pattern(512, 1));
      assertThat(short1.outcome()).isEqualTo("GOOD");
      assertThat(short1.transferLength()).isEqualTo(1024);
      assertThat(h.run(n, 0, rw10(0x28, 1, 1, 0), null).data()).isEqualTo(new byte[512]);
      assertThat(h.run(n, 0, rw16(0x93, 0, 4, 0), new byte[512]).transferLength()).isEqualTo(512);
      assertThat(h.run(n, cdb(0x00, 6)).transferLength()).isEqualTo(-1);
    }
  }

  @Test
  void requestSenseInDescriptorFormat() throws Exception {
    try (ScsiHarness h = new ScsiHarness(dir)) {
      h.attach(0, 1 << 20, true, false);
      ItNexus n = ScsiHarness.nexus("iqn.2026-01.org.iscsicsi:a", 1);
      h.port.nexusCreated(n);
      byte[] d = h.run(n, cdb(0x03, 6, 1, 1, 4, 0xff)).data();
      assertThat(d[0]).isEqualTo((byte) 0x72);
      assertThat(d[1]).isEqualTo((byte) 0x06);
      assertThat(d[2]).isEqualTo((byte) 0x29);
      assertThat(h.run(n, cdb(0x00, 6)).outcome()).isEqualTo("GOOD");
    }
  }
}
