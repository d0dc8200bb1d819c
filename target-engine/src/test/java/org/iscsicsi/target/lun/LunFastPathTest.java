package org.iscsicsi.target.lun;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.iscsicsi.target.lun.LunFixtures.config;
import static org.iscsicsi.target.lun.LunFixtures.directPattern;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The calls of {@link LogicalUnit} that never wait for the disk, on real files: a cached read
 * ({@code preadv2} with RWF_NOWAIT) returns the file's bytes or declines without recording
 * anything; a {@link LunFileRegion} transfers exactly the file's bytes, zeros for a hole,
 * declines a range not in the page cache (dropped with {@code dd iflag=nocache}) until a blocking
 * read brought it in, also when only its middle left the cache (cachestat(2)), declines a range
 * past the end of a shortened file, and keeps the file open after the LUN is closed (and its
 * file deleted) until the last region is released; an inline
 * write lands like a blocking one and is counted once; a gathering write of several segments is
 * one write in the counters.
 */
class LunFastPathTest {

  @TempDir
  Path dir;

  private static byte[] bytes(ByteBuffer b) {
    byte[] a = new byte[b.remaining()];
    b.duplicate().get(a);
    return a;
  }

  /** GNU dd's iflag=nocache with count=0 drops the (clean) cached pages of the whole file. */
  /** How often a test asks the kernel to drop a file's pages before it gives up (skips). */
  private static final int DROP_ATTEMPTS = 5;

  private static void dropFromPageCache(Path file) throws Exception {
    Process dd = new ProcessBuilder("dd", "if=" + file, "iflag=nocache", "count=0")
        .redirectErrorStream(true).start();
    dd.getInputStream().readAllBytes();
    assertThat(dd.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
  }

  private static byte[] transfer(LunFileRegion region) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    WritableByteChannel sink = Channels.newChannel(out);
    long done = 0;
    while (done < region.count()) {
      long n = region.transferTo(sink, done);
      assertThat(n).as("progress").isPositive();
      done += n;
    }
    return out.toByteArray();
  }

  @Test
  void cachedReadReturnsTheFileBytesAndCountsOnce() throws Exception {
    try (LogicalUnit unit = LogicalUnit.create(config(dir, "cached.img", 8 << 20, true))) {
      unit.write(4096, directPattern(65536, 3), false);
      LunCounters before = unit.counters();
      ByteBuffer dst = ByteBuffer.allocateDirect(65536);
      assertThat(unit.readCached(4096, dst)).isTrue(); // just written: in the page cache
      assertThat(dst.remaining()).isZero();
      assertThat(bytes(dst.flip())).isEqualTo(bytes(directPattern(65536, 3)));
      assertThat(unit.counters().readOps()).isEqualTo(before.readOps() + 1);
      assertThat(unit.counters().readBytes()).isEqualTo(before.readBytes() + 65536);
      assertThat(unit.readLatency().snapshot().count()).isEqualTo(1);

      // a heap buffer cannot be read into natively: declined, nothing counted
      assertThat(unit.readCached(0, ByteBuffer.allocate(512))).isFalse();
      assertThat(unit.counters().readOps()).isEqualTo(before.readOps() + 1);
    }
  }

