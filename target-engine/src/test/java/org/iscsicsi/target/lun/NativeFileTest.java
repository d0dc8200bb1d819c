package org.iscsicsi.target.lun;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link NativeFile#writeFully}, the gathering write under every LUN write, on a real file: the
 * buffers land one after the other from the offset, empty buffers in between are skipped, more
 * buffers than one {@code pwritev(2)} takes ({@link NativeFile#IOV_MAX}), or more bytes than one
 * call is given ({@link NativeFile#MAX_BYTES_PER_CALL}), are written in several calls without a
 * gap, every buffer's position ends at its limit, and a heap buffer (whose address
 * the kernel cannot be given) is refused before anything is written.
 */
class NativeFileTest {

  @TempDir
  Path dir;

  private static ByteBuffer direct(int length, int seed) {
    ByteBuffer b = ByteBuffer.allocateDirect(length);
    for (int i = 0; i < length; i++) {
      b.put((byte) (i * 31 + seed));
    }
    return b.flip();
  }

  private static byte[] concat(ByteBuffer[] srcs) {
    int total = Arrays.stream(srcs).mapToInt(ByteBuffer::remaining).sum();
    ByteBuffer all = ByteBuffer.allocate(total);
    for (ByteBuffer b : srcs) {
      all.put(b.duplicate());
    }
    return all.array();
  }

  @Test
  void buffersLandOneAfterTheOtherAndEmptyOnesAreSkipped() throws Exception {
    Path file = Files.write(dir.resolve("f.img"), new byte[64 * 1024]);
    ByteBuffer[] srcs = {direct(4096, 1), direct(0, 2), direct(1000, 3), direct(0, 4),
        direct(7, 5)};
    byte[] expected = concat(srcs);
    try (NativeFile f = NativeFile.open(file, false)) {
      assertThat(f.writeFully(512, srcs)).isEqualTo(expected.length);
    }
    assertThat(srcs).allMatch(b -> !b.hasRemaining());
    byte[] onDisk = Files.readAllBytes(file);
    assertThat(Arrays.copyOfRange(onDisk, 512, 512 + expected.length)).isEqualTo(expected);
    assertThat(Arrays.copyOfRange(onDisk, 0, 512)).containsOnly(0);
    assertThat(Arrays.copyOfRange(onDisk, 512 + expected.length, onDisk.length)).containsOnly(0);
  }

  @Test
  void moreBuffersThanOneCallTakesAreWrittenWithoutAGap() throws Exception {
    Path file = Files.createFile(dir.resolve("many.img"));
    ByteBuffer[] srcs = new ByteBuffer[NativeFile.IOV_MAX * 2 + 77];
    for (int i = 0; i < srcs.length; i++) {
      srcs[i] = direct(1 + i % 13, i);
    }
    byte[] expected = concat(srcs);
    try (NativeFile f = NativeFile.open(file, false)) {
      assertThat(f.writeFully(0, srcs)).isEqualTo(expected.length);
    }
    assertThat(Files.readAllBytes(file)).isEqualTo(expected);
  }

  @Test
  void buffersAddingUpToMoreThanOneCallWritesAreWrittenWithoutAGap() throws Exception {
    Path file = Files.createFile(dir.resolve("large.img"));
    int piece = (int) (NativeFile.MAX_BYTES_PER_CALL / 2 + 4096);
    ByteBuffer[] srcs = {direct(piece, 1), direct(piece, 2), direct(piece, 3), direct(piece, 4),
        direct(17, 5)};
    byte[] expected = concat(srcs);
    try (NativeFile f = NativeFile.open(file, false)) {
      assertThat(f.writeFully(4096, srcs)).isEqualTo(expected.length);
    }
    byte[] onDisk = Files.readAllBytes(file);
    assertThat(onDisk).hasSize(4096 + expected.length);
    assertThat(Arrays.copyOfRange(onDisk, 4096, onDisk.length)).isEqualTo(expected);
  }

  @Test
  void heapBufferIsRefusedBeforeAnythingIsWritten() throws Exception {
    Path file = Files.write(dir.resolve("heap.img"), new byte[8192]);
    ByteBuffer[] srcs = {direct(4096, 9), ByteBuffer.wrap(new byte[512])};
    try (NativeFile f = NativeFile.open(file, false)) {
      assertThatThrownBy(() -> f.writeFully(0, srcs))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("direct");
    }
    assertThat(srcs[0].remaining()).isEqualTo(4096);
    assertThat(Files.readAllBytes(file)).containsOnly(0);
  }
}
