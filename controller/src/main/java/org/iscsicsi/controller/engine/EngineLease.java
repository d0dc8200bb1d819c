package org.iscsicsi.controller.engine;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * A pool engine's liveness Lease ({@code iscsi-engine-<name>}) as the controller last saw it.
 *
 * @param incarnation the part of {@code holderIdentity} after {@code <name>/}
 * @param renewTime {@code spec.renewTime}, on the engine's clock
 * @param duration {@code spec.leaseDurationSeconds}
 */
public record EngineLease(String incarnation, Instant renewTime, Duration duration) {

  /** The duration the engines write, used when a Lease carries none. */
  public static final Duration DEFAULT_DURATION = Duration.ofSeconds(6);

  public EngineLease {
    Objects.requireNonNull(incarnation, "incarnation");
    Objects.requireNonNull(renewTime, "renewTime");
    Objects.requireNonNull(duration, "duration");
  }
}
