package org.iscsicsi.target.replication;

import java.util.ArrayDeque;
import java.util.List;

/**
 * The ranges of the latest writes and unmaps a member applied from its primary's stream, the
 * newest {@link #MAX_ENTRIES} and at most {@link ReplicaLink#WINDOW_BYTES} of writes (the window
 * bounds what a primary can have unacknowledged on any member). No commit point is kept yet, so
 * every one of them counts as possibly uncommitted: a member promoted to primary copies its own
 * bytes of these ranges to the other in-sync members before it serves (docs/replication.md
 * section 8, step 5), so what it applied from the old primary ends the same on all of them.
 */
final class RecentWrites {

  static final int MAX_ENTRIES = 4096;

  /** One applied range; {@code unmap} when it was an UNMAP. */
  record Range(long offset, long length, boolean unmap) {
  }

  private final ArrayDeque<Range> ranges = new ArrayDeque<>();
  private long writeBytes;

  synchronized void add(long offset, long length, boolean unmap) {
    ranges.addLast(new Range(offset, length, unmap));
    if (!unmap) {
      writeBytes += length;
    }
    while (ranges.size() > MAX_ENTRIES || writeBytes > ReplicaLink.WINDOW_BYTES) {
      Range r = ranges.removeFirst();
      if (!r.unmap()) {
        writeBytes -= r.length();
      }
    }
  }

  /** The ranges kept, oldest first. */
  synchronized List<Range> snapshot() {
    return List.copyOf(ranges);
  }
}
