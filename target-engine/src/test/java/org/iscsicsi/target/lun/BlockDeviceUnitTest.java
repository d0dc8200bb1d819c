package org.iscsicsi.target.lun;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HexFormat;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A LUN on a real block device (a loop device over a sparse file, which passes discards down to
 * the file as holes): the size is the recorded one, not the device's; writes with FUA and flushes
 * land in the device's backing file; UNMAP of a thin unit discards (the blocks read as zeros and
 * leave the backing file) and of a thick one writes zeros; the unit grows only after the device
 * did; every block reads as mapped; a reopen (an engine restart) finds the data.
 */
class BlockDeviceUnitTest {

  private static final long MIB = 1 << 20;
  private static final byte[] NAA = HexFormat.of().parseHex("600140500000000000000000000000bb");

  @TempDir Path dir;
  private LoopDevice loop;

  @BeforeEach
  void attach() throws IOException {
    assumeTrue(LoopDevice.unavailableReason().isEmpty(),
        () -> LoopDevice.unavailableReason().orElseThrow());
    loop = LoopDevice.attach(dir.resolve("disk.img"), 16 * MIB);
  }

  @AfterEach
  void detach() throws IOException {
    if (loop != null) {
      loop.close();
    }
  }

  private LunConfig config(long size, boolean thin) {
    return new LunConfig(loop.device, size, 512, thin, false, "blk0001", NAA);
  }

  @Test
  void writesReadsFlushesAndDiscardsOnTheDevice() throws IOException {
    try (LogicalUnit unit = LogicalUnit.open(config(8 * MIB, true))) {
      assertThat(unit.condition()).isEmpty();
      assertThat(unit.sizeBytes()).isEqualTo(8 * MIB); // the LUN's size, not the device's 16 MiB
      unit.write(MIB, LunFixtures.directPattern((int) (2 * MIB), 7), true);
      unit.flush();
      assertThat(readImage(MIB, (int) (2 * MIB))).isEqualTo(LunFixtures.directPattern(
          (int) (2 * MIB), 7)); // on the device's medium, not only in a cache of ours
      long before = imageAllocated();

      unit.unmap(MIB, MIB);
      ByteBuffer back = ByteBuffer.allocate((int) MIB);
      unit.read(MIB, back);
      assertThat(back.flip()).isEqualTo(ByteBuffer.allocate((int) MIB));
      assertThat(imageAllocated()).isLessThanOrEqualTo(before - MIB);
      assertThat(unit.extentAt(0)).isEqualTo(new LogicalUnit.Extent(true, 8 * MIB));
    }
  }

  @Test
  void thickUnmapWritesZerosAndKeepsTheData() throws IOException {
    try (LogicalUnit unit = LogicalUnit.open(config(4 * MIB, false))) {
      unit.write(0, LunFixtures.directPattern((int) MIB, 3), true);
      unit.unmap(0, 4096);
      ByteBuffer head = ByteBuffer.allocate(8192);
      unit.read(0, head);
      head.flip();
      assertThat(head.slice(0, 4096)).isEqualTo(ByteBuffer.allocate(4096));
      assertThat(head.slice(4096, 4096)).isEqualTo(
          LunFixtures.directPattern((int) MIB, 3).slice(4096, 4096));
    }
  }

  @Test
  void growsOnlyAfterTheDeviceGrewAndKeepsItsDataAcrossAReopen() throws IOException {
    try (LogicalUnit unit = LogicalUnit.open(config(8 * MIB, true))) {
      unit.write(0, LunFixtures.directPattern((int) MIB, 5), true);
      unit.resize(16 * MIB); // the whole device
      assertThat(unit.sizeBytes()).isEqualTo(16 * MIB);
      assertThatThrownBy(() -> unit.resize(32 * MIB)).isInstanceOf(IOException.class)
          .hasMessageContaining("grow the device to " + 32 * MIB);
      assertThat(unit.sizeBytes()).isEqualTo(16 * MIB);
      loop.grow(32 * MIB);
      unit.resize(32 * MIB);
      assertThat(unit.blocks()).isEqualTo(32 * MIB / 512);
    }
    try (LogicalUnit reopened = LogicalUnit.open(config(32 * MIB, true))) {
      ByteBuffer data = ByteBuffer.allocate((int) MIB);
      reopened.read(0, data);
      assertThat(data.flip()).isEqualTo(LunFixtures.directPattern((int) MIB, 5));
    }
  }

  @Test
  void aDeviceSmallerThanTheRecordedSizeIsReportedNotServed() throws IOException {
    try (LogicalUnit unit = LogicalUnit.open(config(64 * MIB, true))) {
      assertThat(unit.condition()).get().asString().contains("fewer than the LUN's");
      assertThatThrownBy(() -> unit.read(0, ByteBuffer.allocate(512)))
          .isInstanceOf(IOException.class);
    }
  }

  private long imageAllocated() throws IOException {
    try (NativeFile nf = NativeFile.open(loop.image, true)) {
      return nf.allocatedBytes();
    }
  }

  private ByteBuffer readImage(long offset, int length) throws IOException {
    try (FileChannel ch = FileChannel.open(loop.image, StandardOpenOption.READ)) {
      ByteBuffer b = ByteBuffer.allocate(length);
      ch.read(b, offset);
      return b.flip();
    }
  }
}
