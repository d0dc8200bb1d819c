package org.iscsicsi.target.lun;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.StampedLock;
import org.iscsicsi.target.qos.LunThrottle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A logical unit: positional I/O on a (sparse by default) file or on a block device (a disk,
 * a partition, an LVM volume), the differences kept in its {@link UnitMedium}.
 *
 * <p>Contract shared by the SCSI layer (which implements it) and the registry/admin layer (which
 * creates, resizes, snapshots and deletes LUNs). Every I/O method blocks: callers run them on an
 * executor, never on a netty event loop. Any number of reads and writes may run at once.
 *
 * <p>Thin LUNs give blocks back to the filesystem on {@link #unmap}: {@code fallocate(2)} with
 * FALLOC_FL_PUNCH_HOLE (SBC-3 4.7, logical block provisioning); thick LUNs are preallocated and
 * {@link #unmap} zeroes in place.
 *
 * <p>Besides the blocking calls, three that never wait for the disk, for callers that must not
 * block (a netty event loop): {@link #readCached} (what the page cache holds), {@link #region} (a
 * file range for {@code sendfile(2)}) and {@link #writeInline} (a small buffered write while such
 * writes stay fast). The backing file stays open until {@link #close} and the last outstanding
 * {@link LunFileRegion} are both done.
 */
public final class LogicalUnit implements AutoCloseable, UnitIo {

  private static final Logger log = LoggerFactory.getLogger(LogicalUnit.class);
  /** An inline write slower than this sends writes to I/O threads for a while. */
  static final long INLINE_SLOW_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
  /** How long writes stay off the caller's thread after a slow inline write. */
  static final long INLINE_PAUSE_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final LunConfig initialConfig;
  private final FileChannel channel;
  private final NativeFile nativeFile;
  private final UnitMedium medium;
  private final String failure;
  private final StampedLock writeGate = new StampedLock();
  private final List<Runnable> capacityListeners = new CopyOnWriteArrayList<>();
  private final LongAdder readOps = new LongAdder();
  private final LongAdder writeOps = new LongAdder();
  private final LongAdder readBytes = new LongAdder();
  private final LongAdder writeBytes = new LongAdder();
  private final IoLatency readLatency = new IoLatency();
  private final IoLatency writeLatency = new IoLatency();
  private final LunThrottle throttle = new LunThrottle();
  /** The unit's own reference plus one per outstanding {@link LunFileRegion} or cached read. */
  private final AtomicInteger refs = new AtomicInteger(1);
  private volatile long sizeBytes;
  private volatile boolean closed;
  /** {@link #writeInline} declines until this {@link System#nanoTime} after a slow write. */
  private volatile long inlinePausedUntil = System.nanoTime();

  private LogicalUnit(LunConfig config, FileChannel channel, NativeFile nativeFile,
      UnitMedium medium, long size, String failure) {
    this.initialConfig = config;
    this.channel = channel;
    this.nativeFile = nativeFile;
    this.medium = medium;
    this.sizeBytes = size;
    this.failure = failure;
  }

  /**
   * Creates the backing file (sparse, or preallocated when not thin) and opens it. Refuses to
   * overwrite an existing file.
   */
  public static LogicalUnit create(LunConfig config) throws IOException {
    if (Files.exists(config.file())) {
      throw new FileAlreadyExistsException(config.file().toString(), null,
          "backing file of a new LUN already exists");
    }
    try (FileChannel create = FileChannel.open(config.file(), StandardOpenOption.CREATE_NEW,
        StandardOpenOption.WRITE); NativeFile nf = NativeFile.open(config.file(), false)) {
      nf.truncate(config.sizeBytes());
      if (!config.thin()) {
        preallocate(nf, create, 0, config.sizeBytes());
      }
      create.force(true);
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(config.file());
      throw translate(e, "create " + config.file());
    }
    return open(config);
  }

  /**
   * Opens an existing backing file or block device, as after an engine restart (a device is made
   * by its backend, then opened here). A missing or unreadable file does
   * not throw: the unit then reports it in {@link #condition()} and fails every I/O, so that the
   * LUN stays visible and the operator can see why it is broken.
   */
  public static LogicalUnit open(LunConfig config) throws IOException {
    FileChannel channel = null;
    NativeFile nf = null;
    UnitMedium medium = UnitMedium.of(config.file());
    try {
      channel = config.readOnly()
          ? FileChannel.open(config.file(), StandardOpenOption.READ)
          : FileChannel.open(config.file(), StandardOpenOption.READ, StandardOpenOption.WRITE);
      nf = NativeFile.open(config.file(), config.readOnly());
      long size = medium.sizeAtOpen(config, channel, nf);
      return new LogicalUnit(config, channel, nf, medium, size, null);
    } catch (IOException e) {
      closeQuietly(channel, nf);
      log.warn("LUN backing file {} is unusable: {}", config.file(), e.toString());
      return new LogicalUnit(config, null, null, medium, config.sizeBytes(),
          "backing file " + config.file() + " unusable: " + e);
    }
  }

  public LunConfig config() {
    return initialConfig.withSizeBytes(sizeBytes);
  }

  public long sizeBytes() {
    return sizeBytes;
  }

  public boolean readOnly() {
    return initialConfig.readOnly();
  }

  public boolean thin() {
    return initialConfig.thin();
  }

  public int blockSize() {
    return initialConfig.blockSize();
  }

  /** Number of logical blocks. */
  public long blocks() {
    return sizeBytes / initialConfig.blockSize();
  }

  /** Grows the LUN online; every nexus gets CAPACITY DATA HAS CHANGED. Shrinking is refused. */
  public void resize(long newSizeBytes) throws IOException {
    requireUsable();
    if (initialConfig.readOnly()) {
      throw new IOException("LUN " + initialConfig.file() + " is read-only; cannot resize");
    }
    if (newSizeBytes % blockSize() != 0) {
      throw new IllegalArgumentException(
          "new size " + newSizeBytes + " is not a multiple of the block size " + blockSize());
    }
    synchronized (this) {
      long old = sizeBytes;
      if (newSizeBytes < old) {
        throw new IllegalArgumentException(
            "LUNs only grow: new size " + newSizeBytes + " < current size " + old);
      }
      if (newSizeBytes == old) {
        return;
      }
      try {
        medium.grow(initialConfig, channel, nativeFile, old, newSizeBytes);
      } catch (IOException e) {
        throw translate(e, "resize " + initialConfig.file());
      }
      sizeBytes = newSizeBytes;
    }
    for (Runnable listener : capacityListeners) {
      listener.run();
    }
  }

  /** Bytes the backing file really occupies on disk (a block device: its size). */
  public long allocatedBytes() throws IOException {
    requireUsable();
    return medium.allocatedBytes(nativeFile, sizeBytes);
  }

  /** How long reads (positional reads of the backing file) took, for metrics. */
  public IoLatency readLatency() {
    return readLatency;
  }

  /** How long writes took, including the flush of a FUA write, for metrics. */
  public IoLatency writeLatency() {
    return writeLatency;
  }

  /** The unit's I/O limits, enforced by the SCSI layer on READ and WRITE commands. */
  public LunThrottle throttle() {
    return throttle;
  }

  public LunCounters counters() {
    return new LunCounters(readOps.sum(), writeOps.sum(), readBytes.sum(), writeBytes.sum());
  }

  /**
   * Holds new writes, waits for writes in flight and forces the file to stable storage; writes
   * resume when the returned handle is closed. Used to take consistent snapshots.
   */
  public Quiesce quiesce() throws IOException {
    requireUsable();
    long stamp = writeGate.writeLock();
    try {
      channel.force(true);
    } catch (IOException | RuntimeException e) {
      writeGate.unlockWrite(stamp);
      throw e;
    }
    boolean[] released = {false};
    return () -> {
      synchronized (released) {
        if (!released[0]) {
          released[0] = true;
          writeGate.unlockWrite(stamp);
        }
      }
    };
  }

  /** Empty when healthy; otherwise why the backing file is unusable (missing, unreadable). */
  public Optional<String> condition() {
    if (failure != null) {
      return Optional.of(failure);
    }
    if (closed) {
      return Optional.of("LUN closed");
    }
    if (!Files.exists(initialConfig.file())) {
      return Optional.of("backing file " + initialConfig.file() + " is missing");
    }
    if (!Files.isReadable(initialConfig.file())) {
      return Optional.of("backing file " + initialConfig.file() + " is unreadable");
    }
    return Optional.empty();
  }

  /** Reads {@code dst.remaining()} bytes at {@code offset}; bytes past the end read as zeros. */
  public void read(long offset, ByteBuffer dst) throws IOException {
    requireUsable();
    long started = System.nanoTime();
    int length = dst.remaining();
    ImageFile.readFully(channel, offset, dst);
    recordRead(started, length);
  }

  /**
   * Reads {@code dst.remaining()} bytes at {@code offset} only if the page cache holds all of them
   * ({@code preadv2(2)} with RWF_NOWAIT), so that it never waits for the disk. Returns false,
   * having recorded nothing, when it would have to wait, when the range reaches past the end of
   * the file or when {@code dst} is not a direct buffer: the caller then uses {@link #read}.
   */
  public boolean readCached(long offset, ByteBuffer dst) throws IOException {
    requireUsable();
    if (!dst.isDirect() || !tryAcquire()) {
      return false;
    }
    long started = System.nanoTime();
    int length = dst.remaining();
    try {
      long n = nativeFile.readCached(offset, MemorySegment.ofBuffer(dst));
      if (n != length) {
        return false; // not cached (-1), a short read or end of file: the blocking path decides
      }
    } finally {
      release();
    }
    dst.position(dst.limit());
    recordRead(started, length);
    return true;
  }

  /**
   * The file range of a read for {@code sendfile(2)}, counted as one read in the metrics (its
   * latency is the setup; the copy happens as the socket takes the data). Null when the range
   * reaches past the end of the file (externally shortened: {@link #read} then supplies zeros) or
   * when its first or last block is not in the page cache: the sendfile runs on a netty event
   * loop and must not wait for the disk, so such reads take the blocking path, which also brings
   * the data into the cache.
   * The caller owns the region and releases it, or hands it to netty, which does.
   */
  public LunFileRegion region(long offset, int length) throws IOException {
    requireUsable();
    long started = System.nanoTime();
    if (offset + length > channel.size()) {
      return null;
    }
    if (!tryAcquire()) {
      throw new IOException("LUN " + initialConfig.file() + " is closed");
    }
    boolean cached = false;
    try {
      cached = rangeCached(offset, length);
    } finally {
      if (!cached) {
        release();
      }
    }
    if (!cached) {
      return null;
    }
    LunFileRegion region = new LunFileRegion(this, channel, offset, length); // takes the reference
    recordRead(started, length);
    return region;
  }

  /**
   * Whether the page cache holds the whole range, so that sendfile on the event loop never waits
   * for the disk: cachestat(2) counts its pages; on kernels without it (before 6.5), a cheaper
   * probe of the range's first and last block stands in. The caller holds a reference.
   */
  private boolean rangeCached(long offset, int length) throws IOException {
    var whole = nativeFile.rangeCached(offset, length);
    if (whole.isPresent()) {
      return whole.get();
    }
    int block = blockSize();
    return nativeFile.cached(offset, Math.min(block, length))
        && (length <= block || nativeFile.cached(offset + length - block, block));
  }

  /**
   * Writes {@code srcs} one after the other from {@code offset} on the caller's thread if that is
   * expected to be quick:
   * a buffered write into the page cache, no FUA. Returns false, having written nothing, while
   * the unit is quiesced or for a while after an inline write took longer than
   * {@link #INLINE_SLOW_NANOS} (the page cache throttling writers, say): the caller then uses
   * {@link #write} on a thread that may block. Linux has no RWF_NOWAIT for buffered writes on
   * ext4, hence the heuristic.
   */
  @Override
  public boolean writeInline(long offset, ByteBuffer... srcs) throws IOException {
    long started = System.nanoTime();
    if (started - inlinePausedUntil < 0) {
      return false;
    }
    requireWritable();
    long stamp = writeGate.tryReadLock();
    if (stamp == 0) {
      return false;
    }
    long length;
    try {
      length = writeAt(offset, srcs);
    } finally {
      writeGate.unlockRead(stamp);
    }
    long took = System.nanoTime() - started;
    if (took > INLINE_SLOW_NANOS) {
      inlinePausedUntil = System.nanoTime() + INLINE_PAUSE_NANOS;
      log.debug("{}: inline write took {} us; writes go to I/O threads for a while",
          initialConfig.file(), took / 1000);
    }
    recordWrite(started, length);
    return true;
  }

  /**
   * Writes all of {@code src} at {@code offset}; with {@code forceUnitAccess} the data is on stable
   * storage when this returns.
   *
   * @throws SpaceExhaustedException when the backing filesystem is full
   */
  @Override
  public void write(long offset, ByteBuffer src, boolean forceUnitAccess) throws IOException {
    write(offset, new ByteBuffer[] {src}, forceUnitAccess);
  }

  /**
   * Writes {@code srcs} one after the other from {@code offset} (the segments of a write as they
   * arrived, not gathered into one buffer first: direct ones go to the kernel together, by {@link
   * NativeFile#writeFully}); one write in the metrics. With {@code forceUnitAccess} the data is on
   * stable storage when this returns.
   *
   * @throws SpaceExhaustedException when the backing filesystem is full
   */
  @Override
  public void write(long offset, ByteBuffer[] srcs, boolean forceUnitAccess) throws IOException {
    requireWritable();
    long started = System.nanoTime();
    long stamp = writeGate.readLock();
    long length;
    try {
      length = writeAt(offset, srcs);
      if (forceUnitAccess) {
        channel.force(false);
      }
    } catch (IOException e) {
      throw translate(e, "flush after a write at " + offset + " to " + initialConfig.file());
    } finally {
      writeGate.unlockRead(stamp);
    }
    recordWrite(started, length);
  }

  /** Writes {@code srcs} one after the other from {@code offset}; returns the bytes written. */
  private long writeAt(long offset, ByteBuffer[] srcs) throws IOException {
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
      throw translate(e, "write " + length + " bytes at " + offset + " to " + initialConfig.file());
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

  private void recordRead(long started, long length) {
    readLatency.record(System.nanoTime() - started);
    readOps.increment();
    readBytes.add(length);
  }

  private void recordWrite(long started, long length) {
    writeLatency.record(System.nanoTime() - started);
    writeOps.increment();
    writeBytes.add(length);
  }

  /** Forces written data to stable storage (SYNCHRONIZE CACHE). */
  @Override
  public void flush() throws IOException {
    requireUsable();
    try {
      channel.force(false);
    } catch (IOException e) {
      throw translate(e, "flush " + initialConfig.file());
    }
  }

  /**
   * Deallocates a range: a thin LUN punches a hole (reads then return zeros and the filesystem gets
   * the blocks back); a thick LUN zeroes the range and keeps it allocated.
   */
  @Override
  public void unmap(long offset, long length) throws IOException {
    requireWritable();
    if (length == 0) {
      return;
    }
    long stamp = writeGate.readLock();
    try {
      if (initialConfig.thin()) {
        nativeFile.fallocate(NativeFile.FALLOC_FL_PUNCH_HOLE | NativeFile.FALLOC_FL_KEEP_SIZE,
            offset, length);
      } else {
        zeroInPlace(offset, length);
      }
    } catch (IOException e) {
      throw translate(e, "unmap " + length + " bytes at " + offset + " of " + initialConfig.file());
    } finally {
      writeGate.unlockRead(stamp);
    }
  }

  /** Whether the byte at {@code offset} is mapped (holds data) and how far that state extends. */
  public Extent extentAt(long offset) throws IOException {
    requireUsable();
    long size = sizeBytes;
    if (!initialConfig.thin() || !medium.findsHoles()) {
      return new Extent(true, size - offset);
    }
    long data = nativeFile.seek(offset, true);
    if (data < 0 || data >= size) {
      return new Extent(false, size - offset);
    }
    if (data > offset) {
      return new Extent(false, data - offset);
    }
    long hole = nativeFile.seek(offset, false);
    long end = hole < 0 ? size : Math.min(hole, size);
    return new Extent(true, end - offset);
  }

  /** A run of bytes that are all mapped or all unmapped. */
  public record Extent(boolean mapped, long length) {
  }

  /** Runs {@code listener} after every resize. */
  public void addCapacityListener(Runnable listener) {
    capacityListeners.add(listener);
  }

  public void removeCapacityListener(Runnable listener) {
    capacityListeners.remove(listener);
  }

  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    IOException failed = null;
    try {
      if (channel != null && !initialConfig.readOnly()) {
        channel.force(true);
      }
    } catch (IOException e) {
      failed = e;
    }
    if (refs.decrementAndGet() != 0) {
      if (failed != null) {
        throw failed;
      }
      return; // the last outstanding region closes the file
    }
    try {
      closeFiles();
    } catch (IOException e) {
      failed = chain(failed, e);
    }
    if (failed != null) {
      throw failed;
    }
  }

  /** Takes a reference that keeps the backing file open; false once it is closed. */
  private boolean tryAcquire() {
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
      throw new IllegalStateException("LUN " + initialConfig.file() + " is closed");
    }
  }

  /** Drops a reference; the last one closes the backing file. */
  void release() {
    int n = refs.decrementAndGet();
    if (n == 0) {
      try {
        closeFiles();
      } catch (IOException e) {
        log.warn("closing {} after its last read: {}", initialConfig.file(), e.toString());
      }
    } else if (n < 0) {
      throw new IllegalStateException("LUN " + initialConfig.file() + " released too often");
    }
  }

  private void closeFiles() throws IOException {
    IOException failed = null;
    try {
      if (channel != null) {
        channel.close();
      }
    } catch (IOException e) {
      failed = e;
    }
    try {
      if (nativeFile != null) {
        nativeFile.close();
      }
    } catch (IOException e) {
      failed = chain(failed, e);
    }
    if (failed != null) {
      throw failed;
    }
  }

  /** The first failure stays the one thrown; later ones ride along as suppressed. */
  private static IOException chain(IOException first, IOException next) {
    if (first == null) {
      return next;
    }
    first.addSuppressed(next);
    return first;
  }

  /** A hold on a LUN's writes; closing it lets writes go on. */
  public interface Quiesce extends AutoCloseable {
    @Override
    void close();
  }

  private void requireUsable() throws IOException {
    if (failure != null) {
      throw new IOException(failure);
    }
    if (closed) {
      throw new IOException("LUN " + initialConfig.file() + " is closed");
    }
  }

  private void requireWritable() throws IOException {
    requireUsable();
    if (initialConfig.readOnly()) {
      throw new IOException("LUN " + initialConfig.file() + " is read-only");
    }
  }

  private void zeroInPlace(long offset, long length) throws IOException {
    try {
      nativeFile.fallocate(NativeFile.FALLOC_FL_ZERO_RANGE | NativeFile.FALLOC_FL_KEEP_SIZE,
          offset, length);
    } catch (NativeFile.NativeIoException e) {
      if (e.errno() != NativeFile.EOPNOTSUPP) {
        throw e;
      }
      writeZeros(channel, offset, length);
    }
  }

  static void preallocate(NativeFile nf, FileChannel channel, long offset, long length)
      throws IOException {
    try {
      nf.fallocate(0, offset, length);
    } catch (NativeFile.NativeIoException e) {
      if (e.errno() != NativeFile.EOPNOTSUPP) {
        throw e;
      }
      writeZeros(channel, offset, length); // e.g. tmpfs without fallocate support
    }
  }

  private static void writeZeros(FileChannel channel, long offset, long length)
      throws IOException {
    ByteBuffer zeros = ByteBuffer.allocateDirect((int) Math.min(length, 1 << 20));
    long pos = offset;
    long end = offset + length;
    while (pos < end) {
      zeros.clear().limit((int) Math.min(zeros.capacity(), end - pos));
      while (zeros.hasRemaining()) {
        pos += channel.write(zeros, pos);
      }
    }
  }

  /** ENOSPC, however the JDK or libc reported it, becomes {@link SpaceExhaustedException}. */
  private static IOException translate(Exception e, String what) {
    boolean noSpace = e instanceof NativeFile.NativeIoException n && n.errno() == NativeFile.ENOSPC
        || e.getMessage() != null && e.getMessage().contains("No space left on device");
    if (noSpace) {
      return new SpaceExhaustedException(what + ": no space left on the backing filesystem", e);
    }
    if (e instanceof IOException io) {
      return io;
    }
    return new IOException(what, e);
  }

  private static void closeQuietly(FileChannel channel, NativeFile nf) {
    try {
      if (channel != null) {
        channel.close();
      }
    } catch (IOException e) {
      log.debug("closing {} after a failed open", channel, e);
    }
    try {
      if (nf != null) {
        nf.close();
      }
    } catch (IOException e) {
      log.debug("closing native fd after a failed open", e);
    }
  }
}
