package org.iscsicsi.target.server;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.iscsicsi.target.login.LoginPolicy;

/**
 * How the iSCSI portal listens and what it advertises.
 *
 * @param bindHost address to bind ("0.0.0.0" for every IPv4 address)
 * @param port TCP port (3260 is the IANA iSCSI port; 0 picks a free one, for tests)
 * @param advertisedPortals "host:port" portals reported in SendTargets, independent of the bind
 *     address (a qemu guest reaches the host as 10.0.2.2; in Kubernetes one binds 0.0.0.0 and
 *     advertises the node IP). Empty: report the address each initiator connected to
 * @param loginDefaults login keys (RFC 7143 section 13 names) overriding the built-in defaults;
 *     each target's own login parameters override these
 * @param loginTimeout a connection that has not completed login by then is closed
 * @param nopInterval idle time before the target pings an initiator with NOP-In; an initiator
 *     silent for another interval is disconnected. {@link Duration#ZERO} disables pings
 * @param commandWindow commands an initiator may have queued (MaxCmdSN - ExpCmdSN + 1)
 * @param nativeTransport use epoll when available (NIO otherwise)
 * @param loginPolicy CHAP digests and challenges accepted, whether discovery needs CHAP
 * @param admission per-source connection, discovery session and failed-login bounds
 */
public record IscsiServerConfig(String bindHost, int port, List<String> advertisedPortals,
    Map<String, String> loginDefaults, Duration loginTimeout, Duration nopInterval,
    int commandWindow, boolean nativeTransport, LoginPolicy loginPolicy,
    AdmissionLimits admission) {

  /** The IANA port for iSCSI. */
  public static final int DEFAULT_PORT = 3260;

  public IscsiServerConfig {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port out of range: " + port);
    }
    advertisedPortals = List.copyOf(advertisedPortals);
    loginDefaults = Map.copyOf(loginDefaults);
    java.util.Objects.requireNonNull(loginPolicy, "loginPolicy");
    java.util.Objects.requireNonNull(admission, "admission");
    for (String p : advertisedPortals) {
      int colon = p.lastIndexOf(':');
      if (colon <= 0 || colon == p.length() - 1 || p.contains(",")) {
        throw new IllegalArgumentException("portal must be host:port: " + p);
      }
    }
  }

  /**
   * 0.0.0.0:3260, no advertised override, 15 s login timeout, 30 s NOP interval, the default
   * {@link LoginPolicy} (discovery needs CHAP) and {@link AdmissionLimits}.
   */
  public static IscsiServerConfig defaults() {
    return new IscsiServerConfig("0.0.0.0", DEFAULT_PORT, List.of(), Map.of(),
        Duration.ofSeconds(15), Duration.ofSeconds(30), 128, true, LoginPolicy.defaults(),
        AdmissionLimits.defaults());
  }

  public IscsiServerConfig withBind(String host, int newPort) {
    return new IscsiServerConfig(host, newPort, advertisedPortals, loginDefaults, loginTimeout,
        nopInterval, commandWindow, nativeTransport, loginPolicy, admission);
  }

  public IscsiServerConfig withAdvertisedPortals(List<String> portals) {
    return new IscsiServerConfig(bindHost, port, portals, loginDefaults, loginTimeout,
        nopInterval, commandWindow, nativeTransport, loginPolicy, admission);
  }

  public IscsiServerConfig withLoginDefaults(Map<String, String> defaults) {
    return new IscsiServerConfig(bindHost, port, advertisedPortals, defaults, loginTimeout,
        nopInterval, commandWindow, nativeTransport, loginPolicy, admission);
  }

  public IscsiServerConfig withTimeouts(Duration login, Duration nop) {
    return new IscsiServerConfig(bindHost, port, advertisedPortals, loginDefaults, login, nop,
        commandWindow, nativeTransport, loginPolicy, admission);
  }

  public IscsiServerConfig withNativeTransport(boolean enabled) {
    return new IscsiServerConfig(bindHost, port, advertisedPortals, loginDefaults, loginTimeout,
        nopInterval, commandWindow, enabled, loginPolicy, admission);
  }

  public IscsiServerConfig withLoginPolicy(LoginPolicy policy) {
    return new IscsiServerConfig(bindHost, port, advertisedPortals, loginDefaults, loginTimeout,
        nopInterval, commandWindow, nativeTransport, policy, admission);
  }

  public IscsiServerConfig withAdmission(AdmissionLimits limits) {
    return new IscsiServerConfig(bindHost, port, advertisedPortals, loginDefaults, loginTimeout,
        nopInterval, commandWindow, nativeTransport, loginPolicy, limits);
  }
}
