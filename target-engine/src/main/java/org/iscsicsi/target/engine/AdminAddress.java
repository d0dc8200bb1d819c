package org.iscsicsi.target.engine;

import java.nio.file.Path;
import org.iscsicsi.csi.Endpoint;
import org.iscsicsi.csi.HostPort;

/**
 * Where the admin gRPC API listens (or where a client finds it): nowhere, a unix socket, or a TCP
 * address. Parsed from {@code none}, {@code unix:/path} or {@code unix:///path} (as a CSI
 * endpoint: {@link Endpoint#unixPath}), and {@code host:port} (or {@code tcp://host:port},
 * {@code [::1]:port}).
 */
public sealed interface AdminAddress {

  /**
   * The default of {@code serve} and of the client commands: a unix socket, mode 0600, in a
   * directory of mode 0700 the engine creates (like tgtd's /var/run/tgtd).
   */
  String DEFAULT = "unix:/run/target-engine/admin.sock";

  /** The admin API is only reachable in-process. */
  record None() implements AdminAddress {
    @Override
    public String toString() {
      return "none";
    }
  }

  /** A unix domain socket. */
  record Unix(Path path) implements AdminAddress {
    @Override
    public String toString() {
      return "unix:" + path;
    }
  }

  /** A TCP address; port 0 picks a free port. */
  record Tcp(String host, int port) implements AdminAddress {
    @Override
    public String toString() {
      return new HostPort(host, port).toString();
    }
  }

  static AdminAddress parse(String s) {
    if (s == null || s.isBlank()) {
      throw new IllegalArgumentException("admin address is empty");
    }
    if (s.equals("none")) {
      return new None();
    }
    if (s.regionMatches(true, 0, Endpoint.UNIX, 0, Endpoint.UNIX.length())) {
      return new Unix(Endpoint.unixPath(s)); // the forms CSI endpoints take
    }
    String hp = s.startsWith("tcp://") ? s.substring("tcp://".length()) : s;
    HostPort h = HostPort.parse(hp, -1);
    return new Tcp(h.host(), h.port());
  }
}
