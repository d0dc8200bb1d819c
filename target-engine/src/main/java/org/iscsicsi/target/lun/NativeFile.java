package org.iscsicsi.target.lun;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The Linux file calls Java lacks, through the FFM API on a descriptor opened with libc
 * {@code open(2)}: {@code fallocate(2)} (preallocate, punch holes, zero ranges), {@code lseek(2)}
 * with SEEK_DATA/SEEK_HOLE, {@code fstat(2)}'s block count, {@code ftruncate(2)} and
 * {@code fdatasync(2)}, {@code preadv2(2)} with RWF_NOWAIT, {@code pwritev(2)},
 * {@code cachestat(2)} (Linux 6.5+).
 * Constants, the {@code st_blocks} offset and the syscall numbers are those of Linux on x86_64 and
 * aarch64 (glibc).
 */
final class NativeFile implements AutoCloseable {

  static final int FALLOC_FL_KEEP_SIZE = 0x01;
  static final int FALLOC_FL_PUNCH_HOLE = 0x02;
  static final int FALLOC_FL_ZERO_RANGE = 0x10;
  static final int ENOSPC = 28;
  static final int ENXIO = 6;
  static final int EOPNOTSUPP = 95;
  static final int EAGAIN = 11;
  private static final int RWF_NOWAIT = 0x08;
  private static final long IOVEC_SIZE = 16;
  /** IOV_MAX on Linux: the most buffers one pwritev(2) takes. */
  static final int IOV_MAX = 1024;
  /**
   * Buffers are gathered into one pwritev(2) until they add up to this many bytes. ext4 (Linux
   * 6.x) sizes page-cache folios by the write that creates them, and a later small write into a
   * folio costs time in proportion to the folio's size (ext4_block_write_begin walks all its
   * blocks): with 1 MiB calls, 4 KiB writes into data written sequentially took 25 us of CPU
   * instead of 15. 256 KiB keeps most of the gain of large calls for sequential writes.
   */
  static final long MAX_BYTES_PER_CALL = 256 * 1024;
  private static final int EINTR = 4;

  private static final int O_RDONLY = 0;
  private static final int O_RDWR = 2;
  private static final int O_CLOEXEC = 0x80000;
  private static final int SEEK_DATA = 3;
  private static final int SEEK_HOLE = 4;
  private static final long ST_BLOCKS_OFFSET = 64;
  private static final long STAT_SIZE = 256;
  private static final int ENOSYS = 38;
  /** cachestat(2): 451 on x86_64 and on aarch64 (the generic table). */
  private static final long SYS_CACHESTAT = 451;
  /** struct cachestat_range {u64 off, len} and struct cachestat {u64 nr_cache, ... 5 fields}. */
  private static final long CACHESTAT_RANGE_SIZE = 16;
  private static final long CACHESTAT_SIZE = 40;

