package org.iscsicsi.target.engine;

import java.nio.file.Path;
import org.iscsicsi.csi.Endpoint;
import org.iscsicsi.csi.HostPort;

/**
 * Where the admin gRPC API listens (or where a client finds it): nowhere, or a gRPC
 * {@link Endpoint} (a unix socket or a TCP address), the address type the CSI endpoints use too.
 * Parsed from {@code none}, {@code unix:/path} or {@code unix:///path} ({@link Endpoint#unixPath}),
 * and {@code host:port} (or {@code tcp://host:port}, {@code [::1]:port}; {@link HostPort}).
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

  /** The admin API at a unix socket or a TCP address (port 0 picks a free port). */
  record At(Endpoint endpoint) implements AdminAddress {
    @Override
    public String toString() {
      return switch (endpoint) {
        case Endpoint.Unix u -> Endpoint.UNIX + u.path();
        case Endpoint.Tcp t -> new HostPort(t.host(), t.port()).toString();
      };
    }
  }

  /** A unix socket. */
  static AdminAddress unix(Path socket) {
    return new At(new Endpoint.Unix(socket));
  }

  /** A TCP address. */
  static AdminAddress tcp(String host, int port) {
    return new At(new Endpoint.Tcp(host, port));
  }

  static AdminAddress parse(String s) {
    if (s == null || s.isBlank()) {
      throw new IllegalArgumentException("admin address is empty");
    }
    if (s.equals("none")) {
      return new None();
    }
    if (s.regionMatches(true, 0, Endpoint.UNIX, 0, Endpoint.UNIX.length())) {
      return unix(Endpoint.unixPath(s)); // the forms CSI endpoints take
    }
    String hp = s.startsWith("tcp://") ? s.substring("tcp://".length()) : s;
    HostPort h = HostPort.parse(hp, -1);
    return tcp(h.host(), h.port());
  }
}
