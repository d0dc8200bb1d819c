package org.iscsicsi.target.replication;

import java.util.BitSet;
import java.util.List;
import org.iscsicsi.target.transfer.Frame;
import org.iscsicsi.target.transfer.RegionMap;

/**
 * The regions of a LUN a member may lack (docs/replication.md section 10): one bit per 4 MiB
 * region, set for every write the member did not get or might lose while it is out of the
 * in-sync set, read by a Bitmap rebuild, which copies those regions only. Kept in memory by the
 * primary that saw the member leave; thread-safe.
 */
public final class RegionBitmap {

  private long sizeBytes;
  private final BitSet bits;

  public RegionBitmap(long sizeBytes) {
    this.sizeBytes = sizeBytes;
    this.bits = new BitSet(RegionMap.count(sizeBytes));
  }

  /** Marks every region that {@code length} bytes at {@code offset} touch. */
  public synchronized void mark(long offset, long length) {
    if (offset < 0 || length < 0 || offset + length > sizeBytes) {
      throw new IllegalArgumentException(length + " bytes at " + offset + " are beyond a LUN of "
          + sizeBytes + " bytes");
    }
    if (length == 0) {
      return;
    }
    int first = (int) (offset / Frame.REGION_BYTES);
    int last = (int) ((offset + length - 1) / Frame.REGION_BYTES);
    bits.set(first, last + 1);
  }

  public synchronized void markRegion(int region) {
    bits.set(region);
  }

  public synchronized boolean marked(int region) {
    return bits.get(region);
  }

  /** The marked regions, ascending. */
  public synchronized List<Integer> regions() {
    return bits.stream().boxed().toList();
  }

  /** Bytes of the marked regions (the last region may be shorter). */
  public synchronized long markedBytes() {
    return bits.stream().mapToLong(r -> RegionMap.length(sizeBytes, r)).sum();
  }

  public synchronized long sizeBytes() {
    return sizeBytes;
  }

  /** Covers a LUN that grew to {@code sizeBytes}; the new regions start unmarked. */
  public synchronized void grow(long sizeBytes) {
    this.sizeBytes = Math.max(this.sizeBytes, sizeBytes);
  }
}
