package org.iscsicsi.target.session;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.iscsicsi.target.login.LoginPolicy;

/**
 * Per-connection settings the server hands every connection.
 *
 * @param loginDefaults the engine's login key values (RFC 7143 section 13 names)
 * @param advertisedPortals "host:port" portals reported by SendTargets; empty to report the
 *     address the initiator connected to
 * @param loginTimeout a connection still in login after this long is closed
 * @param nopInterval after this long without a PDU from the initiator, the target sends a NOP-In
 *     ping; without an answer within another interval the connection is closed (a timeout).
 *     Zero disables pings
 * @param commandWindow how many commands the initiator may queue (MaxCmdSN - ExpCmdSN + 1)
 * @param loginPolicy CHAP digests and challenges accepted, and whether discovery needs CHAP
 * @param limits what one connection may hold in the full feature phase
 * @param engineBudget what all connections of the engine may buffer together (one instance
 *     shared by every connection of a server)
 */
public record ConnectionConfig(Map<String, String> loginDefaults, List<String> advertisedPortals,
    Duration loginTimeout, Duration nopInterval, int commandWindow, LoginPolicy loginPolicy,
    DataPathLimits limits, SharedByteBudget engineBudget) {

  public ConnectionConfig {
    java.util.Objects.requireNonNull(loginPolicy, "loginPolicy");
    java.util.Objects.requireNonNull(limits, "limits");
    java.util.Objects.requireNonNull(engineBudget, "engineBudget");
    loginDefaults = Map.copyOf(loginDefaults);
    advertisedPortals = List.copyOf(advertisedPortals);
    if (commandWindow < 1 || commandWindow > 65536) {
      throw new IllegalArgumentException("commandWindow out of range: " + commandWindow);
    }
    if (limits.maxTasks() < commandWindow) {
      throw new IllegalArgumentException("maxTasks " + limits.maxTasks()
          + " is below the command window " + commandWindow);
    }
  }

  /**
   * With the default {@link DataPathLimits} and an engine budget sized by {@link
   * SharedByteBudget#forThisJvm}.
   */
  public ConnectionConfig(Map<String, String> loginDefaults, List<String> advertisedPortals,
      Duration loginTimeout, Duration nopInterval, int commandWindow, LoginPolicy loginPolicy) {
    this(loginDefaults, advertisedPortals, loginTimeout, nopInterval, commandWindow, loginPolicy,
        DataPathLimits.DEFAULTS, SharedByteBudget.forThisJvm());
  }
}
