package org.iscsicsi.target.replication;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import java.util.zip.CRC32C;
import org.iscsicsi.target.replication.Superblock.Role;
import org.iscsicsi.target.state.AtomicFiles;

/**
 * A replicated LUN's metadata file, {@code <pool>/<naa>.meta} (docs/replication.md, section 10),
 * 4 KiB blocks each with its own sequence number and CRC32C. Blocks 0 and 1 hold the superblock
 * alternately: a write goes to the block the older copy is in and is {@code fdatasync}ed before
 * it counts, so a write torn by a crash leaves the other copy, and the newest valid copy wins
 * on reading. (The activity log and the bitmaps after block 1 come with rebuild.)
 *
 * <p>Superblock layout, big-endian: magic {@code ISCM}, version u16, reserved u16, sequence
 * u64, size u64, region size u32, role u8, clean u8, reserved u16, accepted epoch u64, bitmap
 * validity per slot 3 × u64, then the NAA and the accepted primary as u16 length + UTF-8, zeros,
 * and the CRC32C of bytes 0–4091 in the last four bytes.
 */
public final class MetadataFile implements AutoCloseable {

  public static final int BLOCK = 4096;
  static final int MAGIC = 0x4953434d; // "ISCM"
  static final int VERSION = 1;
  static final int SUPERBLOCKS = 2;
  private static final int CRC_OFFSET = BLOCK - 4;
  private static final int MAX_TEXT = 255;

  private final Path path;
  private final FileChannel channel;
  private long sequence;
  private Superblock current;

  private MetadataFile(Path path, FileChannel channel, long sequence, Superblock current) {
    this.path = path;
    this.channel = channel;
    this.sequence = sequence;
    this.current = current;
  }

  /** The metadata file of the LUN with {@code naa} in {@code dir}. */
  public static Path pathFor(Path dir, String naa) {
    return dir.resolve(naa + ".meta");
  }

  /**
   * Creates the file with {@code initial} as its only superblock (the other block invalid),
   * flushed with its size and directory entry; an existing file is refused.
   */
  public static MetadataFile create(Path path, Superblock initial) throws IOException {
    FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE_NEW,
        StandardOpenOption.READ, StandardOpenOption.WRITE);
    try {
      ch.write(ByteBuffer.allocate(BLOCK * SUPERBLOCKS), 0);
      MetadataFile file = new MetadataFile(path, ch, 0, null);
      file.write(initial);
      ch.force(true);
      AtomicFiles.fsyncDirectory(path.toAbsolutePath().getParent());
      return file;
    } catch (IOException | RuntimeException e) {
      ch.close();
      Files.deleteIfExists(path);
      throw e;
    }
  }

  /**
   * Opens an existing file and reads its newest valid superblock; a file where neither copy is
   * valid is refused (it says nothing about the epochs this engine accepted).
   */
  public static MetadataFile open(Path path) throws IOException {
    FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
    try {
      long bestSeq = -1;
      Superblock best = null;
      for (int b = 0; b < SUPERBLOCKS; b++) {
        ByteBuffer buf = ByteBuffer.allocate(BLOCK);
        ch.read(buf, (long) b * BLOCK);
        if (buf.position() < BLOCK) {
          continue;
        }
        buf.flip();
        Optional<Decoded> d = decode(buf);
        if (d.isPresent() && d.get().sequence() > bestSeq) {
          bestSeq = d.get().sequence();
          best = d.get().superblock();
        }
      }
      if (best == null) {
        throw new IOException(path + ": neither superblock copy is valid (magic, version or "
            + "CRC32C)");
      }
      return new MetadataFile(path, ch, bestSeq, best);
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  /** The newest superblock, as last read or written. */
  public synchronized Superblock superblock() {
    return current;
  }

  /**
   * Writes {@code next} as the new superblock into the block holding the older copy and
   * {@code fdatasync}s it; when this returns, the superblock survives a crash.
   */
  public synchronized void write(Superblock next) throws IOException {
    long seq = sequence + 1;
    ByteBuffer buf = encode(seq, next);
    long at = (seq % SUPERBLOCKS) * BLOCK;
    while (buf.hasRemaining()) {
      channel.write(buf, at + buf.position());
    }
    channel.force(false);
    sequence = seq;
    current = next;
  }

  /** The sequence number of the newest copy. */
  synchronized long sequence() {
    return sequence;
  }

  public Path path() {
    return path;
  }

  @Override
  public synchronized void close() throws IOException {
    channel.close();
  }

  record Decoded(long sequence, Superblock superblock) {
  }

  static ByteBuffer encode(long seq, Superblock s) {
    ByteBuffer buf = ByteBuffer.allocate(BLOCK);
    buf.putInt(MAGIC).putShort((short) VERSION).putShort((short) 0).putLong(seq)
        .putLong(s.sizeBytes()).putInt(s.regionBytes())
        .put((byte) s.role().ordinal()).put((byte) (s.clean() ? 1 : 0)).putShort((short) 0)
        .putLong(s.acceptedEpoch());
    for (long g : s.bitmapValidSince()) {
      buf.putLong(g);
    }
    putText(buf, s.naa());
    putText(buf, s.acceptedPrimary());
    CRC32C crc = new CRC32C();
    crc.update(buf.array(), 0, CRC_OFFSET);
    buf.putInt(CRC_OFFSET, (int) crc.getValue());
    buf.clear();
    return buf;
  }

  static Optional<Decoded> decode(ByteBuffer buf) {
    CRC32C crc = new CRC32C();
    crc.update(buf.array(), 0, CRC_OFFSET);
    if (buf.getInt(0) != MAGIC || buf.getShort(4) != VERSION
        || buf.getInt(CRC_OFFSET) != (int) crc.getValue()) {
      return Optional.empty();
    }
    buf.position(8);
    long seq = buf.getLong();
    long size = buf.getLong();
    int region = buf.getInt();
    int role = buf.get();
    boolean clean = buf.get() != 0;
    buf.getShort();
    long epoch = buf.getLong();
    long[] valid = new long[Superblock.SLOTS];
    for (int i = 0; i < valid.length; i++) {
      valid[i] = buf.getLong();
    }
    String naa = getText(buf);
    String primary = getText(buf);
    if (role < 0 || role >= Role.values().length) {
      return Optional.empty();
    }
    return Optional.of(new Decoded(seq, new Superblock(naa, size, region, epoch, primary,
        Role.values()[role], clean, valid)));
  }

  private static void putText(ByteBuffer buf, String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    if (b.length > MAX_TEXT) {
      throw new IllegalArgumentException("superblock text longer than " + MAX_TEXT + " bytes: "
          + s);
    }
    buf.putShort((short) b.length).put(b);
  }

  private static String getText(ByteBuffer buf) {
    int n = buf.getShort() & 0xffff;
    byte[] b = new byte[Math.min(n, MAX_TEXT)];
    buf.get(b);
    return new String(b, StandardCharsets.UTF_8);
  }
}
