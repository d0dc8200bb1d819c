package org.iscsicsi.target.lun;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The open backing file (or block device) of a {@link LogicalUnit}: positional I/O on it through
 * its {@link FileChannel} and {@link NativeFile} descriptor, and their lifetime. The unit holds
 * one reference and every outstanding {@link LunFileRegion} or cached read one more; the last
 * one released closes both.
 */
final class BackingFile {

  private static final Logger log = LoggerFactory.getLogger(BackingFile.class);

  private final Path path;
  private final FileChannel channel;
  private final NativeFile nativeFile;
  /** The unit's own reference plus one per outstanding {@link LunFileRegion} or cached read. */
  private final AtomicInteger refs = new AtomicInteger(1);

  private BackingFile(Path path, FileChannel channel, NativeFile nativeFile) {
    this.path = path;
    this.channel = channel;
    this.nativeFile = nativeFile;
  }

  /**
   * Creates the file of a new LUN (sparse, or preallocated when not thin) and forces it to disk.
   * Refuses to overwrite an existing file; a failure removes what was created.
   */
  static void create(LunConfig config) throws IOException {
    if (Files.exists(config.file())) {
      throw new FileAlreadyExistsException(config.file().toString(), null,
          "backing file of a new LUN already exists");
    }
    try (FileChannel create = FileChannel.open(config.file(), StandardOpenOption.CREATE_NEW,
        StandardOpenOption.WRITE); NativeFile nf = NativeFile.open(config.file(), false)) {
      nf.truncate(config.sizeBytes());
      if (!config.thin()) {
        Provisioning.preallocate(nf, create, 0, config.sizeBytes());
      }
      create.force(true);
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(config.file());
      throw IoFailures.translate(e, "create " + config.file());
    }
  }

  /** Opens {@code config.file()}, read-only when the LUN is. */
  static BackingFile open(LunConfig config) throws IOException {
    FileChannel channel = config.readOnly()
        ? FileChannel.open(config.file(), StandardOpenOption.READ)
        : FileChannel.open(config.file(), StandardOpenOption.READ, StandardOpenOption.WRITE);
    try {
      return new BackingFile(config.file(), channel, NativeFile.open(config.file(),
          config.readOnly()));
    } catch (IOException | RuntimeException e) {
      try {
        channel.close();
      } catch (IOException closing) {
        e.addSuppressed(closing);
      }
      throw e;
    }
  }

  FileChannel channel() {
    return channel;
  }

  NativeFile nativeFile() {
    return nativeFile;
  }

  /** Fills {@code dst} from {@code offset}; bytes past the end of the file read as zeros. */
  void read(long offset, ByteBuffer dst) throws IOException {
    ImageFile.readFully(channel, offset, dst);
  }

  /**
   * Fills {@code dst} (direct) from the page cache only ({@code preadv2(2)} with RWF_NOWAIT):
   * whether all of it was there. Holds a reference meanwhile; false once the file is closed.
   */
  boolean readCached(long offset, ByteBuffer dst) throws IOException {
    if (!tryAcquire()) {
      return false;
    }
    try {
      return nativeFile.readCached(offset, MemorySegment.ofBuffer(dst)) == dst.remaining();
    } finally {
      release();
    }
  }

  /**
   * A region for {@code sendfile(2)} when the page cache holds the whole range, else null; the
   * region holds a reference of its own.
   *
   * @throws IOException when the file is closed already
   */
  LunFileRegion cachedRegion(long offset, int length, int blockSize) throws IOException {
    if (!tryAcquire()) {
      throw new IOException("LUN " + path + " is closed");
    }
    boolean cached = false;
    try {
      cached = rangeCached(offset, length, blockSize);
    } finally {
      if (!cached) {
        release();
      }
    }
    return cached ? new LunFileRegion(this, channel, offset, length) : null;
  }

  /**
   * Whether the page cache holds the whole range, so that sendfile on the event loop never waits
   * for the disk: cachestat(2) counts its pages; on kernels without it (before 6.5), a cheaper
   * probe of the range's first and last block stands in.
   */
  private boolean rangeCached(long offset, int length, int block) throws IOException {
    var whole = nativeFile.rangeCached(offset, length);
    if (whole.isPresent()) {
      return whole.get();
    }
    return nativeFile.cached(offset, Math.min(block, length))
        && (length <= block || nativeFile.cached(offset + length - block, block));
  }

  /** Writes {@code srcs} one after the other from {@code offset}; returns the bytes written. */
  long write(long offset, ByteBuffer[] srcs) throws IOException {
    long length = 0;
    for (ByteBuffer b : srcs) {
      length += b.remaining();
    }
    try {
      if (allDirect(srcs)) {
        nativeFile.writeFully(offset, srcs); // one system call for all segments
      } else {
        long pos = offset;
        for (ByteBuffer src : srcs) {
          while (src.hasRemaining()) {
            pos += channel.write(src, pos);
          }
        }
      }
    } catch (IOException e) {
      throw IoFailures.translate(e, "write " + length + " bytes at " + offset + " to " + path);
    }
    return length;
  }

  private static boolean allDirect(ByteBuffer[] srcs) {
    for (ByteBuffer b : srcs) {
      if (!b.isDirect()) {
        return false;
      }
    }
    return true;
  }

  /** Forces written data (and with {@code metadata} the file's metadata) to stable storage. */
  void force(boolean metadata) throws IOException {
    channel.force(metadata);
  }

  /**
   * Whether the byte at {@code offset} is data or a hole ({@code SEEK_DATA}/{@code SEEK_HOLE})
   * and how far that extends, within the unit's {@code size}.
   */
  LogicalUnit.Extent extentAt(long offset, long size) throws IOException {
    long data = nativeFile.seek(offset, true);
    if (data < 0 || data >= size) {
      return new LogicalUnit.Extent(false, size - offset);
    }
    if (data > offset) {
      return new LogicalUnit.Extent(false, data - offset);
    }
    long hole = nativeFile.seek(offset, false);
    long end = hole < 0 ? size : Math.min(hole, size);
    return new LogicalUnit.Extent(true, end - offset);
  }

  /** Takes a reference that keeps the file open; false once it is closed. */
  boolean tryAcquire() {
    for (;;) {
      int n = refs.get();
      if (n == 0) {
        return false;
      }
      if (refs.compareAndSet(n, n + 1)) {
        return true;
      }
    }
  }

  /** A reference for a region sliced from one that holds a reference already. */
  void acquire() {
    if (!tryAcquire()) {
      throw new IllegalStateException("LUN " + path + " is closed");
    }
  }

  /** Drops a reference that is not the unit's; the last one closes the file. */
  void release() {
    int n = refs.decrementAndGet();
    if (n == 0) {
      try {
        closeFiles();
      } catch (IOException e) {
        log.warn("closing {} after its last read: {}", path, e.toString());
      }
    } else if (n < 0) {
      throw new IllegalStateException("LUN " + path + " released too often");
    }
  }

  /**
   * Drops the unit's own reference; the file closes now unless a region or cached read still
   * holds it, and then when the last of them is released.
   */
  void releaseOwn() throws IOException {
    if (refs.decrementAndGet() == 0) {
      closeFiles();
    }
  }

  private void closeFiles() throws IOException {
    IOException failed = null;
    try {
      channel.close();
    } catch (IOException e) {
      failed = e;
    }
    try {
      nativeFile.close();
    } catch (IOException e) {
      failed = IoFailures.chain(failed, e);
    }
    if (failed != null) {
      throw failed;
    }
  }
}
