package org.iscsicsi.target.registry;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.iscsicsi.target.lun.ImageFile;
import org.iscsicsi.target.state.SnapshotRecord;

/**
 * Which blocks of a snapshot hold data, and which differ between two snapshots of one LUN, for
 * backup tools (CSI SnapshotMetadata, changed-block tracking). Both read only the snapshots'
 * files, which never change once taken: allocation comes from the file's extents
 * (SEEK_DATA/SEEK_HOLE), and a delta compares the two files block by block where either holds
 * data (a hole reads as zeros), so it is exact whatever happened to the LUN in between, at the
 * cost of reading both snapshots' data. Ranges are whole logical blocks, adjacent ones merged.
 */
final class SnapshotBlocks {

  /** One byte range, block-aligned. */
  record Range(long offset, long length) {
    long end() {
      return offset + length;
    }
  }

  /** Bytes compared per read when computing a delta. */
  static final int COMPARE_CHUNK = 1 << 20;

  private SnapshotBlocks() {}

  /** The snapshot's blocks that hold data, from {@code start} (rounded down to a block). */
  static List<Range> allocated(SnapshotRecord s, long start, int maxRanges) throws IOException {
    long block = s.blockSize();
    List<Range> out = new ArrayList<>();
    try (ImageFile f = ImageFile.open(Path.of(s.file()))) {
      long size = Math.min(s.sizeBytes(), f.sizeBytes());
      long pos = start / block * block;
      while (pos < size && out.size() < maxRanges) {
        long data = f.nextData(pos);
        if (data < 0 || data >= size) {
          break;
        }
        long from = data / block * block;
        long to = Math.min(size, ceil(f.nextHole(data), block));
        add(out, from, to);
        pos = to;
      }
    }
    return out;
  }

  /**
   * The blocks whose contents differ between {@code base} and {@code target} (two snapshots of
   * the same LUN), from {@code start}. A block beyond the smaller snapshot's size reads as zeros
   * there, so the blocks an expansion added count as changed only where they hold data.
   */
  static List<Range> delta(SnapshotRecord base, SnapshotRecord target, long start,
      int maxRanges) throws IOException {
    int block = target.blockSize();
    List<Range> out = new ArrayList<>();
    try (ImageFile a = ImageFile.open(Path.of(base.file()));
        ImageFile b = ImageFile.open(Path.of(target.file()))) {
      long size = target.sizeBytes();
      long aSize = Math.min(base.sizeBytes(), a.sizeBytes());
      ByteBuffer bufA = ByteBuffer.allocateDirect(COMPARE_CHUNK);
      ByteBuffer bufB = ByteBuffer.allocateDirect(COMPARE_CHUNK);
      long pos = start / block * block;
      while (pos < size && out.size() < maxRanges) {
        long next = Math.min(dataAt(a, pos, aSize), dataAt(b, pos, size));
        if (next >= size) {
          break;
        }
        pos = next / block * block;
        int n = (int) Math.min(COMPARE_CHUNK, size - pos);
        read(a, pos, n, aSize, bufA);
        read(b, pos, n, size, bufB);
        int off = 0;
        while (off < n) {
          int m = bufA.slice(off, n - off).mismatch(bufB.slice(off, n - off));
          if (m < 0) {
            break;
          }
          int first = (off + m) / block * block; // pos is block-aligned
          int end = Math.min(first + block, n);
          add(out, pos + first, pos + end);
          off = end;
        }
        pos += n;
      }
    }
    return out.size() > maxRanges ? out.subList(0, maxRanges) : out;
  }

  /** The first data byte of {@code f} at or after {@code pos} below {@code limit}, else MAX. */
  private static long dataAt(ImageFile f, long pos, long limit) throws IOException {
    if (pos >= limit) {
      return Long.MAX_VALUE;
    }
    long d = f.nextData(pos);
    return d < 0 || d >= limit ? Long.MAX_VALUE : d;
  }

  /** Reads {@code n} bytes at {@code pos} into {@code buf}, zeros at and after {@code limit}. */
  private static void read(ImageFile f, long pos, int n, long limit, ByteBuffer buf)
      throws IOException {
    buf.clear().limit(n);
    if (pos < limit) {
      buf.limit((int) Math.min(n, limit - pos));
      f.read(pos, buf);
      buf.limit(n);
    }
    while (buf.hasRemaining()) {
      buf.put((byte) 0);
    }
    buf.flip();
  }

  /** Appends {@code [from, to)}, merged into the last range when they touch. */
  private static void add(List<Range> out, long from, long to) {
    if (!out.isEmpty() && out.getLast().end() == from) {
      Range last = out.removeLast();
      out.add(new Range(last.offset(), to - last.offset()));
    } else {
      out.add(new Range(from, to - from));
    }
  }

  private static long ceil(long value, long block) {
    return (value + block - 1) / block * block;
  }
}
