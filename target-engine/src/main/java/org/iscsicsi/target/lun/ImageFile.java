package org.iscsicsi.target.lun;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A LUN or snapshot image read as it lies on disk, without a {@link LogicalUnit}: where its data
 * is ({@code SEEK_DATA}/{@code SEEK_HOLE}), so a copy skips holes, and positional reads. Used by
 * transfers, which read LUNs that take no writes (detached or frozen) and snapshot files.
 */
public final class ImageFile implements AutoCloseable {

  private final Path path;
  private final FileChannel channel;
  private final NativeFile nativeFile;

  private ImageFile(Path path, FileChannel channel, NativeFile nativeFile) {
    this.path = path;
    this.channel = channel;
    this.nativeFile = nativeFile;
  }

  /** Opens the file read-only. */
  public static ImageFile open(Path path) throws IOException {
    FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
    try {
      return new ImageFile(path, channel, NativeFile.open(path, true));
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
  }

  public long sizeBytes() throws IOException {
    return channel.size();
  }

  /**
   * Whether any byte of {@code [offset, offset + length)} is data (not a hole). A filesystem
   * without SEEK_DATA reports the whole file as data, which costs only the skipping.
   */
  public boolean hasData(long offset, long length) throws IOException {
    long data = nativeFile.seek(offset, true);
    return data >= 0 && data < offset + length;
  }

  /**
   * The first byte of data at or after {@code offset}, or -1 when only holes follow (a filesystem
   * without SEEK_DATA reports every byte as data).
   */
  public long nextData(long offset) throws IOException {
    return nativeFile.seek(offset, true);
  }

  /** The first byte of a hole at or after {@code offset} (the end of the file counts as one). */
  public long nextHole(long offset) throws IOException {
    long hole = nativeFile.seek(offset, false);
    return hole < 0 ? sizeBytes() : hole;
  }

  /** Fills {@code dst} from {@code offset}; bytes past the end of the file read as zeros. */
  public void read(long offset, ByteBuffer dst) throws IOException {
    readFully(channel, offset, dst);
  }

  /** Fills {@code dst} from {@code channel} at {@code offset}, zeros past the end of the file. */
  static void readFully(FileChannel channel, long offset, ByteBuffer dst) throws IOException {
    long pos = offset;
    while (dst.hasRemaining()) {
      int n = channel.read(dst, pos);
      if (n < 0) {
        while (dst.hasRemaining()) {
          dst.put((byte) 0);
        }
        return;
      }
      pos += n;
    }
  }

  public Path path() {
    return path;
  }

  @Override
  public void close() throws IOException {
    try (FileChannel c = channel) {
      nativeFile.close();
    }
  }
}
