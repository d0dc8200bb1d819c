package org.iscsicsi.target.scsi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iscsicsi.target.scsi.ScsiHarness.rw10;

import io.netty.buffer.Unpooled;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Task attributes (SAM-5 8.6) with an I/O executor the test releases one task at a time: SIMPLE
 * tasks all start at once, an ORDERED task waits for every earlier task, later SIMPLE tasks wait
 * for the ORDERED one, HEAD OF QUEUE tasks overtake.
 */
class TaskOrderingTest {

  @TempDir
  Path dir;

  private final BlockingQueue<Runnable> held = new LinkedBlockingQueue<>();

  private ScsiRequest write(ItNexus n, long lba, TaskAttribute attribute, int seed) {
    byte[] data = ScsiHarness.pattern(512, seed);
    return new ScsiRequest(n, 0, rw10(0x2a, lba, 1, 0), seed, attribute, DataDirection.WRITE, 512,
        Unpooled.wrappedBuffer(data));
  }

  private void releaseOne() throws InterruptedException {
    Runnable r = held.poll(10, TimeUnit.SECONDS);
    assertThat(r).as("an I/O task was queued").isNotNull();
    r.run();
  }

  @Test
  void orderedWaitsForEarlierTasksAndLaterOnesWaitForIt() throws Exception {
    // every file access through the held executor, so that the test decides what runs when
    ScsiTargetDevice port = new ScsiTargetDevice(ScsiHarness.TARGET, held::add, false);
    try (ScsiHarness h = new ScsiHarness(dir, port)) {
      h.attach(0, 1 << 20, true, false);
      ItNexus n = ScsiHarness.nexus("iqn.2026-01.org.iscsicsi:a", 1);
      var a = port.execute(write(n, 0, TaskAttribute.SIMPLE, 1)).toCompletableFuture();
      var b = port.execute(write(n, 1, TaskAttribute.SIMPLE, 2)).toCompletableFuture();
      assertThat(held).as("simple tasks start together").hasSize(2);
      var ordered = port.execute(write(n, 2, TaskAttribute.ORDERED, 3)).toCompletableFuture();
      var after = port.execute(write(n, 3, TaskAttribute.SIMPLE, 4)).toCompletableFuture();
      var urgent = port.execute(write(n, 4, TaskAttribute.HEAD_OF_QUEUE, 5))
          .toCompletableFuture();
      assertThat(held).as("ORDERED and the SIMPLE after it wait; HEAD OF QUEUE does not")
          .hasSize(3);
      releaseOne();
      releaseOne();
      assertThat(a.get(5, TimeUnit.SECONDS).status()).isZero();
      assertThat(b.get(5, TimeUnit.SECONDS).status()).isZero();
      releaseOne(); // the HEAD OF QUEUE write
      assertThat(urgent.get(5, TimeUnit.SECONDS).status()).isZero();
      releaseOne(); // now the ORDERED one
      assertThat(ordered.get(5, TimeUnit.SECONDS).status()).isZero();
      assertThat(after.isDone()).isFalse();
      releaseOne();
      assertThat(after.get(5, TimeUnit.SECONDS).status()).isZero();
      assertThat(held).isEmpty();
      CompletableFuture<ScsiResponse> read = port.execute(new ScsiRequest(n, 0,
          rw10(0x28, 2, 1, 0), 9, TaskAttribute.SIMPLE, DataDirection.READ, 512, null))
          .toCompletableFuture();
      releaseOne();
      ScsiResponse r = read.get(5, TimeUnit.SECONDS);
      byte[] got = new byte[512];
      r.dataIn().getBytes(0, got);
      r.dataIn().release();
      assertThat(got).isEqualTo(ScsiHarness.pattern(512, 3));
    }
  }
}
