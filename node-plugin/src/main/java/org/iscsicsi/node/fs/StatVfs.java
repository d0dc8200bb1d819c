package org.iscsicsi.node.fs;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/**
 * statvfs(3) through the foreign-function API: bytes and inodes of a mounted filesystem, and
 * whether it is mounted read-only. Layout of struct statvfs on 64-bit Linux/glibc: eleven
 * 8-byte fields (bsize, frsize, blocks, bfree, bavail, files, ffree, favail, fsid, flag,
 * namemax) then six ints of padding.
 */
public record StatVfs(long totalBytes, long availableBytes, long usedBytes, long totalInodes,
    long freeInodes, long usedInodes, boolean readOnly) {

  private static final long ST_RDONLY = 1;
  private static final MethodHandle STATVFS;

  static {
    Linker linker = Linker.nativeLinker();
    STATVFS = linker.downcallHandle(linker.defaultLookup().find("statvfs").orElseThrow(),
        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS),
        Linker.Option.captureCallState("errno"));
  }

  public static StatVfs of(Path path) throws FsException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = arena.allocate(Linker.Option.captureStateLayout());
      MemorySegment buf = arena.allocate(112, 8);
      int rc = (int) STATVFS.invokeExact(state, arena.allocateFrom(path.toString()), buf);
      if (rc != 0) {
        int errno = state.get(ValueLayout.JAVA_INT,
            Linker.Option.captureStateLayout().byteOffset(
                java.lang.foreign.MemoryLayout.PathElement.groupElement("errno")));
        throw new FsException("statvfs(" + path + ") failed with errno " + errno);
      }
      long frsize = buf.get(ValueLayout.JAVA_LONG, 8);
      long blocks = buf.get(ValueLayout.JAVA_LONG, 16);
      long bfree = buf.get(ValueLayout.JAVA_LONG, 24);
      long bavail = buf.get(ValueLayout.JAVA_LONG, 32);
      long files = buf.get(ValueLayout.JAVA_LONG, 40);
      long ffree = buf.get(ValueLayout.JAVA_LONG, 48);
      long flag = buf.get(ValueLayout.JAVA_LONG, 72);
      return new StatVfs(blocks * frsize, bavail * frsize, (blocks - bfree) * frsize, files, ffree,
          files - ffree, (flag & ST_RDONLY) != 0);
    } catch (FsException e) {
      throw e;
    } catch (Throwable t) {
      throw new FsException("statvfs(" + path + ") failed: " + t, t);
    }
  }
}
