package org.iscsicsi.target.replication;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.iscsicsi.target.replication.Superblock.Role;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The metadata superblock on a real file: two copies written alternately, the newest valid one
 * read back; a torn or corrupted newest copy falls back to the other; a file with neither copy
 * valid is refused rather than read as "no epoch accepted"; an existing file is never
 * re-created.
 */
class MetadataFileTest {

  static final String NAA = "6001405a1b2c3d4e5f60718293a4b5c6";

  @TempDir Path dir;

  Path file() {
    return MetadataFile.pathFor(dir, NAA);
  }

  @Test
  void newestCopyWinsAndWritesAlternate() throws IOException {
    Superblock fresh = Superblock.fresh(NAA, 1L << 30);
    try (MetadataFile f = MetadataFile.create(file(), fresh)) {
      assertThat(Files.size(file())).isEqualTo(2 * MetadataFile.BLOCK);
      f.write(fresh.accepting(7, "node-a", "node-b"));
      f.write(fresh.accepting(8, "node-b", "node-b"));
    }
    try (MetadataFile f = MetadataFile.open(file())) {
      Superblock sb = f.superblock();
      assertThat(sb.acceptedEpoch()).isEqualTo(8);
      assertThat(sb.acceptedPrimary()).isEqualTo("node-b");
      assertThat(sb.role()).isEqualTo(Role.PRIMARY);
      assertThat(sb.naa()).isEqualTo(NAA);
      assertThat(sb.sizeBytes()).isEqualTo(1L << 30);
      assertThat(sb.regionBytes()).isEqualTo(4 << 20);
      assertThat(f.sequence()).isEqualTo(3);
    }
    // sequence 3 went to block 1, sequence 2 to block 0
    assertThat(decodeBlock(1).acceptedEpoch()).isEqualTo(8);
    assertThat(decodeBlock(0).acceptedEpoch()).isEqualTo(7);
  }

  @Test
  void aTornNewestCopyFallsBackToTheOther() throws IOException {
    Superblock fresh = Superblock.fresh(NAA, 1L << 30);
    try (MetadataFile f = MetadataFile.create(file(), fresh)) {
      f.write(fresh.accepting(7, "node-a", "node-b")); // seq 2, block 0
      f.write(fresh.accepting(8, "node-c", "node-b")); // seq 3, block 1
    }
    // a crash during the write of seq 3: only its first sector reached the disk, the rest is
    // what the block held before
    tear(1, 512);
    try (MetadataFile f = MetadataFile.open(file())) {
      assertThat(f.superblock().acceptedEpoch()).isEqualTo(7);
      assertThat(f.superblock().acceptedPrimary()).isEqualTo("node-a");
      // the next write goes over the torn block, not over the good copy
      f.write(f.superblock().accepting(9, "node-c", "node-b"));
    }
    assertThat(decodeBlock(0).acceptedEpoch()).isEqualTo(7);
    try (MetadataFile f = MetadataFile.open(file())) {
      assertThat(f.superblock().acceptedEpoch()).isEqualTo(9);
    }
  }

  @Test
  void aFlippedBitFailsTheCrc() throws IOException {
    Superblock fresh = Superblock.fresh(NAA, 1L << 30);
    try (MetadataFile f = MetadataFile.create(file(), fresh)) {
      f.write(fresh.accepting(5, "node-a", "node-b"));
    }
    flip(0, 33); // inside the accepted epoch of seq 2 (block 0)
    try (MetadataFile f = MetadataFile.open(file())) {
      assertThat(f.superblock().acceptedEpoch()).as("the older copy, seq 1").isEqualTo(0);
    }
  }

  @Test
  void neitherCopyValidIsRefused() throws IOException {
    try (MetadataFile f = MetadataFile.create(file(), Superblock.fresh(NAA, 4096))) {
      f.write(f.superblock().accepting(2, "node-a", "node-a"));
    }
    flip(0, 100);
    flip(1, 100);
    assertThatThrownBy(() -> MetadataFile.open(file())).isInstanceOf(IOException.class)
        .hasMessageContaining("neither superblock copy is valid");
    Files.write(file(), new byte[100]);
    assertThatThrownBy(() -> MetadataFile.open(file())).isInstanceOf(IOException.class);
  }

  @Test
  void createRefusesAnExistingFile() throws IOException {
    try (MetadataFile f = MetadataFile.create(file(), Superblock.fresh(NAA, 4096))) {
      f.write(f.superblock().accepting(3, "node-a", "node-b"));
    }
    assertThatThrownBy(() -> MetadataFile.create(file(), Superblock.fresh(NAA, 4096)))
        .isInstanceOf(java.nio.file.FileAlreadyExistsException.class);
    try (MetadataFile f = MetadataFile.open(file())) {
      assertThat(f.superblock().acceptedEpoch()).as("untouched").isEqualTo(3);
    }
  }

  private Superblock decodeBlock(int block) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(MetadataFile.BLOCK);
    try (FileChannel ch = FileChannel.open(file(), StandardOpenOption.READ)) {
      ch.read(buf, (long) block * MetadataFile.BLOCK);
    }
    buf.flip();
    return MetadataFile.decode(buf).orElseThrow().superblock();
  }

  /** Keeps the first {@code keep} bytes of the block and garbles the rest (a torn write). */
  private void tear(int block, int keep) throws IOException {
    try (FileChannel ch = FileChannel.open(file(), StandardOpenOption.WRITE)) {
      byte[] junk = new byte[MetadataFile.BLOCK - keep];
      java.util.Arrays.fill(junk, (byte) 0x5a);
      ch.write(ByteBuffer.wrap(junk), (long) block * MetadataFile.BLOCK + keep);
    }
  }

  private void flip(int block, int offset) throws IOException {
    try (FileChannel ch = FileChannel.open(file(), StandardOpenOption.READ,
        StandardOpenOption.WRITE)) {
      ByteBuffer b = ByteBuffer.allocate(1);
      long at = (long) block * MetadataFile.BLOCK + offset;
      ch.read(b, at);
      b.put(0, (byte) (b.get(0) ^ 0x10)).rewind();
      ch.write(b, at);
    }
  }
}
