package org.iscsicsi.target.lun;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
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
 * {@link #unmap} zeroes in place ({@link Provisioning}).
 *
 * <p>Besides the blocking calls, three that never wait for the disk, for callers that must not
 * block (a netty event loop): {@link #readCached} (what the page cache holds), {@link #region} (a
 * file range for {@code sendfile(2)}) and {@link #writeInline} (a small buffered write while such
 * writes stay fast, {@link InlineWritePacer}). The backing file stays open until {@link #close}
 * and the last outstanding {@link LunFileRegion} are both done ({@link BackingFile}).
 *
 * <p>This class keeps the unit's geometry (size, block size, growth), its state (usable, failed,
 * closed) and the order of each call's steps; the file's I/O, provisioning, the write gate of
 * {@link #quiesce} and the metrics are the jobs of the package-private classes named above,
 * {@link WriteGate} and {@link LunIoStats}.
 */
public final class LogicalUnit implements AutoCloseable, UnitIo {

  private static final Logger log = LoggerFactory.getLogger(LogicalUnit.class);
  private static final long NANOS_PER_MICRO = 1000;

  private final LunConfig initialConfig;
  /** Null when the backing file could not be opened: {@link #failure} says why. */
  private final BackingFile backing;
  private final UnitMedium medium;
  private final String failure;
  private final WriteGate writeGate = new WriteGate();
  private final InlineWritePacer inlinePacer = new InlineWritePacer();
  private final List<Runnable> capacityListeners = new CopyOnWriteArrayList<>();
  private final LunIoStats stats = new LunIoStats();
  private final LunThrottle throttle = new LunThrottle();
  private volatile long sizeBytes;
  private volatile boolean closed;

  private LogicalUnit(LunConfig config, BackingFile backing, UnitMedium medium, long size,
      String failure) {
    this.initialConfig = config;
    this.backing = backing;
    this.medium = medium;
    this.sizeBytes = size;
    this.failure = failure;
  }

  /**
   * Creates the backing file (sparse, or preallocated when not thin) and opens it. Refuses to
   * overwrite an existing file.
   */
  public static LogicalUnit create(LunConfig config) throws IOException {
    BackingFile.create(config);
    return open(config);
  }

  /**
   * Opens an existing backing file or block device, as after an engine restart (a device is made
   * by its backend, then opened here). A missing or unreadable file does
   * not throw: the unit then reports it in {@link #condition()} and fails every I/O, so that the
   * LUN stays visible and the operator can see why it is broken.
   */
  public static LogicalUnit open(LunConfig config) throws IOException {
    UnitMedium medium = UnitMedium.of(config.file());
    BackingFile backing = null;
    try {
      backing = BackingFile.open(config);
      long size = medium.sizeAtOpen(config, backing.channel(), backing.nativeFile());
      return new LogicalUnit(config, backing, medium, size, null);
    } catch (IOException e) {
      if (backing != null) {
        closeAfterFailedOpen(backing, config);
      }
      log.warn("LUN backing file {} is unusable: {}", config.file(), e.toString());
      return new LogicalUnit(config, null, medium, config.sizeBytes(),
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
        medium.grow(initialConfig, backing.channel(), backing.nativeFile(), old, newSizeBytes);
      } catch (IOException e) {
        throw IoFailures.translate(e, "resize " + initialConfig.file());
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
    return medium.allocatedBytes(backing.nativeFile(), sizeBytes);
  }

  /** How long reads (positional reads of the backing file) took, for metrics. */
  public IoLatency readLatency() {
    return stats.readLatency();
  }

  /** How long writes took, including the flush of a FUA write, for metrics. */
  public IoLatency writeLatency() {
    return stats.writeLatency();
  }

  /** The unit's I/O limits, enforced by the SCSI layer on READ and WRITE commands. */
  public LunThrottle throttle() {
    return throttle;
  }

  public LunCounters counters() {
    return stats.counters();
  }

  /**
   * Holds new writes, waits for writes in flight and forces the file to stable storage; writes
   * resume when the returned handle is closed. Used to take consistent snapshots.
   */
  public Quiesce quiesce() throws IOException {
    requireUsable();
    Quiesce hold = writeGate.hold();
    try {
      backing.force(true);
    } catch (IOException | RuntimeException e) {
      hold.close();
      throw e;
    }
    return hold;
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
    backing.read(offset, dst);
    stats.recordRead(started, length);
  }

  /**
   * Reads {@code dst.remaining()} bytes at {@code offset} only if the page cache holds all of them
   * ({@code preadv2(2)} with RWF_NOWAIT), so that it never waits for the disk. Returns false,
   * having recorded nothing, when it would have to wait, when the range reaches past the end of
   * the file or when {@code dst} is not a direct buffer: the caller then uses {@link #read}.
   */
  public boolean readCached(long offset, ByteBuffer dst) throws IOException {
    requireUsable();
    if (!dst.isDirect()) {
      return false;
    }
    long started = System.nanoTime();
    int length = dst.remaining();
    if (!backing.readCached(offset, dst)) {
      return false; // not cached, a short read or end of file: the blocking path decides
    }
    dst.position(dst.limit());
    stats.recordRead(started, length);
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
    if (offset + length > backing.channel().size()) {
      return null;
    }
    LunFileRegion region = backing.cachedRegion(offset, length, blockSize());
    if (region != null) {
      stats.recordRead(started, length);
    }
    return region;
  }

  /**
   * Writes {@code srcs} one after the other from {@code offset} on the caller's thread if that is
   * expected to be quick:
   * a buffered write into the page cache, no FUA. Returns false, having written nothing, while
   * the unit is quiesced or for a while after an inline write took longer than
   * {@link InlineWritePacer#INLINE_SLOW_NANOS} (the page cache throttling writers, say): the
   * caller then uses {@link #write} on a thread that may block.
   */
  @Override
  public boolean writeInline(long offset, ByteBuffer... srcs) throws IOException {
    long started = System.nanoTime();
    if (!inlinePacer.allows(started)) {
      return false;
    }
    requireWritable();
    long stamp = writeGate.tryEnter();
    if (stamp == 0) {
      return false;
    }
    long length;
    try {
      length = backing.write(offset, srcs);
    } finally {
      writeGate.leave(stamp);
    }
    if (inlinePacer.slowed(started)) {
      log.debug("{}: inline write took {} us; writes go to I/O threads for a while",
          initialConfig.file(), (System.nanoTime() - started) / NANOS_PER_MICRO);
    }
    stats.recordWrite(started, length);
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
    long stamp = writeGate.enter();
    long length;
    try {
      length = backing.write(offset, srcs);
      if (forceUnitAccess) {
        backing.force(false);
      }
    } catch (IOException e) {
      throw IoFailures.translate(e,
          "flush after a write at " + offset + " to " + initialConfig.file());
    } finally {
      writeGate.leave(stamp);
    }
    stats.recordWrite(started, length);
  }

  /** Forces written data to stable storage (SYNCHRONIZE CACHE). */
  @Override
  public void flush() throws IOException {
    requireUsable();
    try {
      backing.force(false);
    } catch (IOException e) {
      throw IoFailures.translate(e, "flush " + initialConfig.file());
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
    long stamp = writeGate.enter();
    try {
      Provisioning.deallocate(backing.nativeFile(), backing.channel(), initialConfig.thin(),
          offset, length);
    } catch (IOException e) {
      throw IoFailures.translate(e,
          "unmap " + length + " bytes at " + offset + " of " + initialConfig.file());
    } finally {
      writeGate.leave(stamp);
    }
  }

  /** Whether the byte at {@code offset} is mapped (holds data) and how far that state extends. */
  public Extent extentAt(long offset) throws IOException {
    requireUsable();
    long size = sizeBytes;
    if (!initialConfig.thin() || !medium.findsHoles()) {
      return new Extent(true, size - offset);
    }
    return backing.extentAt(offset, size);
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
    if (backing == null) {
      return;
    }
    IOException failed = null;
    try {
      if (!initialConfig.readOnly()) {
        backing.force(true);
      }
    } catch (IOException e) {
      failed = e;
    }
    try {
      backing.releaseOwn(); // the last outstanding region closes the file if one is left
    } catch (IOException e) {
      failed = IoFailures.chain(failed, e);
    }
    if (failed != null) {
      throw failed;
    }
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

  private static void closeAfterFailedOpen(BackingFile backing, LunConfig config) {
    try {
      backing.releaseOwn();
    } catch (IOException e) {
      log.debug("closing {} after a failed open", config.file(), e);
    }
  }
}
