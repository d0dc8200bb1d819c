package org.iscsicsi.target.state;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.zip.CRC32C;

/**
 * An append-only file of checksummed records, each made durable (fdatasync) before
 * {@link #append} returns. Layout: a header (magic, then the 8-byte generation of the snapshot
 * the records apply to), then records of {@code [u32 length][u32 CRC32C of payload][payload]}.
 *
 * <p>A crash can tear only the record being appended, the last one: a record cut short, a last
 * record whose checksum fails, or a tail of zeros (the file grew but its data never reached the
 * disk) is such a torn tail and is dropped, since it was never acknowledged. A bad record with
 * data after it is damage, not a crash, and reading fails rather than silently dropping changes.
 */
final class Journal implements AutoCloseable {

  static final byte[] MAGIC = "iscsi-csi state journal 1\n".getBytes(StandardCharsets.US_ASCII);
  static final int HEADER_BYTES = MAGIC.length + Long.BYTES;
  static final int RECORD_HEADER_BYTES = 2 * Integer.BYTES;
  /** Far above any real change (one target with its LUNs); a larger length is damage. */
  static final int MAX_RECORD_BYTES = 64 << 20;

  /**
   * What a journal file holds.
   *
   * @param generation the generation in its header; -1 when the file is missing or its header
   *     was torn (it then holds nothing)
   * @param validEnd the offset just after the last good record
   * @param tornBytes how many bytes of a torn tail follow {@code validEnd}
   */
  record Contents(long generation, List<byte[]> records, long validEnd, long tornBytes) {
    static Contents none() {
      return new Contents(-1, List.of(), 0, 0);
    }
  }

  private final Path file;
  private final FileChannel ch;
  private final long generation;
  private long end;
  private IOException broken;

  private Journal(Path file, FileChannel ch, long generation, long end) {
    this.file = file;
    this.ch = ch;
    this.generation = generation;
    this.end = end;
  }

  /** Reads and checks a journal file; no file reads as none. */
  static Contents read(Path file) throws IOException {
    if (!Files.exists(file)) {
      return Contents.none();
    }
    byte[] bytes = Files.readAllBytes(file);
    return parse(file, bytes);
  }

  static Contents parse(Path file, byte[] bytes) throws IOException {
    if (bytes.length < HEADER_BYTES) {
      // Only a header being written when the engine died is this short.
      if (isPrefixOfMagicOrZero(bytes)) {
        return Contents.none();
      }
      throw new IOException("journal " + file + " has a damaged header");
    }
    if (!Arrays.equals(bytes, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
      throw new IOException("journal " + file + " is not a state journal (bad magic)");
    }
    ByteBuffer b = ByteBuffer.wrap(bytes);
    long generation = b.getLong(MAGIC.length);
    int pos = HEADER_BYTES;
    List<byte[]> records = new ArrayList<>();
    CRC32C crc = new CRC32C();
    while (pos < bytes.length) {
      int remaining = bytes.length - pos;
      if (remaining < RECORD_HEADER_BYTES || allZero(bytes, pos)) {
        return new Contents(generation, records, pos, remaining);
      }
      int len = b.getInt(pos);
      int sum = b.getInt(pos + Integer.BYTES);
      if (len <= 0 || len > MAX_RECORD_BYTES) {
        throw damaged(file, pos, "a record length of " + len);
      }
      long recordEnd = (long) pos + RECORD_HEADER_BYTES + len;
      if (recordEnd > bytes.length) {
        return new Contents(generation, records, pos, remaining);
      }
      crc.reset();
      crc.update(bytes, pos + RECORD_HEADER_BYTES, len);
      if ((int) crc.getValue() != sum) {
        if (recordEnd == bytes.length) {
          return new Contents(generation, records, pos, remaining);
        }
        throw damaged(file, pos, "a checksum mismatch before further records");
      }
      records.add(Arrays.copyOfRange(bytes, pos + RECORD_HEADER_BYTES, (int) recordEnd));
      pos = (int) recordEnd;
    }
    return new Contents(generation, records, pos, 0);
  }

  /**
   * Opens a journal for appending after its last good record ({@code contents} as read from it),
   * cutting a torn tail off first.
   */
  static Journal openForAppend(Path file, Contents contents) throws IOException {
    FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE);
    try {
      if (ch.size() != contents.validEnd()) {
        ch.truncate(contents.validEnd());
        ch.force(true);
      }
      return new Journal(file, ch, contents.generation(), contents.validEnd());
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  /**
   * Creates (or empties) the journal with a header for {@code generation}, durably: file data,
   * then the directory entry.
   */
  static Journal create(Path file, long generation) throws IOException {
    FileChannel ch = FileChannel.open(file, Set.of(StandardOpenOption.CREATE,
        StandardOpenOption.WRITE), PosixFilePermissions.asFileAttribute(
            PosixFilePermissions.fromString("rw-------")));
    try {
      ch.truncate(0);
      ByteBuffer h = ByteBuffer.allocate(HEADER_BYTES).put(MAGIC).putLong(generation).flip();
      writeFully(ch, h, 0);
      ch.force(true);
      AtomicFiles.fsyncDirectory(file.toAbsolutePath().getParent());
      return new Journal(file, ch, generation, HEADER_BYTES);
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  long generation() {
    return generation;
  }

  /** Bytes in the file, header included. */
  long size() {
    return end;
  }

  /**
   * Appends one record and makes it durable. When that fails the file is cut back to where it
   * was, so a failed append never leaves a bad record before later ones; when even that fails,
   * every later append fails too.
   */
  synchronized void append(byte[] payload) throws IOException {
    if (broken != null) {
      throw new IOException("journal " + file + " is unusable after an earlier failure: "
          + broken.getMessage(), broken);
    }
    if (payload.length == 0 || payload.length > MAX_RECORD_BYTES) {
      throw new IllegalArgumentException("journal record of " + payload.length + " bytes");
    }
    CRC32C crc = new CRC32C();
    crc.update(payload);
    ByteBuffer rec = ByteBuffer.allocate(RECORD_HEADER_BYTES + payload.length)
        .putInt(payload.length).putInt((int) crc.getValue()).put(payload).flip();
    try {
      writeFully(ch, rec, end);
      ch.force(false);
    } catch (IOException e) {
      try {
        ch.truncate(end);
        ch.force(false);
      } catch (IOException again) {
        e.addSuppressed(again);
        broken = e;
      }
      throw e;
    }
    end += rec.capacity();
  }

  @Override
  public void close() throws IOException {
    ch.close();
  }

  private static void writeFully(FileChannel ch, ByteBuffer buf, long position)
      throws IOException {
    long at = position;
    while (buf.hasRemaining()) {
      at += ch.write(buf, at);
    }
  }

  private static IOException damaged(Path file, int offset, String what) {
    return new IOException("journal " + file + " is damaged at offset " + offset + ": " + what);
  }

  private static boolean allZero(byte[] bytes, int from) {
    for (int i = from; i < bytes.length; i++) {
      if (bytes[i] != 0) {
        return false;
      }
    }
    return true;
  }

  private static boolean isPrefixOfMagicOrZero(byte[] bytes) {
    if (allZero(bytes, 0)) {
      return true;
    }
    int n = Math.min(bytes.length, MAGIC.length);
    return Arrays.equals(bytes, 0, n, MAGIC, 0, n);
  }
}
