package org.iscsicsi.controller.engine;

import java.time.Instant;
import java.util.Objects;

/**
 * An engine's state, since when, and why (the last error or the operator's spec), as the
 * controller reports it in volume conditions and events.
 */
public record EngineStatus(EngineState state, Instant since, String message) {

  /** The status of static and embedded engines. */
  public static final EngineStatus READY = new EngineStatus(EngineState.READY, Instant.EPOCH, "");

  public EngineStatus {
    Objects.requireNonNull(state, "state");
    Objects.requireNonNull(since, "since");
    Objects.requireNonNull(message, "message");
  }
}
