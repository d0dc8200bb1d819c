package org.iscsicsi.controller.service;

import java.util.List;

/**
 * A step of an engine's drain that people should see (events on its IscsiEngine,
 * docs/pools.md section 7). Each is announced once: {@link Started} when the engine begins to
 * drain (for this controller: a new leader announces a drain in progress again),
 * {@link Blocked} when the set of attached volumes changes, {@link Drained} when the engine
 * holds nothing, {@link Stopped} when it is no longer draining.
 */
public sealed interface DrainEvent {

  /** Reasons of the Events, as {@code kubectl describe} lists them. */
  String STARTED = "DrainStarted";
  String MOVED = "VolumeMoved";
  String MOVE_FAILED = "VolumeMoveFailed";
  String BLOCKED = "DrainBlocked";
  String DRAINED = "Drained";

  String engine();

  record Started(String engine, int volumes, boolean removal) implements DrainEvent {
  }

  record Moved(String engine, String volumeId, String destination, long bytes)
      implements DrainEvent {
  }

  record MoveFailed(String engine, String volumeId, String reason) implements DrainEvent {
  }

  record Blocked(String engine, List<String> attached) implements DrainEvent {
    public Blocked {
      attached = List.copyOf(attached);
    }
  }

  record Drained(String engine, int moved) implements DrainEvent {
  }

  record Stopped(String engine) implements DrainEvent {
  }
}
