package org.iscsicsi.target.state;

import java.util.List;

/**
 * Everything an engine must remember across restarts: its targets (with LUNs, grants, CHAP) and
 * snapshots. Kept by {@link StateStore} as a snapshot and a journal of changes.
 */
public record EngineState(int formatVersion, List<TargetRecord> targets,
    List<SnapshotRecord> snapshots) {

  /** The format this engine writes (a snapshot followed by a journal; see StateStore). */
  public static final int FORMAT_VERSION = 2;

  public EngineState {
    targets = targets == null ? List.of() : List.copyOf(targets);
    snapshots = snapshots == null ? List.of() : List.copyOf(snapshots);
  }

  public static EngineState empty() {
    return new EngineState(FORMAT_VERSION, List.of(), List.of());
  }
}