  private static final Linker LINKER = Linker.nativeLinker();
  private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
  private static final VarHandle ERRNO =
      CALL_STATE.varHandle(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));
  private static final Linker.Option CAPTURE = Linker.Option.captureCallState("errno");

  private static final MethodHandle OPEN = downcall("open", FunctionDescriptor.of(
      ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
  private static final MethodHandle CLOSE =
      downcall("close", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
  private static final MethodHandle FALLOCATE = downcall("fallocate", FunctionDescriptor.of(
      ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
      ValueLayout.JAVA_LONG));
  private static final MethodHandle LSEEK = downcall("lseek", FunctionDescriptor.of(
      ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
  private static final MethodHandle FSTAT = downcall("fstat",
      FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
  private static final MethodHandle FTRUNCATE = downcall("ftruncate",
      FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
  private static final MethodHandle PREADV2 = downcall("preadv2", FunctionDescriptor.of(
      ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT,
      ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
  private static final MethodHandle PWRITEV = downcall("pwritev", FunctionDescriptor.of(
      ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT,
      ValueLayout.JAVA_LONG));
  // long syscall(long number, ...): the fd and flags go as longs, which is what the kernel reads.
  private static final MethodHandle SYSCALL = LINKER.downcallHandle(
      LINKER.defaultLookup().find("syscall").orElseThrow(),
      FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
          ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG),
      Linker.Option.firstVariadicArg(1), CAPTURE);
  private static final MethodHandle GETPAGESIZE =
      downcall("getpagesize", FunctionDescriptor.of(ValueLayout.JAVA_INT));
  static final int PAGE_SIZE = pageSize();
  /** False once the kernel said it has no cachestat(2); then callers probe another way. */
  private static volatile boolean cachestatAvailable = true;
  private static final MethodHandle FDATASYNC =
      downcall("fdatasync", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

  private final Path path;
  private final int fd;

  private NativeFile(Path path, int fd) {
    this.path = path;
    this.fd = fd;
  }

  private static MethodHandle downcall(String name, FunctionDescriptor descriptor) {
    MemorySegment symbol = LINKER.defaultLookup().find(name)
        .orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
    return LINKER.downcallHandle(symbol, descriptor, CAPTURE);
  }

  /** Opens an existing file for reading and writing (or reading only). */
  static NativeFile open(Path path, boolean readOnly) throws IOException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = arena.allocate(CALL_STATE);
      MemorySegment cpath = arena.allocateFrom(path.toString());
      int fd = (int) OPEN.invokeExact(state, cpath, (readOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC, 0);
      if (fd < 0) {
        throw new NativeIoException("open " + path, errno(state));
      }
      return new NativeFile(path, fd);
    } catch (IOException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("open " + path, t);
    }
  }

  /** fallocate(2); throws {@link NativeIoException} with the errno on failure. */
  void fallocate(int mode, long offset, long length) throws IOException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = arena.allocate(CALL_STATE);
      int rc = (int) FALLOCATE.invokeExact(state, fd, mode, offset, length);
      if (rc != 0) {
        throw new NativeIoException("fallocate(mode=" + mode + ", " + offset + ", " + length
            + ") on " + path, errno(state));
      }
    } catch (IOException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("fallocate", t);
    }
  }

  /**
   * lseek(2) with SEEK_DATA (data) or SEEK_HOLE; returns -1 when there is no such region at or
   * after {@code offset} (ENXIO).
   */
  long seek(long offset, boolean data) throws IOException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = arena.allocate(CALL_STATE);
      long rc = (long) LSEEK.invokeExact(state, fd, offset, data ? SEEK_DATA : SEEK_HOLE);
      if (rc < 0) {
        int errno = errno(state);
        if (errno == ENXIO) {
          return -1;
        }
        throw new NativeIoException("lseek(" + offset + ") on " + path, errno);
      }
      return rc;
    } catch (IOException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("lseek", t);
    }
  }

  /** Bytes allocated on disk: fstat(2)'s st_blocks times 512. */
  long allocatedBytes() throws IOException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = arena.allocate(CALL_STATE);
      MemorySegment stat = arena.allocate(STAT_SIZE, 8);
      int rc = (int) FSTAT.invokeExact(state, fd, stat);
      if (rc != 0) {
        throw new NativeIoException("fstat " + path, errno(state));
      }
      return stat.get(ValueLayout.JAVA_LONG, ST_BLOCKS_OFFSET) * 512L;
    } catch (IOException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("fstat", t);
    }
  }

  void truncate(long size) throws IOException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = arena.allocate(CALL_STATE);
      int rc = (int) FTRUNCATE.invokeExact(state, fd, size);
      if (rc != 0) {
        throw new NativeIoException("ftruncate(" + size + ") on " + path, errno(state));
      }
    } catch (IOException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("ftruncate", t);
    }
  }

  /**
   * preadv2(2) with RWF_NOWAIT into native memory: reads only what the page cache already holds,
   * never waiting for the disk. Returns the bytes read (0 at end of file), or -1 when the data is
   * not cached (EAGAIN) or the kernel does not offer RWF_NOWAIT here (EOPNOTSUPP).
   */
  long readCached(long offset, MemorySegment dst) throws IOException {
    try (Arena arena = Arena.ofConfined()) {
      // one allocation: the iovec first (8-byte aligned), the errno capture after it
      MemorySegment scratch = arena.allocate(IOVEC_SIZE + CALL_STATE.byteSize(), 8);
      MemorySegment iov = scratch.asSlice(0, IOVEC_SIZE);
      MemorySegment state = scratch.asSlice(IOVEC_SIZE, CALL_STATE.byteSize());
      iov.set(ValueLayout.ADDRESS, 0, dst);
      iov.set(ValueLayout.JAVA_LONG, 8, dst.byteSize());
      long rc = (long) PREADV2.invokeExact(state, fd, iov, 1, offset, RWF_NOWAIT);
      if (rc < 0) {
        int errno = errno(state);
        if (errno == EAGAIN || errno == EOPNOTSUPP) {
          return -1;
        }
        throw new NativeIoException("preadv2(" + offset + ", " + dst.byteSize() + ") on " + path,
            errno);
      }
      return rc;
    } catch (IOException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("preadv2", t);
    }
  }

  /**
   * Writes every remaining byte of the direct buffers {@code srcs}, one after the other from
   * {@code offset}, with few pwritev(2) calls (one per {@link #MAX_BYTES_PER_CALL} bytes or
   * {@link #IOV_MAX} buffers, more if a write comes back short); advances each buffer's position
   * past what was written. One call takes the file's inode lock once for the whole range, where
   * a positional write per buffer takes it once per buffer, contended by the other writers.
   *
   * @throws IllegalArgumentException if a buffer is not direct
   */
  long writeFully(long offset, ByteBuffer[] srcs) throws IOException {
    long total = 0;
    try (Arena arena = Arena.ofConfined()) {
      int slots = Math.min(srcs.length, IOV_MAX);
      MemorySegment scratch = arena.allocate(IOVEC_SIZE * slots + CALL_STATE.byteSize(), 8);
      MemorySegment iov = scratch.asSlice(0, IOVEC_SIZE * slots);
      MemorySegment state = scratch.asSlice(IOVEC_SIZE * slots, CALL_STATE.byteSize());
      int first = 0;
      while (true) {
        while (first < srcs.length && !srcs[first].hasRemaining()) {
          first++;
        }
        if (first == srcs.length) {
          return total;
        }
        int count = 0;
        long bytes = 0;
        for (int i = first; i < srcs.length && count < slots && bytes < MAX_BYTES_PER_CALL; i++) {
          ByteBuffer b = srcs[i];
          if (!b.isDirect()) {
            throw new IllegalArgumentException("pwritev takes direct buffers only");
          }
          if (b.hasRemaining()) {
            iov.setAtIndex(ValueLayout.JAVA_LONG, 2L * count,
                MemorySegment.ofBuffer(b).address());
            iov.setAtIndex(ValueLayout.JAVA_LONG, 2L * count + 1, b.remaining());
            bytes += b.remaining();
            count++;
          }
        }
        long rc = (long) PWRITEV.invokeExact(state, fd, iov, count, offset + total);
        if (rc < 0) {
          int errno = errno(state);
          if (errno == EINTR) {
            continue;
          }
          throw new NativeIoException("pwritev(" + (offset + total) + ", " + count
              + " buffers) on " + path, errno);
        }
        total += rc;
        for (int i = first; i < srcs.length && rc > 0; i++) {
          ByteBuffer b = srcs[i];
          int n = (int) Math.min(rc, b.remaining());
          b.position(b.position() + n);
          rc -= n;
        }
      }
    } catch (IOException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("pwritev", t);
    }
  }

  /**
   * Whether the page cache holds the {@code length} bytes at {@code offset}, found out by reading
   * them with RWF_NOWAIT into scratch memory (so keep {@code length} small).
   */
  boolean cached(long offset, int length) throws IOException {
    try (Arena arena = Arena.ofConfined()) {
      return readCached(offset, arena.allocate(length, 8)) == length;
    }
  }

  /**
   * Whether every page of {@code [offset, offset + length)} is in the page cache, by
   * cachestat(2), which counts them without touching the data. Returns empty when the kernel has
   * no cachestat (before Linux 6.5), so that the caller can probe another way.
   */
  Optional<Boolean> rangeCached(long offset, long length) throws IOException {
    if (!cachestatAvailable || length <= 0) {
      return Optional.empty();
    }
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment scratch = arena.allocate(
          CACHESTAT_RANGE_SIZE + CACHESTAT_SIZE + CALL_STATE.byteSize(), 8);
      MemorySegment range = scratch.asSlice(0, CACHESTAT_RANGE_SIZE);
      MemorySegment stat = scratch.asSlice(CACHESTAT_RANGE_SIZE, CACHESTAT_SIZE);
      MemorySegment state = scratch.asSlice(CACHESTAT_RANGE_SIZE + CACHESTAT_SIZE,
          CALL_STATE.byteSize());
      range.set(ValueLayout.JAVA_LONG, 0, offset);
      range.set(ValueLayout.JAVA_LONG, 8, length);
      long rc = (long) SYSCALL.invokeExact(state, SYS_CACHESTAT, (long) fd, range, stat, 0L);
      if (rc != 0) {
        int errno = errno(state);
        if (errno == ENOSYS) {
          cachestatAvailable = false;
          return Optional.empty();
        }
        throw new NativeIoException("cachestat(" + offset + ", " + length + ") on " + path,
            errno);
      }
      long pages = (offset + length + PAGE_SIZE - 1) / PAGE_SIZE - offset / PAGE_SIZE;
      return Optional.of(stat.get(ValueLayout.JAVA_LONG, 0) >= pages);
    } catch (IOException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("cachestat", t);
    }
  }

  private static int pageSize() {
    try {
      return (int) GETPAGESIZE.invokeExact(Arena.ofAuto().allocate(CALL_STATE));
    } catch (Throwable t) {
      throw new ExceptionInInitializerError(t);
    }
  }

  void datasync() throws IOException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = arena.allocate(CALL_STATE);
      int rc = (int) FDATASYNC.invokeExact(state, fd);
      if (rc != 0) {
        throw new NativeIoException("fdatasync " + path, errno(state));
      }
    } catch (IOException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("fdatasync", t);
    }
  }

  @Override
  public void close() throws IOException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = arena.allocate(CALL_STATE);
      int rc = (int) CLOSE.invokeExact(state, fd);
      if (rc != 0) {
        throw new NativeIoException("close " + path, errno(state));
      }
    } catch (IOException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("close", t);
    }
  }

  private static int errno(MemorySegment state) {
    return (int) ERRNO.get(state, 0L);
  }

  /** An I/O error with the errno of the failed call. */
  static final class NativeIoException extends IOException {
    private final int errno;

    NativeIoException(String what, int errno) {
      super(what + " failed: errno " + errno + (errno == ENOSPC ? " (No space left on device)"
          : errno == EOPNOTSUPP ? " (Operation not supported)" : ""));
      this.errno = errno;
    }

    int errno() {
      return errno;
    }
  }
}
