package org.iscsicsi.target.admin;

import java.util.Map;
import java.util.TreeMap;
import org.iscsicsi.target.registry.RegistryException;
import org.iscsicsi.target.scsi.AccessState;
import org.iscsicsi.target.v1.AluaState;

/** Translation between target.v1's AluaState and the engine's {@link AccessState}. */
public final class AluaMessages {

  private AluaMessages() {
  }

  /** The states a request names; INVALID_ARGUMENT for an unspecified or unknown state. */
  static Map<Integer, AccessState> states(Map<Integer, AluaState> states) {
    Map<Integer, AccessState> m = new TreeMap<>();
    for (Map.Entry<Integer, AluaState> e : states.entrySet()) {
      m.put(e.getKey(), state(e.getKey(), e.getValue()));
    }
    return m;
  }

  static AccessState state(int slot, AluaState s) {
    return switch (s) {
      case ALUA_ACTIVE_OPTIMIZED -> AccessState.ACTIVE_OPTIMIZED;
      case ALUA_ACTIVE_NON_OPTIMIZED -> AccessState.ACTIVE_NON_OPTIMIZED;
      case ALUA_STANDBY -> AccessState.STANDBY;
      case ALUA_UNAVAILABLE -> AccessState.UNAVAILABLE;
      case ALUA_TRANSITIONING -> AccessState.TRANSITIONING;
      case ALUA_STATE_UNSPECIFIED, UNRECOGNIZED ->
          throw RegistryException.invalid("slot " + slot + " has no ALUA state");
    };
  }

  /** The message form of an engine state (the CLI sends these). */
  public static AluaState toProto(AccessState s) {
    return switch (s) {
      case ACTIVE_OPTIMIZED -> AluaState.ALUA_ACTIVE_OPTIMIZED;
      case ACTIVE_NON_OPTIMIZED -> AluaState.ALUA_ACTIVE_NON_OPTIMIZED;
      case STANDBY -> AluaState.ALUA_STANDBY;
      case UNAVAILABLE -> AluaState.ALUA_UNAVAILABLE;
      case TRANSITIONING -> AluaState.ALUA_TRANSITIONING;
    };
  }

  static Map<Integer, AluaState> toProto(Map<Integer, AccessState> states) {
    Map<Integer, AluaState> m = new TreeMap<>();
    states.forEach((k, v) -> m.put(k, toProto(v)));
    return m;
  }

  /** An engine state from its message form, for clients; IllegalArgumentException if none. */
  public static AccessState fromProto(AluaState s) {
    try {
      return state(0, s);
    } catch (RegistryException e) {
      throw new IllegalArgumentException("no ALUA state: " + s, e);
    }
  }
}