  @Test
  void regionsSendTheFileBytesAndZerosForHoles() throws Exception {
    try (LogicalUnit unit = LogicalUnit.create(config(dir, "region.img", 8 << 20, true))) {
      unit.write(1 << 20, directPattern(131072, 5), false);
      // only ranges wholly in the page cache are sent from the file: a blocking read puts the
      // holes' zero pages there too
      unit.read((1 << 20) - 65536, ByteBuffer.allocateDirect(262144));
      LunCounters before = unit.counters();
      // 64 KiB of hole, then 128 KiB of data, then 64 KiB of hole
      try (var ignored = new Released(unit.region((1 << 20) - 65536, 262144))) {
        LunFileRegion region = ignored.region;
        byte[] expected = new byte[262144];
        System.arraycopy(bytes(directPattern(131072, 5)), 0, expected, 65536, 131072);
        assertThat(transfer(region)).isEqualTo(expected);
        LunFileRegion middle = region.slice(65536, 4096);
        try {
          assertThat(middle.position()).isEqualTo(1 << 20);
          assertThat(transfer(middle)).isEqualTo(java.util.Arrays.copyOf(
              bytes(directPattern(131072, 5)), 4096));
        } finally {
          middle.release();
        }
        assertThatThrownBy(() -> region.slice(262144 - 512, 1024))
            .isInstanceOf(IndexOutOfBoundsException.class);
      }
      assertThat(unit.counters().readOps()).isEqualTo(before.readOps() + 1);
      assertThat(unit.counters().readBytes()).isEqualTo(before.readBytes() + 262144);
    }
  }

  @Test
  void regionNotInThePageCacheIsDeclinedUntilABlockingReadBringsItIn() throws Exception {
    LunConfig config = config(dir, "cold.img", 4 << 20, false);
    try (LogicalUnit unit = LogicalUnit.create(config)) {
      unit.write(0, directPattern(1 << 20, 11), false);
      unit.flush();
      // the kernel may keep pages a first drop asked it to evict (writeback, a busy machine)
      for (int i = 0; i < DROP_ATTEMPTS
          && (i == 0 || unit.readCached(0, ByteBuffer.allocateDirect(512))); i++) {
        dropFromPageCache(config.file());
      }
      org.junit.jupiter.api.Assumptions.assumeTrue(
          !unit.readCached(0, ByteBuffer.allocateDirect(512)),
          "dd iflag=nocache did not drop the page cache here in " + DROP_ATTEMPTS + " attempts");
      assertThat(unit.region(0, 1 << 20)).as("cold: the blocking path reads it").isNull();
      ByteBuffer warm = ByteBuffer.allocateDirect(1 << 20);
      unit.read(0, warm);
      LunFileRegion region = unit.region(0, 1 << 20);
      assertThat(region).isNotNull();
      try {
        assertThat(transfer(region)).isEqualTo(bytes(directPattern(1 << 20, 11)));
      } finally {
        region.release();
      }
    }
  }

  @Test
  void regionWhoseMiddleIsNotInThePageCacheIsDeclined() throws Exception {
    int size = 4 << 20;
    LunConfig config = config(dir, "middle.img", size, false);
    try (LogicalUnit unit = LogicalUnit.create(config);
        NativeFile probe = NativeFile.open(config.file(), true)) {
      org.junit.jupiter.api.Assumptions.assumeTrue(probe.rangeCached(0, 4096).isPresent(),
          "this kernel has no cachestat(2) (Linux 6.5+): only the range's ends are probed");
      unit.write(0, directPattern(size, 17), false);
      unit.flush();
      dropFromPageCache(config.file()); // then bring back only its two ends
      org.junit.jupiter.api.Assumptions.assumeTrue(!probe.rangeCached(0, size).orElseThrow(),
          "dd iflag=nocache did not drop the page cache here");
      unit.read(0, ByteBuffer.allocateDirect(4096));
      unit.read(size - 4096, ByteBuffer.allocateDirect(4096));
      org.junit.jupiter.api.Assumptions.assumeTrue(
          !probe.rangeCached(size / 2 - 4096, 8192).orElseThrow(),
          "readahead brought the middle back in");
      assertThat(unit.readCached(0, ByteBuffer.allocateDirect(4096))).as("first block").isTrue();
      assertThat(unit.readCached(size - 4096, ByteBuffer.allocateDirect(4096)))
          .as("last block").isTrue();
      assertThat(unit.region(0, size)).as("a cold middle: the blocking path reads it").isNull();
      unit.read(0, ByteBuffer.allocateDirect(size));
      LunFileRegion region = unit.region(0, size);
      assertThat(region).isNotNull();
      try {
        assertThat(transfer(region)).isEqualTo(bytes(directPattern(size, 17)));
      } finally {
        region.release();
      }
    }
  }

