package org.iscsicsi.target.state;

import java.util.List;

/**
 * Everything an engine must remember across restarts: its targets (with LUNs, grants, CHAP) and
 * snapshots. Written as one versioned JSON document by {@link StateStore}.
 */
public record EngineState(int formatVersion, List<TargetRecord> targets,
    List<SnapshotRecord> snapshots) {

  /** The format this engine writes and the only one it reads. */
  public static final int FORMAT_VERSION = 1;

  public EngineState {
    targets = targets == null ? List.of() : List.copyOf(targets);
    snapshots = snapshots == null ? List.of() : List.copyOf(snapshots);
  }

  public static EngineState empty() {
    return new EngineState(FORMAT_VERSION, List.of(), List.of());
  }
}
