package org.iscsicsi.node.iscsi;

import org.iscsicsi.csi.HostPort;
import org.iscsicsi.csi.exec.Args;

/**
 * An iSCSI portal: host (name, IPv4 or bracketed IPv6) and TCP port, in open-iscsi's
 * {@code host:port} spelling (RFC 7143 section 13.9, TargetAddress).
 */
public record Portal(String host, int port) {

  public static final int DEFAULT_PORT = 3260;

  public Portal {
    Args.host("portal host", host);
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("portal port out of range: " + port);
    }
  }

  /**
   * Parses {@code host}, {@code host:port}, {@code [v6]} or {@code [v6]:port} with the one
   * host:port parser ({@link HostPort}), keeping an IPv6 host in brackets as open-iscsi writes it.
   */
  public static Portal parse(String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException("portal is empty");
    }
    HostPort hp;
    try {
      hp = HostPort.parse(text.strip(), DEFAULT_PORT);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("invalid portal: " + e.getMessage(), e);
    }
    return ofBareHost(hp.host(), hp.port());
  }

  /** A portal from a host as sysfs and HostPort spell it: an IPv6 address without brackets. */
  public static Portal ofBareHost(String host, int port) {
    return new Portal(host.contains(":") ? "[" + host + "]" : host, port);
  }

  /** The host without IPv6 brackets, as sysfs and /dev/disk/by-path spell it. */
  public String bareHost() {
    return host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
  }

  @Override
  public String toString() {
    return host + ":" + port;
  }
}
