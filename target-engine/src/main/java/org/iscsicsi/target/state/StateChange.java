package org.iscsicsi.target.state;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import java.util.Map;

/**
 * One change to the engine's state, as the journal records it. Every change sets or removes one
 * whole record under its key, so replaying a change onto a state that already holds it is
 * harmless: that is what lets a crash between writing a snapshot and emptying the journal go
 * unnoticed.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "op")
@JsonSubTypes({
    @JsonSubTypes.Type(value = StateChange.PutTarget.class, name = "putTarget"),
    @JsonSubTypes.Type(value = StateChange.RemoveTarget.class, name = "removeTarget"),
    @JsonSubTypes.Type(value = StateChange.PutSnapshot.class, name = "putSnapshot"),
    @JsonSubTypes.Type(value = StateChange.RemoveSnapshot.class, name = "removeSnapshot")})
public sealed interface StateChange {

  /** Applies this change to the maps of targets (by name) and snapshots (by id). */
  void applyTo(Map<String, TargetRecord> targets, Map<String, SnapshotRecord> snapshots);

  /** Adds or replaces a target (with its LUNs, grants and CHAP). */
  record PutTarget(TargetRecord target) implements StateChange {
    @Override
    public void applyTo(Map<String, TargetRecord> targets,
        Map<String, SnapshotRecord> snapshots) {
      targets.put(target.name(), target);
    }
  }

  /** Forgets a target. */
  record RemoveTarget(String name) implements StateChange {
    @Override
    public void applyTo(Map<String, TargetRecord> targets,
        Map<String, SnapshotRecord> snapshots) {
      targets.remove(name);
    }
  }

  /** Adds or replaces a snapshot. */
  record PutSnapshot(SnapshotRecord snapshot) implements StateChange {
    @Override
    public void applyTo(Map<String, TargetRecord> targets,
        Map<String, SnapshotRecord> snapshots) {
      snapshots.put(snapshot.id(), snapshot);
    }
  }

  /** Forgets a snapshot. */
  record RemoveSnapshot(String id) implements StateChange {
    @Override
    public void applyTo(Map<String, TargetRecord> targets,
        Map<String, SnapshotRecord> snapshots) {
      snapshots.remove(id);
    }
  }
}
