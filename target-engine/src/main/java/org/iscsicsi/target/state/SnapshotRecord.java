package org.iscsicsi.target.state;

import java.util.Collections;
import java.util.TreeMap;

/** The persisted definition of one snapshot: a frozen copy of a LUN's file. */
public record SnapshotRecord(String id, String sourceTarget, int sourceLun, long sizeBytes,
    int blockSize, long createdUnixNanos, String file, java.util.Map<String, String> labels) {

  public SnapshotRecord {
    labels = labels == null ? Collections.emptySortedMap()
        : Collections.unmodifiableSortedMap(new TreeMap<>(labels));
  }
}
