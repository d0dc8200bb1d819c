package org.iscsicsi.csi;

/** A "host:port" pair ({@code [v6]:port} for IPv6), as used for portals and admin addresses. */
public record HostPort(String host, int port) {

  public HostPort {
    if (host == null || host.isEmpty()) {
      throw new IllegalArgumentException("host is empty");
    }
    if (port < 0 || port > 65_535) {
      throw new IllegalArgumentException("port " + port + " is outside 0..65535");
    }
  }

  /**
   * Parses {@code host:port}, {@code [v6]:port}, or a bare host when {@code defaultPort} is not
   * negative.
   */
  public static HostPort parse(String s, int defaultPort) {
    String host;
    String port = null;
    if (s.startsWith("[")) {
      int end = s.indexOf(']');
      if (end < 0) {
        throw new IllegalArgumentException("'" + s + "': missing ']'");
      }
      host = s.substring(1, end);
      String rest = s.substring(end + 1);
      if (rest.startsWith(":")) {
        port = rest.substring(1);
      } else if (!rest.isEmpty()) {
        throw new IllegalArgumentException("'" + s + "' is not [host]:port");
      }
    } else {
      int colon = s.lastIndexOf(':');
      if (colon >= 0 && s.indexOf(':') != colon) {
        throw new IllegalArgumentException("'" + s + "': write IPv6 addresses as [addr]:port");
      }
      host = colon < 0 ? s : s.substring(0, colon);
      port = colon < 0 ? null : s.substring(colon + 1);
    }
    int p;
    if (port == null) {
      if (defaultPort < 0) {
        throw new IllegalArgumentException("'" + s + "' has no port (host:port)");
      }
      p = defaultPort;
    } else {
      try {
        p = Integer.parseInt(port);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("'" + s + "': port '" + port + "' is not a number");
      }
    }
    if (host.isEmpty()) {
      throw new IllegalArgumentException("'" + s + "' has no host");
    }
    return new HostPort(host, p);
  }

  /**
   * Whether the host names only this machine: a loopback address, or a name all of whose
   * addresses are loopback. A wildcard (0.0.0.0, ::) or a name that does not resolve is not.
   */
  public boolean isLoopback() {
    try {
      java.net.InetAddress[] all = java.net.InetAddress.getAllByName(host);
      return java.util.Arrays.stream(all).allMatch(java.net.InetAddress::isLoopbackAddress);
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }

  @Override
  public String toString() {
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }
}
