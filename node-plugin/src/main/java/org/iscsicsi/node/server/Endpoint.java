package org.iscsicsi.node.server;

import java.nio.file.Path;

/**
 * Where the CSI gRPC server listens: {@code unix:///abs/path.sock} (what kubelet and the sidecars
 * use) or {@code tcp://host:port} (tests, csi-sanity from another machine).
 */
public sealed interface Endpoint {

  /** A unix domain socket. */
  record Unix(Path path) implements Endpoint {}

  /** A TCP address; port 0 picks a free port. */
  record Tcp(String host, int port) implements Endpoint {}

  static Endpoint parse(String s) {
    if (s.startsWith("unix://")) {
      String p = s.substring("unix://".length());
      if (!p.startsWith("/")) {
        throw new IllegalArgumentException("unix endpoint needs an absolute path:"
            + " unix:///path/csi.sock, not '" + s + "'");
      }
      return new Unix(Path.of(p));
    }
    if (s.startsWith("tcp://")) {
      String hp = s.substring("tcp://".length());
      int colon = hp.lastIndexOf(':');
      if (colon <= 0) {
        throw new IllegalArgumentException("tcp endpoint needs host:port, not '" + s + "'");
      }
      String host = hp.substring(0, colon);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      try {
        int port = Integer.parseInt(hp.substring(colon + 1));
        if (port < 0 || port > 65535) {
          throw new NumberFormatException();
        }
        return new Tcp(host, port);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("invalid port in endpoint '" + s + "'");
      }
    }
    throw new IllegalArgumentException("endpoint must be unix:///path or tcp://host:port, not '"
        + s + "'");
  }
}
