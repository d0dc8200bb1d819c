package org.iscsicsi.node.iscsi;

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

  /** Parses {@code host}, {@code host:port}, {@code [v6]} or {@code [v6]:port}. */
  public static Portal parse(String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException("portal is empty");
    }
    String s = text.strip();
    String host;
    String port = null;
    if (s.startsWith("[")) {
      int close = s.indexOf(']');
      if (close < 0) {
        throw new IllegalArgumentException("portal has an unclosed '[': '" + s + "'");
      }
      host = s.substring(0, close + 1);
      if (close + 1 < s.length()) {
        if (s.charAt(close + 1) != ':') {
          throw new IllegalArgumentException("invalid portal: '" + s + "'");
        }
        port = s.substring(close + 2);
      }
    } else {
      int colon = s.lastIndexOf(':');
      if (colon >= 0 && s.indexOf(':') != colon) {
        throw new IllegalArgumentException("IPv6 portal must be bracketed: '" + s + "'");
      }
      host = colon < 0 ? s : s.substring(0, colon);
      port = colon < 0 ? null : s.substring(colon + 1);
    }
    int p = DEFAULT_PORT;
    if (port != null) {
      try {
        p = Integer.parseInt(port);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("invalid portal port in '" + s + "'");
      }
    }
    return new Portal(host, p);
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
