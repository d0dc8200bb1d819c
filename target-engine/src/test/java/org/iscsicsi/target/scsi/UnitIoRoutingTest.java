package org.iscsicsi.target.scsi;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.iscsicsi.target.lun.LogicalUnit;
import org.iscsicsi.target.lun.UnitIo;
import org.iscsicsi.target.lun.UnitNotReadyException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The commands that change a LU go through its {@link UnitIo} (the unit itself, or a replicated
 * unit in front of it): WRITE and SYNCHRONIZE CACHE reach the installed one, which writes to
 * the real unit; a unit that is not ready answers NOT READY with its sense (04h/0Bh standby,
 * 04h/0Ch unavailable, as a replicated unit does when its serve lease lapsed or its epoch
 * moved) and the data reaches nothing.
 */
class UnitIoRoutingTest {

  @TempDir
  Path dir;

  /** Records what reaches it, then does it on the real unit. */
  record Recording(LogicalUnit unit, List<String> calls) implements UnitIo {
    @Override
    public void write(long offset, ByteBuffer[] srcs, boolean force) throws IOException {
      calls.add("write " + offset + (force ? " fua" : ""));
      unit.write(offset, srcs, force);
    }

    @Override
    public boolean writeInline(long offset, ByteBuffer... srcs) {
      calls.add("inline " + offset);
      return false;
    }

    @Override
    public void flush() throws IOException {
      calls.add("flush");
      unit.flush();
    }

    @Override
    public void unmap(long offset, long length) throws IOException {
      calls.add("unmap " + offset);
      unit.unmap(offset, length);
    }
  }

  /** Not ready with the given qualifier, for every change. */
  record NotReady(int ascq) implements UnitIo {
    @Override
    public void write(long offset, ByteBuffer[] srcs, boolean force) throws IOException {
      throw new UnitNotReadyException(0x04, ascq, "not ready");
    }

    @Override
    public boolean writeInline(long offset, ByteBuffer... srcs) throws IOException {
      throw new UnitNotReadyException(0x04, ascq, "not ready");
    }

    @Override
    public void flush() throws IOException {
      throw new UnitNotReadyException(0x04, ascq, "not ready");
    }

    @Override
    public void unmap(long offset, long length) throws IOException {
      throw new UnitNotReadyException(0x04, ascq, "not ready");
    }
  }

  private static String outcome(ScsiResponse r) {
    byte[] s = r.sense();
    return s == null || s.length == 0 ? "GOOD"
        : String.format("%X/%02X/%02X", s[2] & 0xf, s[12] & 0xff, s[13] & 0xff);
  }

  private ScsiResponse run(ScsiHarness h, LunState lu, ScsiCommand command, byte[] cdb,
      byte[] data) throws Exception {
    ItNexus n = ScsiHarness.nexus("iqn.2026-01.org.iscsicsi:a", 1);
    ScsiRequest request = new ScsiRequest(n, 0, cdb, 1, TaskAttribute.SIMPLE,
        data == null ? DataDirection.NONE : DataDirection.WRITE,
        data == null ? 0 : data.length, data == null ? null : Unpooled.wrappedBuffer(data));
    CommandContext c = new CommandContext(request, h.port, lu, Runnable::run, false);
    return command.run(c).toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void writesAndFlushesReachTheInstalledUnitIo() throws Exception {
    try (ScsiHarness h = new ScsiHarness(dir)) {
      LogicalUnit unit = h.attach(0, 1 << 20, true, false);
      LunState lu = new LunState(0, unit, (x, y) -> { });
      List<String> calls = new CopyOnWriteArrayList<>();
      lu.io(new Recording(unit, calls));
      byte[] data = ScsiHarness.pattern(512, 3);
      assertThat(outcome(run(h, lu, new Write(false), ScsiHarness.rw10(0x2a, 4, 1, 0x08),
          data))).isEqualTo("GOOD");
      assertThat(outcome(run(h, lu, new Write(false), ScsiHarness.rw10(0x2a, 5, 1, 0), data)))
          .isEqualTo("GOOD");
      assertThat(outcome(run(h, lu, new SynchronizeCache(), ScsiHarness.cdb(0x35, 10), null)))
          .isEqualTo("GOOD");
      // a small write may first be offered inline, which a replicated unit declines
      assertThat(calls.stream().filter(x -> !x.startsWith("inline")))
          .containsExactly("write 2048 fua", "write 2560", "flush");
      ByteBuffer back = ByteBuffer.allocate(512);
      unit.read(2048, back);
      assertThat(back.array()).isEqualTo(data);
    }
  }

  @Test
  void aUnitThatIsNotReadyAnswersNotReadyWithItsQualifier() throws Exception {
    try (ScsiHarness h = new ScsiHarness(dir)) {
      LogicalUnit unit = h.attach(0, 1 << 20, true, false);
      LunState lu = new LunState(0, unit, (x, y) -> { });
      byte[] data = ScsiHarness.pattern(512, 4);
      lu.io(new NotReady(UnitNotReadyException.ASCQ_STANDBY));
      assertThat(outcome(run(h, lu, new Write(false), ScsiHarness.rw10(0x2a, 0, 1, 0x08),
          data))).isEqualTo("2/04/0B");
      assertThat(outcome(run(h, lu, new SynchronizeCache(), ScsiHarness.cdb(0x35, 10), null)))
          .isEqualTo("2/04/0B");
      lu.io(new NotReady(UnitNotReadyException.ASCQ_UNAVAILABLE));
      assertThat(outcome(run(h, lu, new Write(false), ScsiHarness.rw10(0x2a, 0, 1, 0x08),
          data))).isEqualTo("2/04/0C");
      ByteBuffer back = ByteBuffer.allocate(512);
      unit.read(0, back);
      assertThat(back.array()).as("nothing written").isEqualTo(new byte[512]);
    }
  }
}
