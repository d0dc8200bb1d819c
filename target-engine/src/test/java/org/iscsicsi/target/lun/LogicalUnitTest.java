package org.iscsicsi.target.lun;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.iscsicsi.target.lun.LunFixtures.config;
import static org.iscsicsi.target.lun.LunFixtures.pattern;

import java.nio.ByteBuffer;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link LogicalUnit} on real files in a temp dir: thin LUNs are sparse and holes are really
 * punched (the file's allocated blocks drop, SEEK_DATA/SEEK_HOLE see them), thick LUNs are
 * preallocated, data survives close/reopen, online grow notifies listeners and never shrinks,
 * quiesce holds writes until released, and a missing backing file is reported, not thrown.
 */
class LogicalUnitTest {

  @TempDir
  Path dir;

  @Test
  void thinLunIsSparseAndUnmapPunchesHoles() throws Exception {
    try (LogicalUnit unit = LogicalUnit.create(config(dir, "thin.img", 64 << 20, true))) {
      assertThat(Files.size(dir.resolve("thin.img"))).isEqualTo(64 << 20);
      assertThat(unit.allocatedBytes()).isLessThan(64 * 1024);
      unit.write(1 << 20, pattern(4 << 20, 1), false);
      unit.flush();
      long written = unit.allocatedBytes();
      assertThat(written).isGreaterThanOrEqualTo(4 << 20);
      assertThat(unit.extentAt(0)).isEqualTo(new LogicalUnit.Extent(false, 1 << 20));
      assertThat(unit.extentAt(1 << 20)).isEqualTo(new LogicalUnit.Extent(true, 4 << 20));

      unit.unmap(2 << 20, 2 << 20);
      assertThat(unit.allocatedBytes()).isLessThanOrEqualTo(written - (2 << 20));
      assertThat(unit.extentAt(2 << 20).mapped()).isFalse();
      ByteBuffer back = ByteBuffer.allocate(2 << 20);
      unit.read(2 << 20, back);
      assertThat(back.array()).isEqualTo(new byte[2 << 20]);
      ByteBuffer kept = ByteBuffer.allocate(1 << 20);
      unit.read(1 << 20, kept);
      assertThat(kept.flip()).isEqualTo(pattern(4 << 20, 1).limit(1 << 20));
    }
  }

  @Test
  void thickLunIsPreallocatedAndUnmapZeroesInPlace() throws Exception {
    try (LogicalUnit unit = LogicalUnit.create(config(dir, "thick.img", 8 << 20, false))) {
      assertThat(unit.allocatedBytes()).isGreaterThanOrEqualTo(8 << 20);
      unit.write(0, pattern(8192, 3), true);
      unit.unmap(0, 4096);
      ByteBuffer b = ByteBuffer.allocate(4096);
      unit.read(0, b);
      assertThat(b.array()).isEqualTo(new byte[4096]);
      assertThat(unit.allocatedBytes()).isGreaterThanOrEqualTo(8 << 20);
      assertThat(unit.extentAt(0)).isEqualTo(new LogicalUnit.Extent(true, 8 << 20));
    }
  }

  @Test
  void dataSurvivesReopenAndCountersCount() throws Exception {
    LunConfig c = config(dir, "reopen.img", 1 << 20, true);
    try (LogicalUnit unit = LogicalUnit.create(c)) {
      unit.write(4096, pattern(1024, 9), true);
      assertThat(unit.counters()).isEqualTo(new LunCounters(0, 1, 0, 1024));
    }
    try (LogicalUnit unit = LogicalUnit.open(c)) {
      assertThat(unit.condition()).isEmpty();
      ByteBuffer b = ByteBuffer.allocate(1024);
      unit.read(4096, b);
      assertThat(b.flip()).isEqualTo(pattern(1024, 9));
      assertThat(unit.counters().readOps()).isEqualTo(1);
    }
    assertThatThrownBy(() -> LogicalUnit.create(c)).isInstanceOf(FileAlreadyExistsException.class);
  }

  @Test
  void growsOnlineAndRefusesToShrink() throws Exception {
    try (LogicalUnit unit = LogicalUnit.create(config(dir, "grow.img", 1 << 20, true))) {
      AtomicInteger notified = new AtomicInteger();
      unit.addCapacityListener(notified::incrementAndGet);
      unit.write(0, pattern(512, 1), false);
      unit.resize(3 << 20);
      assertThat(unit.sizeBytes()).isEqualTo(3 << 20);
      assertThat(unit.config().sizeBytes()).isEqualTo(3 << 20);
      assertThat(Files.size(dir.resolve("grow.img"))).isEqualTo(3 << 20);
      assertThat(notified).hasValue(1);
      ByteBuffer b = ByteBuffer.allocate(512);
      unit.read(0, b);
      assertThat(b.flip()).isEqualTo(pattern(512, 1));
      assertThatThrownBy(() -> unit.resize(1 << 20)).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("only grow");
      assertThatThrownBy(() -> unit.resize((3 << 20) + 100))
          .isInstanceOf(IllegalArgumentException.class);
      assertThat(notified).hasValue(1);
    }
  }

  @Test
  void quiesceHoldsWritesUntilReleased() throws Exception {
    try (LogicalUnit unit = LogicalUnit.create(config(dir, "q.img", 1 << 20, true))) {
      CompletableFuture<Void> write;
      try (LogicalUnit.Quiesce q = unit.quiesce()) {
        write = CompletableFuture.runAsync(() -> {
          try {
            unit.write(0, pattern(512, 5), false);
          } catch (Exception e) {
            throw new RuntimeException(e);
          }
        });
        assertThatThrownBy(() -> write.get(300, TimeUnit.MILLISECONDS))
            .isInstanceOf(TimeoutException.class);
        ByteBuffer b = ByteBuffer.allocate(512);
        unit.read(0, b);
        assertThat(b.array()).as("reads go on, the write has not happened")
            .isEqualTo(new byte[512]);
      }
      write.get(10, TimeUnit.SECONDS);
      assertThat(unit.counters().writeOps()).isEqualTo(1);
    }
  }

  @Test
  void missingBackingFileIsAConditionNotACrash() throws Exception {
    LunConfig c = config(dir, "gone.img", 1 << 20, true);
    try (LogicalUnit unit = LogicalUnit.open(c)) {
      assertThat(unit.condition()).hasValueSatisfying(s -> assertThat(s).contains("gone.img"));
      assertThatThrownBy(() -> unit.read(0, ByteBuffer.allocate(512)))
          .hasMessageContaining("gone.img");
    }
    try (LogicalUnit unit = LogicalUnit.create(config(dir, "deleted.img", 1 << 20, true))) {
      Files.delete(dir.resolve("deleted.img"));
      assertThat(unit.condition()).hasValueSatisfying(s -> assertThat(s).contains("missing"));
    }
  }

  @Test
  void readOnlyLunRefusesWrites() throws Exception {
    LunConfig c = config(dir, "ro.img", 1 << 20, true);
    LogicalUnit.create(c).close();
    LunConfig ro = new LunConfig(c.file(), c.sizeBytes(), 512, true, true, c.serial(), c.naa());
    try (LogicalUnit unit = LogicalUnit.open(ro)) {
      assertThatThrownBy(() -> unit.write(0, pattern(512, 1), false))
          .hasMessageContaining("read-only");
      unit.read(0, ByteBuffer.allocate(512));
    }
  }

  @Test
  void configIsValidated() {
    assertThatThrownBy(() -> config(dir, "bad.img", 1000, true))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("multiple");
    assertThatThrownBy(() -> new LunConfig(dir.resolve("x"), 4096, 300, true, false, "S",
        HexFormat.of().parseHex("600140500000000000000000000000aa")))
        .hasMessageContaining("block size");
    assertThatThrownBy(() -> new LunConfig(dir.resolve("x"), 4096, 512, true, false, "S",
        new byte[16])).hasMessageContaining("NAA 6");
  }
}