  @Test
  void regionPastTheEndOfAShortenedFileIsDeclined() throws Exception {
    LunConfig config = config(dir, "short.img", 1 << 20, true);
    try (LogicalUnit unit = LogicalUnit.create(config)) {
      try (FileChannel f = FileChannel.open(config.file(), StandardOpenOption.WRITE)) {
        f.truncate(512 * 1024); // shortened behind the engine's back
      }
      assertThat(unit.region(512 * 1024 - 4096, 8192)).isNull();
      ByteBuffer zeros = ByteBuffer.allocateDirect(8192);
      unit.read(512 * 1024 - 4096, zeros); // the blocking path reads zeros past the end
      assertThat(bytes(zeros.flip())).isEqualTo(new byte[8192]);
    }
  }

  @Test
  void closedAndDeletedLunStaysReadableUntilTheLastRegionIsReleased() throws Exception {
    LunConfig config = config(dir, "closing.img", 4 << 20, false);
    LogicalUnit unit = LogicalUnit.create(config);
    unit.write(0, directPattern(65536, 9), false);
    LunFileRegion region = unit.region(0, 65536);
    LunFileRegion slice = region.slice(4096, 4096);
    unit.close();
    Files.delete(config.file());
    assertThatThrownBy(() -> unit.region(0, 512)).hasMessageContaining("closed");
    assertThat(transfer(region)).isEqualTo(bytes(directPattern(65536, 9)));
    region.release();
    assertThat(transfer(slice)).isEqualTo(java.util.Arrays.copyOfRange(
        bytes(directPattern(65536, 9)), 4096, 8192));
    assertThat(slice.release()).isTrue();
    assertThatThrownBy(() -> slice.transferTo(Channels.newChannel(new ByteArrayOutputStream()),
        0)).isInstanceOf(RuntimeException.class);
  }

  @Test
  void inlineAndGatheringWritesLandAndCountOnce() throws Exception {
    try (LogicalUnit unit = LogicalUnit.create(config(dir, "inline.img", 4 << 20, false))) {
      assertThat(unit.writeInline(8192, directPattern(4096, 1))).isTrue();
      unit.write(65536, new ByteBuffer[] {directPattern(1024, 2), directPattern(3072, 3),
          directPattern(512, 4)}, false);
      LunCounters c = unit.counters();
      assertThat(c.writeOps()).isEqualTo(2);
      assertThat(c.writeBytes()).isEqualTo(4096 + 4608);
      ByteBuffer back = ByteBuffer.allocateDirect(4096);
      unit.read(8192, back);
      assertThat(bytes(back.flip())).isEqualTo(bytes(directPattern(4096, 1)));
      ByteBuffer gathered = ByteBuffer.allocateDirect(4608);
      unit.read(65536, gathered);
      byte[] expected = new byte[4608];
      System.arraycopy(bytes(directPattern(1024, 2)), 0, expected, 0, 1024);
      System.arraycopy(bytes(directPattern(3072, 3)), 0, expected, 1024, 3072);
      System.arraycopy(bytes(directPattern(512, 4)), 0, expected, 4096, 512);
      assertThat(bytes(gathered.flip())).isEqualTo(expected);
    }
  }

  @Test
  void inlineWritesWaitWhileTheLunIsQuiesced() throws Exception {
    try (LogicalUnit unit = LogicalUnit.create(config(dir, "quiesced.img", 1 << 20, false))) {
      try (LogicalUnit.Quiesce q = unit.quiesce()) {
        assertThat(unit.writeInline(0, directPattern(512, 1))).isFalse();
      }
      assertThat(unit.counters().writeOps()).isZero();
      assertThat(unit.writeInline(0, directPattern(512, 1))).isTrue();
    }
  }

  /** Releases a region at the end of a try block. */
  private record Released(LunFileRegion region) implements AutoCloseable {
    @Override
    public void close() {
      region.release();
    }
  }
}
