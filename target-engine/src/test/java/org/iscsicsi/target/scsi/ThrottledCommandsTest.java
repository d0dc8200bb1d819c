package org.iscsicsi.target.scsi;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.qos.QosLimits;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * READs under a LUN's I/O limits through the SCSI port: a command the limits hold back completes
 * later (not on the caller's thread), one that would wait beyond the bound gets TASK SET FULL at
 * once, and lifting the limits completes the held ones promptly with GOOD and their data.
 */
class ThrottledCommandsTest {

  @TempDir
  Path dir;

  @Test
  void heldRefusedAndReleased() throws Exception {
    try (ScsiHarness h = new ScsiHarness(dir)) {
      LogicalUnit unit = h.attach(0, 1 << 20, true, false);
      ItNexus n = h.login(ScsiHarness.nexus("iqn.2026-01.org.iscsicsi:a", 1));
      unit.throttle().setLimits(new QosLimits(1, 0, 0, 0, 0)); // one READ per second
      List<CompletableFuture<ScsiResponse>> reads = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        reads.add(h.port.execute(new ScsiRequest(n, 0, ScsiHarness.rw10(0x28, i, 1, 0), 10 + i,
            TaskAttribute.SIMPLE, DataDirection.READ, 512, null)).toCompletableFuture());
      }
      assertThat(reads.get(0).get(5, TimeUnit.SECONDS).status()).isEqualTo(ScsiResponse.GOOD);
      // the sixth would wait 5 s, beyond the 4 s bound
      assertThat(reads.get(5).get(1, TimeUnit.SECONDS).status())
          .isEqualTo(ScsiResponse.TASK_SET_FULL);
      assertThat(reads.subList(1, 5)).noneMatch(CompletableFuture::isDone);

      unit.throttle().setLimits(QosLimits.NONE);
      for (CompletableFuture<ScsiResponse> r : reads.subList(1, 5)) {
        ScsiResponse done = r.get(2, TimeUnit.SECONDS);
        assertThat(done.status()).isEqualTo(ScsiResponse.GOOD);
        assertThat(done.dataIn().readableBytes()).isEqualTo(512);
        done.dataIn().release();
      }
      reads.getFirst().get().dataIn().release();
      assertThat(unit.throttle().stats().delayedCommands()[0]).isEqualTo(4);
      assertThat(unit.throttle().stats().refusedCommands()[0]).isEqualTo(1);
    }
  }
}
